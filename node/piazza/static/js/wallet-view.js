// The wallet: built in the browser, its keys never leave it (docs/piazza.md, "The wallet").
import { h, mount } from "./dom.js";
import { translator } from "./i18n.js";

const t = translator({
  it: { title: "Il tuo borsellino", none: "Su questo dispositivo non c'è ancora un borsellino." },
  en: { title: "Your wallet", none: "There is no wallet on this device yet." },
});

export async function render(main) {
  mount(main, h("h1", {}, t("title")), h("p", { class: "card" }, t("none")));
}
