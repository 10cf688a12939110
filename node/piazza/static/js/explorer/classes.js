// The credit classes: what each is, how much is in circulation, whether it is still valid (#/classes).
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { formatDate, translator } from "../i18n.js";
import { amount, classLink, empty, table } from "./common.js";
import { t as rule, word } from "./class-words.js";

const t = translator({
  it: { title: "Classi di crediti", list: "Classi di crediti", "class": "Classe", kind: "Tipo", supply: "In circolazione", validity: "Validità", none: "Nessuna classe di crediti." },
  en: { title: "Credit classes", list: "Credit classes", "class": "Class", kind: "Kind", supply: "In circulation", validity: "Validity", none: "No credit class." },
});

export async function render(main) {
  const { classes } = await get("/v1/classes");
  const known = new Map(classes.map((c) => [c.id, c]));
  mount(main,
    h("h1", {}, t("title")),
    classes.length === 0 ? empty(t("none")) : table(t("list"), [t("class"), t("kind"), t("supply"), t("validity")],
      classes.map((c) => [
        h("span", {}, classLink(c.id, c.name), h("br"), h("span", { class: "mono muted" }, c.id)),
        word("kinds", c.kind),
        amount(c.supply, c.id, known),
        c.expired ? h("span", { class: "badge bad" }, rule("expired"))
          : c.valid_until_ms === null ? rule("forever") : rule("until", { date: formatDate(c.valid_until_ms) }),
      ]), { id: "classes" }));
}
