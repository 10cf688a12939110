// The keys this browser holds: which one is in use, switching between them, exporting one as the CLI's
// key file (FORMAT.md §22.1, downloaded through a Blob link, made here), removing one, locking.
import { h, mount, announce } from "./dom.js";
import { translator } from "./i18n.js";
import { listKeys, exportKeyFile, removeKey, WrongPassphrase } from "./keyring.js";
import { activeAccount, setActive, lock } from "./session.js";
import { go } from "./shell.js";
import { walletHeader } from "./wallet-nav.js";
import { newSecret, formError } from "./wallet-secret.js";

const t = translator({
  it: { title: "Le tue chiavi", intro: "Ogni chiave è un borsellino con il suo indirizzo. Sono tutte cifrate su questo dispositivo.",
        active: "in uso", use: "Usa questo borsellino", used: "Ora usi «{label}».",
        export: "Esporta il file di chiave", "export-help": "Il file è lo stesso del programma incoop: per usarlo lì, copialo nella cartella del borsellino (per esempio ~/.incoop/wallet). È cifrato con la password che scegli qui.",
        passphrase: "Frase segreta di questo borsellino", "file-password": "Password del file",
        make: "Prepara il file", working: "Un momento: il file viene cifrato…", download: "Scarica {name}",
        ready: "Il file è pronto: scaricalo e conservalo in un posto sicuro.",
        "wrong-passphrase": "Frase segreta sbagliata.",
        remove: "Rimuovi da questo dispositivo", "remove-warn": "Senza il file di chiave o un'altra copia, i crediti di «{label}» non saranno più raggiungibili. Hai esportato il file di chiave?",
        "remove-yes": "Sì, rimuovi «{label}»", "remove-no": "No, tienilo", removed: "«{label}» rimosso da questo dispositivo.",
        more: "Un altro borsellino", create: "Crea un borsellino", import: "Importa un file di chiave",
        lock: "Blocca adesso", "lock-help": "Dopo un pagamento il borsellino resta sbloccato per 10 minuti; bloccalo se presti il telefono.",
        locked: "Borsellino bloccato." },
  en: { title: "Your keys", intro: "Each key is a wallet with its own address. All of them are encrypted on this device.",
        active: "in use", use: "Use this wallet", used: "You now use “{label}”.",
        export: "Export the key file", "export-help": "The file is the incoop program's: to use it there, copy it into its wallet folder (~/.incoop/wallet for example). It is encrypted with the password you choose here.",
        passphrase: "This wallet's passphrase", "file-password": "File password",
        make: "Prepare the file", working: "One moment: the file is being encrypted…", download: "Download {name}",
        ready: "The file is ready: download it and keep it somewhere safe.",
        "wrong-passphrase": "Wrong passphrase.",
        remove: "Remove from this device", "remove-warn": "Without the key file or another copy, the credits of “{label}” can no longer be reached. Did you export the key file?",
        "remove-yes": "Yes, remove “{label}”", "remove-no": "No, keep it", removed: "“{label}” removed from this device.",
        more: "Another wallet", create: "Create a wallet", import: "Import a key file",
        lock: "Lock now", "lock-help": "After a payment the wallet stays unlocked for 10 minutes; lock it if you lend the phone.",
        locked: "Wallet locked." },
});

/** A file name the CLI's wallet accepts for a key label (keys/keystore.py LABEL). */
function fileName(label) {
  const base = label.normalize("NFKD").replace(/[^A-Za-z0-9_.-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 64);
  return `${base || "borsellino"}.json`;
}

export async function render(main) {
  const account = await activeAccount();
  const keys = await listKeys();
  const urls = [];
  mount(main, walletHeader(account, "keys"), h("h1", {}, t("title")), h("p", {}, t("intro")),
    h("ul", { class: "plain" }, keys.map((key, i) => keyItem(key, i, key.address === account?.address, urls))),
    h("div", { class: "card" },
      h("button", { type: "button", class: "secondary", onclick: () => { lock(); announce(t("locked")); go("#/wallet/keys"); } }, t("lock")),
      h("p", { class: "field-help" }, t("lock-help"))),
    h("h2", {}, t("more")),
    h("p", { class: "row" }, h("a", { class: "button secondary", href: "#/wallet/new" }, t("create")),
      h("a", { class: "button secondary", href: "#/wallet/import" }, t("import"))));
  return () => urls.forEach((url) => URL.revokeObjectURL(url));
}

function keyItem(key, i, active, urls) {
  const headingId = `key-${i}`;
  return h("li", { class: "key-item" },
    h("div", { class: "spread" },
      h("h2", { id: headingId, class: "key-label" }, key.label, " ", active ? h("span", { class: "badge good" }, t("active")) : null),
      active ? null : h("button", { type: "button", onclick: () => { setActive(key.address); announce(t("used", { label: key.label })); go("#/wallet"); } }, t("use"))),
    h("p", { class: "mono" }, key.address),
    exportForm(key, i, urls),
    removal(key, i));
}

function exportForm(key, i, urls) {
  const passphrase = h("input", { id: `export-passphrase-${i}`, type: "password", autocomplete: "current-password", required: true });
  const filePassword = newSecret(`export-file-password-${i}`, t("file-password"));
  const error = formError();
  const busy = h("p", { class: "muted", role: "status" });
  const result = h("div");
  const submit = h("button", { type: "submit" }, t("make"));
  const form = h("form", { novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.hide();
    result.replaceChildren();
    const wrong = filePassword.check();
    if (wrong) return error.show(wrong);
    submit.disabled = true;
    busy.textContent = t("working");
    try {
      const text = await exportKeyFile(key.address, passphrase.value, filePassword.value());
      passphrase.value = "";
      filePassword.clear();
      const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      urls.push(url);
      const name = fileName(key.label);
      const link = h("a", { class: "button", href: url, download: name }, t("download", { name }));
      result.replaceChildren(h("p", { class: "notice good" }, t("ready")), link);
      link.focus();
    } catch (err) {
      error.show(err instanceof WrongPassphrase ? t("wrong-passphrase") : err.message);
    } finally {
      submit.disabled = false;
      busy.textContent = "";
    }
  } },
  h("p", { class: "field-help" }, t("export-help")),
  h("label", { for: passphrase.id }, t("passphrase")), passphrase,
  filePassword.fields, error.el, busy, h("div", { class: "row" }, submit), result);
  return h("details", { class: "card" }, h("summary", {}, t("export")), form);
}

function removal(key, i) {
  const confirm = h("div", { class: "notice warn", hidden: true, id: `remove-confirm-${i}` },
    h("p", {}, t("remove-warn", { label: key.label })),
    h("div", { class: "row" },
      h("button", { type: "button", class: "danger", onclick: async () => {
        await removeKey(key.address);
        lock();
        announce(t("removed", { label: key.label }));
        go("#/wallet/keys");
      } }, t("remove-yes", { label: key.label })),
      h("button", { type: "button", class: "secondary", onclick: () => { confirm.hidden = true; ask.focus(); } }, t("remove-no"))));
  const ask = h("button", { type: "button", class: "secondary", "aria-controls": confirm.id,
                            onclick: () => { confirm.hidden = false; confirm.querySelector("button").focus(); } }, t("remove"));
  return h("div", {}, ask, confirm);
}
