// One credit class: its rules in plain words, its books (the issuer's statement: issued, held, in escrow,
// spent per category, redeemed per provider, reclaimed) and its holders, a page at a time (#/class/ID).
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { formatAmount, formatDate, translator } from "../i18n.js";
import { accountLink, amount, empty, facts, mono, orNotFound, pager, showNotFound, table, yesNo } from "./common.js";
import { t as rule, word } from "./class-words.js";

export const HOLDERS_PAGE = 50;

const t = translator({
  it: {
    missing: "Nessuna classe di crediti «{id}».", rules: "Regole", books: "Libri", id: "Id", issuer: "Emittente", kind: "Tipo",
    who: "Chi può tenerli", how: "Come si usano", what: "Per che cosa", validity: "Validità", decimals: "Decimali",
    "holder-cap": "Tetto per titolare", budget: "Tetto di emissione", vouchers: "Buoni", "voucher-rule": "buoni da {value}, al massimo {cap} per pagamento",
    "voucher-one": "buoni da {value}, uno per pagamento", "not-voucher": "non è una classe di buoni", "no-cap": "nessuno",
    description: "Hash della descrizione", issued: "Emessi", held: "Nei conti", escrowed: "In deposito (ordini non chiusi)",
    redeemed: "Rimborsati ai fornitori", reclaimed: "Ritirati dall'emittente", balanced: "I conti tornano: emessi = nei conti + in deposito + rimborsati + ritirati.",
    unbalanced: "I conti non tornano: emessi ≠ nei conti + in deposito + rimborsati + ritirati.",
    spent: "Spesi per categoria", category: "Categoria", amount: "Importo", "amount-in": "Importo ({id})", "balance-in": "Saldo ({id})", "none-spent": "Ancora niente speso.",
    "redeemed-by": "Rimborsati per fornitore", provider: "Fornitore", "none-redeemed": "Ancora nessun rimborso.",
    holders: "Titolari", holder: "Conto", balance: "Saldo", "is-provider": "Fornitore", "no-holders": "Nessun titolare.",
  },
  en: {
    missing: "No credit class “{id}”.", rules: "Rules", books: "Books", id: "Id", issuer: "Issuer", kind: "Kind",
    who: "Who may hold them", how: "How they are used", what: "What for", validity: "Validity", decimals: "Decimals",
    "holder-cap": "Cap per holder", budget: "Issuance cap", vouchers: "Vouchers", "voucher-rule": "vouchers of {value}, at most {cap} per payment",
    "voucher-one": "vouchers of {value}, one per payment", "not-voucher": "not a voucher class", "no-cap": "none",
    description: "Description hash", issued: "Issued", held: "In accounts", escrowed: "In escrow (open orders)",
    redeemed: "Redeemed by providers", reclaimed: "Reclaimed by the issuer", balanced: "The books balance: issued = in accounts + in escrow + redeemed + reclaimed.",
    unbalanced: "The books do not balance: issued ≠ in accounts + in escrow + redeemed + reclaimed.",
    spent: "Spent per category", category: "Category", amount: "Amount", "amount-in": "Amount ({id})", "balance-in": "Balance ({id})", "none-spent": "Nothing spent yet.",
    "redeemed-by": "Redeemed per provider", provider: "Provider", "none-redeemed": "No redemption yet.",
    holders: "Holders", holder: "Account", balance: "Balance", "is-provider": "Provider", "no-holders": "No holder.",
  },
});

function validity(c) {
  const parts = [];
  if (c.valid_from_ms) parts.push(rule("from", { date: formatDate(c.valid_from_ms) }));
  parts.push(c.valid_until_ms === null ? rule("forever") : rule("until", { date: formatDate(c.valid_until_ms) }));
  return h("span", {}, parts.join(" "), " ", h("span", { class: c.expired ? "badge bad" : "badge good" }, c.expired ? rule("expired") : rule("valid")));
}

function vouchers(c) {
  if (c.face_value === null) return t("not-voucher");
  const value = formatAmount(c.face_value, c.decimals);
  return c.voucher_cap === null ? t("voucher-one", { value }) : t("voucher-rule", { value, cap: c.voucher_cap });
}

export async function render(main, route) {
  const id = route.parts[1] || "";
  if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(id)) return void showNotFound(main, t("missing", { id }));
  const after = route.query.get("after");
  const found = await orNotFound(main, () => Promise.all([
    get(`/v1/classes/${id}/statement`), get(`/v1/classes/${id}/holders`, { limit: HOLDERS_PAGE, after }),
  ]), t("missing", { id }));
  if (!found) return;
  const [statement, holders] = found;
  const c = statement.class;
  const known = new Map([[c.id, c]]);
  const money = (minor) => amount(minor, c.id, known);
  const figure = (minor) => amount(minor, c.id, known, { unit: false });
  const redeemed = statement.redeemed_by.reduce((sum, r) => sum + BigInt(r.amount), 0n);
  const balanced = BigInt(c.issued) === BigInt(statement.held) + BigInt(statement.escrowed) + redeemed + BigInt(statement.reclaimed);
  mount(main,
    h("h1", {}, c.name),
    h("h2", {}, t("rules")),
    facts([
      [t("id"), mono(c.id)],
      [t("kind"), word("kinds", c.kind)],
      [t("issuer"), accountLink(c.issuer, true)],
      [t("who"), c.eligibility.length ? c.eligibility.join(", ") : rule("anyone")],
      [t("how"), word("transferability", c.transferability)],
      [t("what"), c.categories.length ? c.categories.join(", ") : rule("anything")],
      [t("validity"), validity(c)],
      [t("holder-cap"), c.holder_cap ? money(c.holder_cap) : t("no-cap")],
      [t("budget"), c.budget === null ? t("no-cap") : money(c.budget)],
      [t("vouchers"), vouchers(c)],
      [t("decimals"), String(c.decimals)],
      c.description_hash ? [t("description"), mono(c.description_hash)] : null,
    ], { id: "class-rules" }),
    h("h2", {}, t("books")),
    facts([
      [t("issued"), money(c.issued)],
      [t("held"), money(statement.held)],
      [t("escrowed"), money(statement.escrowed)],
      [t("redeemed"), money(redeemed)],
      [t("reclaimed"), money(statement.reclaimed)],
    ], { id: "class-books" }),
    h("p", { class: balanced ? "notice good" : "notice bad", id: "class-balance" }, balanced ? t("balanced") : t("unbalanced")),
    h("h3", {}, t("spent")),
    statement.spent.length === 0 ? empty(t("none-spent")) : table(t("spent"), [t("category"), t("amount-in", { id: c.id })],
      statement.spent.map((s) => [s.category, figure(s.amount)]), { id: "class-spent" }),
    h("h3", {}, t("redeemed-by")),
    statement.redeemed_by.length === 0 ? empty(t("none-redeemed")) : table(t("redeemed-by"), [t("provider"), t("amount-in", { id: c.id })],
      statement.redeemed_by.map((r) => [accountLink(r.provider), figure(r.amount)]), { id: "class-redeemed" }),
    h("h2", {}, t("holders")),
    holders.holders.length === 0 ? empty(t("no-holders")) : table(t("holders"), [t("holder"), t("balance-in", { id: c.id }), t("is-provider")],
      holders.holders.map((x) => [accountLink(x.address), figure(x.amount), yesNo(x.provider)]), { id: "class-holders" }),
    pager({ newer: after ? `#/class/${id}` : null, older: holders.next ? `#/class/${id}?after=${holders.next}` : null, ordered: true }));
}
