// An account: its balances per class (in each class's decimals), its identity, and its history a page at a
// time, newest first (#/account/ADDRESS, #/account/ADDRESS?before=CURSOR).
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import {
  amount, blockLink, classLink, classes, empty, facts, identityLink, mono, orNotFound, pager, resultBadge, showNotFound, typeName,
  table, t as common,
} from "./common.js";
import { fieldNames } from "./txbody.js";

export const PAGE = 20;

const t = translator({
  it: {
    title: "Conto", missing: "«{address}» non è un indirizzo valido: un indirizzo è «ic» e 58 lettere e cifre, con un controllo.",
    address: "Indirizzo", identity: "Identità", nonce: "Transazioni firmate", balances: "Saldi", "class": "Classe", balance: "Saldo",
    "no-balance": "Nessun credito su questo conto.", history: "Storia", "no-history": "Nessuna transazione per questo conto.",
    height: "Blocco", operation: "Operazione", amount: "Importo", out: "inviati", in: "ricevuti",
    release: "pagati dal deposito", refund: "restituiti dal deposito", "end-block": "scadenza ({module})",
  },
  en: {
    title: "Account", missing: "“{address}” is not a valid address: an address is “ic” and 58 letters and digits, with a check.",
    address: "Address", identity: "Identity", nonce: "Transactions signed", balances: "Balances", "class": "Class", balance: "Balance",
    "no-balance": "No credits on this account.", history: "History", "no-history": "No transaction for this account.",
    height: "Block", operation: "Operation", amount: "Amount", out: "sent", in: "received",
    release: "paid out of escrow", refund: "refunded from escrow", "end-block": "deadline ({module})",
  },
});

/** What a history item moved for this account, if its body says (a class and an amount). */
function movement(item, address, names, known) {
  if (item.moves) {
    return h("ul", { class: "plain inline" }, item.moves.map((m) =>
      h("li", {}, amount(m.amount, m.class, known), " ", t(m.kind === "refund" ? "refund" : "release"))));
  }
  const fields = names[item.type];
  if (!fields || fields.length !== item.body.length) return "";
  const body = Object.fromEntries(fields.map((name, i) => [name, item.body[i]]));
  if (typeof body.amount !== "number" || !body.class_id) return "";
  const sent = item.signer === address;
  return h("span", {}, amount(body.amount, body.class_id, known), " ", h("span", { class: "muted" }, sent ? t("out") : t("in")));
}

export async function render(main, route) {
  const address = route.parts[1] || "";
  if (!/^ic[a-z2-7]{58}$/.test(address)) return void showNotFound(main, t("missing", { address }), common("bad-input"));
  const before = route.query.get("before");
  const found = await orNotFound(main, () => Promise.all([
    get(`/v1/accounts/${address}`), get(`/v1/accounts/${address}/txs`, { limit: PAGE, before }), classes(), fieldNames(),
  ]), t("missing", { address }));
  if (!found) return;
  const [account, history, known, names] = found;
  mount(main,
    h("h1", {}, t("title")),
    facts([
      [t("address"), mono(account.address)],
      [t("identity"), account.identity ? identityLink(account.identity, true) : common("none")],
      [t("nonce"), String(account.nonce)],
    ], { id: "account-facts" }),
    h("h2", {}, t("balances")),
    account.balances.length === 0 ? empty(t("no-balance")) : table(t("balances"), [t("class"), t("balance")],
      account.balances.map((b) => [classLink(b.class, known.get(b.class)?.name), amount(b.amount, b.class, known, { unit: false })]),
      { id: "account-balances" }),
    h("h2", {}, t("history")),
    history.txs.length === 0 ? empty(t("no-history")) : table(t("history"), [t("height"), t("operation"), t("amount")],
      history.txs.map((item) => [
        blockLink(item.height),
        h("span", {}, item.hash ? h("a", { href: `#/tx/${item.hash}`, class: "type" }, typeName(item.type)) : t("end-block", { module: item.module }),
          item.result.code === "OK" ? null : [" ", resultBadge(item.result)]),
        movement(item, address, names, known),
      ]), { id: "account-history" }),
    pager({ newer: before ? `#/account/${address}` : null, older: history.next ? `#/account/${address}?before=${history.next}` : null }));
}
