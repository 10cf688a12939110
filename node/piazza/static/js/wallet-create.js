// Creating a wallet in this browser: a name, and a passphrase typed twice that encrypts the new key
// here (js/keyring.js). The page says plainly that the passphrase cannot be recovered and that the key
// never leaves the device.
import { h, mount, announce } from "./dom.js";
import { translator } from "./i18n.js";
import { createKey } from "./keyring.js";
import { setActive } from "./session.js";
import { go } from "./shell.js";
import { newSecret, formError } from "./wallet-secret.js";

const MAX_LABEL = 40;

const t = translator({
  it: { title: "Crea un borsellino", label: "Nome del borsellino", "label-help": "Solo per te, per riconoscerlo: per esempio «personale».",
        passphrase: "Frase segreta",
        warning: "La frase segreta protegge la chiave del borsellino su questo dispositivo. Nessuno può recuperarla: se la dimentichi, perdi l'accesso ai crediti. Scrivila su carta e tienila al sicuro.",
        device: "La chiave viene creata e resta su questo dispositivo: non viene mai inviata al nodo. Per averne una copia, esporta il file di chiave dalla pagina «Chiavi».",
        create: "Crea il borsellino", working: "Un momento: la chiave viene creata e cifrata…", cancel: "Annulla",
        "no-label": "Dai un nome al borsellino.", created: "Borsellino «{label}» creato." },
  en: { title: "Create a wallet", label: "Wallet name", "label-help": "Just for you, to recognise it: “personal”, for example.",
        passphrase: "Passphrase",
        warning: "The passphrase protects the wallet's key on this device. Nobody can recover it: if you forget it, you lose access to the credits. Write it on paper and keep it safe.",
        device: "The key is made on this device and stays here: it is never sent to the node. For a copy, export the key file from the “Keys” page.",
        create: "Create the wallet", working: "One moment: the key is being made and encrypted…", cancel: "Cancel",
        "no-label": "Give the wallet a name.", created: "Wallet “{label}” created." },
});

export async function render(main) {
  const label = h("input", { id: "wallet-label", type: "text", autocomplete: "off", required: true, maxlength: MAX_LABEL,
                             "aria-describedby": "wallet-label-help" });
  const secret = newSecret("wallet-passphrase", t("passphrase"));
  const error = formError();
  const submit = h("button", { type: "submit" }, t("create"));
  const busy = h("p", { class: "muted", role: "status" });
  const form = h("form", { class: "card", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.hide();
    const name = label.value.trim();
    if (!name) return error.show(t("no-label"));
    const wrong = secret.check();
    if (wrong) return error.show(wrong);
    submit.disabled = true;
    busy.textContent = t("working");
    try {
      const address = await createKey(name, secret.value());
      secret.clear();
      setActive(address);
      announce(t("created", { label: name }));
      go("#/wallet");
    } catch (err) {
      error.show(err.message);
    } finally {
      submit.disabled = false;
      busy.textContent = "";
    }
  } },
  h("label", { for: label.id }, t("label")), label,
  h("p", { class: "field-help", id: "wallet-label-help" }, t("label-help")),
  secret.fields,
  h("p", { class: "notice warn" }, t("warning")),
  h("p", { class: "notice info" }, t("device")),
  error.el, busy,
  h("div", { class: "row" }, submit, h("a", { class: "button secondary", href: "#/wallet" }, t("cancel"))));
  mount(main, h("h1", {}, t("title")), form);
  label.focus();
}
