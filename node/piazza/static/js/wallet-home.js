// The wallet's home: the account's address (copyable, and as a QR code to be paid), then its balances
// per credit class with the class's rules in plain words, soonest expiry first (docs/piazza.md).
import { h, mount } from "./dom.js";
import { get } from "./api.js";
import { translator, formatAmount } from "./i18n.js";
import { classInfo, expiryOrder, rulesInWords } from "./wallet-classes.js";
import { walletHeader } from "./wallet-nav.js";
import { qrCode } from "./wallet-qr.js";
import { copyButton } from "./wallet-copy.js";
import { verifyAll } from "./wallet-verify.js";

const t = translator({
  it: { title: "Il tuo borsellino", address: "Il tuo indirizzo", copy: "Copia l'indirizzo",
        "address-help": "Per ricevere crediti, fai inquadrare questo codice o manda l'indirizzo a chi paga.",
        qr: "Codice QR del tuo indirizzo", balances: "I tuoi crediti",
        empty: "Non hai ancora crediti. Per riceverne, mostra il codice QR o manda il tuo indirizzo a chi te li invia.",
        pay: "Paga", receive: "Chiedi un pagamento",
        "unknown-class": "Classe «{id}»: il nodo non la descrive.", "class-id": "classe {id}" },
  en: { title: "Your wallet", address: "Your address", copy: "Copy the address",
        "address-help": "To receive credits, have this code scanned or send the address to whoever pays.",
        qr: "QR code of your address", balances: "Your credits",
        empty: "No credits yet. To receive some, show the QR code or send your address to whoever sends them.",
        pay: "Pay", receive: "Request a payment",
        "unknown-class": "Class “{id}”: the node does not describe it.", "class-id": "class {id}" },
});

export async function render(main, route, account) {
  const [me, status] = await Promise.all([get(`/v1/accounts/${account.address}`), get("/v1/status")]);
  const held = await Promise.all(me.balances.map(async (b) => ({ amount: b.amount, id: b.class, info: await classInfo(b.class) })));
  held.sort((a, b) => expiryOrder(a.info || { name: a.id }, b.info || { name: b.id }));
  const address = h("p", { class: "mono address", id: "wallet-address" }, account.address);
  const items = held.map((b) => balanceItem(b, status.block_time_ms));
  mount(main,
    walletHeader(account, ""),
    h("h1", {}, t("title")),
    h("section", { class: "card receive-card", "aria-labelledby": "address-title" },
      h("div", {},
        h("h2", { id: "address-title" }, t("address")), address, copyButton(address, t("copy")),
        h("p", { class: "field-help" }, t("address-help"))),
      qrCode(account.address, t("qr"))),
    h("p", { class: "row actions" },
      h("a", { class: "button", href: "#/wallet/pay" }, t("pay")),
      h("a", { class: "button secondary", href: "#/wallet/receive" }, t("receive"))),
    h("h2", {}, t("balances")),
    held.length === 0 ? h("p", { class: "card" }, t("empty"))
      : h("ul", { class: "plain balances" }, items));
  // proven one by one after the page is shown; the work stops when the person moves on
  const proofs = held.map((b, i) => ({ address: account.address, classId: b.id, amount: b.amount, decimals: b.info?.decimals,
                                       slot: items[i].querySelector(".verify-slot") })).filter((b) => b.decimals !== undefined);
  verifyAll(proofs, () => main.contains(items[0])).catch((err) => console.warn(err));
}

function balanceItem({ amount, id, info }, nowMs) {
  if (!info) {
    return h("li", { class: "card balance", dataset: { class: id } },
      h("div", { class: "spread" }, h("h3", {}, t("unknown-class", { id })), h("span", { class: "amount big" }, String(amount))));
  }
  const format = (minor) => formatAmount(minor, info.decimals);
  const rules = rulesInWords(info, nowMs, format);
  return h("li", { class: "card balance", dataset: { class: id } },
    h("div", { class: "spread" },
      h("h3", {}, info.name, " ", h("span", { class: "badge" }, rules.kind)),
      h("span", { class: "amount big" }, format(amount))),
    rules.warning ? h("p", { class: `notice ${rules.warning.level}`, role: "note" }, rules.warning.text) : null,
    h("ul", { class: "rules" },
      h("li", {}, rules.where),
      rules.who ? h("li", {}, rules.who) : null,
      rules.voucher ? h("li", {}, rules.voucher) : null,
      h("li", {}, rules.when)),
    h("p", { class: "muted small verify-slot" }, t("class-id", { id })));
}
