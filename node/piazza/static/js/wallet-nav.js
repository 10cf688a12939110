// What every wallet page shows above its own content: which key is in use, whether it is unlocked
// (with a button to lock it), and the wallet's sections.
import { h, announce } from "./dom.js";
import { translator } from "./i18n.js";
import { isUnlocked, lock } from "./session.js";

const t = translator({
  it: { sections: "Borsellino", home: "Saldo", pay: "Paga", send: "Invia", receive: "Ricevi", history: "Movimenti",
        keys: "Chiavi", using: "Borsellino «{label}»", unlocked: "sbloccato", lock: "Blocca", locked: "Borsellino bloccato." },
  en: { sections: "Wallet", home: "Balance", pay: "Pay", send: "Send", receive: "Receive", history: "History",
        keys: "Keys", using: "Wallet “{label}”", unlocked: "unlocked", lock: "Lock", locked: "Wallet locked." },
});

const SECTIONS = [["", "home"], ["pay", "pay"], ["send", "send"], ["receive", "receive"], ["history", "history"], ["keys", "keys"]];

/** The header of a wallet page for `account` ({label, address}); `current` is the section shown. */
export function walletHeader(account, current) {
  const header = h("div", { class: "wallet-head" });
  if (account) {
    const status = h("p", { class: "row muted wallet-who" }, h("span", {}, t("using", { label: account.label })));
    if (isUnlocked(account.address)) {
      const button = h("button", { type: "button", class: "secondary small", onclick: () => {
        lock();
        status.replaceChildren(h("span", {}, t("using", { label: account.label })));
        announce(t("locked"));
      } }, t("lock"));
      status.append(h("span", { class: "badge good" }, t("unlocked")), button);
    }
    header.append(status);
  }
  header.append(h("nav", { "aria-label": t("sections"), class: "tabs" },
    h("ul", {}, SECTIONS.map(([part, key]) => h("li", {},
      h("a", { href: part ? `#/wallet/${part}` : "#/wallet", "aria-current": part === current ? "page" : null }, t(key)))))));
  return header;
}
