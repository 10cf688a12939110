// Bringing a key made by the CLI (`incoop wallet new`: an incoop-keystore-1 file, FORMAT.md §22.1) into
// this browser: the file and its password, then a passphrase of this browser's own that encrypts it here.
import { h, mount, announce } from "./dom.js";
import { translator } from "./i18n.js";
import { importKeyFile } from "./keyring.js";
import { setActive } from "./session.js";
import { go } from "./shell.js";
import { newSecret, formError } from "./wallet-secret.js";

const MAX_FILE = 64 * 1024;
const MAX_LABEL = 40;

const t = translator({
  it: { title: "Importa un file di chiave", file: "File di chiave", "file-help": "Il file .json del programma incoop (nella cartella del borsellino, per esempio ~/.incoop/wallet).",
        password: "Password del file", "password-help": "Quella scelta quando il file è stato creato o esportato.",
        label: "Nome del borsellino", passphrase: "Nuova frase segreta per questo browser",
        warning: "La nuova frase segreta cifra la chiave su questo dispositivo. Nessuno può recuperarla: se la dimentichi, ti servirà di nuovo il file di chiave con la sua password.",
        device: "Il file viene letto qui: né il file né le password vengono inviati al nodo.",
        import: "Importa", working: "Un momento: il file viene aperto e la chiave cifrata di nuovo…", cancel: "Annulla",
        "no-file": "Scegli il file di chiave.", "too-big": "Questo file è troppo grande per essere un file di chiave.",
        "no-password": "Scrivi la password del file.",
        "no-label": "Dai un nome al borsellino.", imported: "Borsellino «{label}» importato." },
  en: { title: "Import a key file", file: "Key file", "file-help": "The incoop program's .json file (in its wallet folder, ~/.incoop/wallet for example).",
        password: "The file's password", "password-help": "The one chosen when the file was made or exported.",
        label: "Wallet name", passphrase: "New passphrase for this browser",
        warning: "The new passphrase encrypts the key on this device. Nobody can recover it: if you forget it, you will need the key file and its password again.",
        device: "The file is read here: neither the file nor the passwords are sent to the node.",
        import: "Import", working: "One moment: the file is being opened and the key encrypted again…", cancel: "Cancel",
        "no-file": "Choose the key file.", "too-big": "This file is too large to be a key file.",
        "no-password": "Type the file's password.",
        "no-label": "Give the wallet a name.", imported: "Wallet “{label}” imported." },
});

export async function render(main) {
  const file = h("input", { id: "import-file", type: "file", accept: ".json,application/json", required: true,
                            "aria-describedby": "import-file-help" });
  const password = h("input", { id: "import-password", type: "password", autocomplete: "off", required: true,
                                "aria-describedby": "import-password-help" });
  const label = h("input", { id: "import-label", type: "text", autocomplete: "off", required: true, maxlength: MAX_LABEL });
  file.addEventListener("change", () => {
    const chosen = file.files[0];
    if (chosen && !label.value) label.value = chosen.name.replace(/\.json$/i, "").slice(0, MAX_LABEL);
  });
  const secret = newSecret("import-passphrase", t("passphrase"));
  const error = formError();
  const submit = h("button", { type: "submit" }, t("import"));
  const busy = h("p", { class: "muted", role: "status" });
  const form = h("form", { class: "card", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.hide();
    const chosen = file.files[0];
    if (!chosen) return error.show(t("no-file"));
    if (chosen.size > MAX_FILE) return error.show(t("too-big"));
    if (!password.value) return error.show(t("no-password"));
    const name = label.value.trim();
    if (!name) return error.show(t("no-label"));
    const wrong = secret.check();
    if (wrong) return error.show(wrong);
    submit.disabled = true;
    busy.textContent = t("working");
    try {
      const address = await importKeyFile(await chosen.text(), password.value, name, secret.value());
      password.value = "";
      secret.clear();
      setActive(address);
      announce(t("imported", { label: name }));
      go("#/wallet");
    } catch (err) {
      error.show(err.message);  // the keyring and key file modules word their refusals for people
    } finally {
      submit.disabled = false;
      busy.textContent = "";
    }
  } },
  h("label", { for: file.id }, t("file")), file,
  h("p", { class: "field-help", id: "import-file-help" }, t("file-help")),
  h("label", { for: password.id }, t("password")), password,
  h("p", { class: "field-help", id: "import-password-help" }, t("password-help")),
  h("label", { for: label.id }, t("label")), label,
  secret.fields,
  h("p", { class: "notice warn" }, t("warning")),
  h("p", { class: "notice info" }, t("device")),
  error.el, busy,
  h("div", { class: "row" }, submit, h("a", { class: "button secondary", href: "#/wallet" }, t("cancel"))));
  mount(main, h("h1", {}, t("title")), form);
}
