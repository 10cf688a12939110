// The wallet's first page on a device that holds no key yet: create one, or bring the CLI's key file.
import { h, mount } from "./dom.js";
import { translator } from "./i18n.js";

const t = translator({
  it: { title: "Il tuo borsellino", none: "Su questo dispositivo non c'è ancora un borsellino.",
        what: "Il borsellino tiene i tuoi crediti: buoni welfare, crediti di virtù, crediti del gruppo d'acquisto. Con il borsellino paghi i negozi e i servizi della piazza.",
        create: "Crea un borsellino", import: "Importa un file di chiave",
        "import-help": "Hai già un borsellino creato con il programma incoop? Importa qui il suo file di chiave." },
  en: { title: "Your wallet", none: "There is no wallet on this device yet.",
        what: "The wallet holds your credits: welfare vouchers, virtue credits, purchase-group credits. With it you pay the piazza's shops and services.",
        create: "Create a wallet", import: "Import a key file",
        "import-help": "Already have a wallet made with the incoop program? Import its key file here." },
});

export async function render(main) {
  mount(main,
    h("h1", {}, t("title")),
    h("div", { class: "card" },
      h("p", {}, h("strong", {}, t("none"))),
      h("p", {}, t("what")),
      h("p", { class: "row" }, h("a", { class: "button", href: "#/wallet/new" }, t("create"))),
      h("p", { class: "field-help" }, t("import-help")),
      h("p", { class: "row" }, h("a", { class: "button secondary", href: "#/wallet/import" }, t("import")))));
}
