// The account's movements (/v1/accounts/{address}/txs, newest first, a page at a time) as sentences:
// who paid whom how much of which credits and when (the block's time), with names where the wallet
// knows them (wallet-names.js); heights and hashes stay in the explorer, one link away.
import { h, mount } from "./dom.js";
import { get } from "./api.js";
import { translator, formatAmount, formatTime } from "./i18n.js";
import { classInfo, categoryName } from "./wallet-classes.js";
import { nameResolver } from "./wallet-names.js";
import { walletHeader } from "./wallet-nav.js";
import { movement } from "./wallet-movement.js";
import { refusalInWords } from "./wallet-refusal.js";

const PAGE = 20;
const times = new Map();  // height → block time (ms); blocks never change once committed

const t = translator({
  it: { title: "Movimenti", empty: "Ancora nessun movimento.", older: "Movimenti precedenti", newest: "Torna ai più recenti",
        paid: "Hai pagato {who}", "received-payment": "Pagamento ricevuto da {who}", sent: "Hai inviato a {who}", received: "Hai ricevuto da {who}",
        "received-issue": "Crediti dall'emittente", issued: "Hai emesso crediti per {who}", redeemed: "Crediti riscattati presso l'emittente",
        reclaimed: "Crediti scaduti ritirati da {who}", "settled-in-refund": "Rimborso", "settled-in-release": "Incasso",
        "settled-in": "Accredito", "settled-out": "Addebito", failed: "Non riuscita: {why}", details: "Dettagli",
        "details-of": "dettagli del movimento del {time}",
        "market.order": "Ordine nel mercato", "market.confirm": "Ordine confermato", "market.dispute": "Ordine contestato",
        "market.review": "Recensione", "market.cancel": "Ordine annullato", "market.accept": "Ordine accettato",
        "market.list": "Nuovo annuncio nel mercato", "gas.join": "Adesione a un gruppo d'acquisto", "gas.leave": "Uscita da un gruppo d'acquisto",
        "gas.open": "Gruppo d'acquisto aperto", "agora.vote": "Voto", "agora.support": "Sostegno a una proposta", "agora.propose": "Proposta nell'agorà",
        "agora.comment": "Commento nell'agorà", "agora.select": "Scelta nel bilancio partecipativo", other: "Operazione «{type}»",
        order: "ordine {id}", group: "gruppo d'acquisto {id}" },
  en: { title: "History", empty: "No movements yet.", older: "Older movements", newest: "Back to the newest",
        paid: "You paid {who}", "received-payment": "Payment received from {who}", sent: "You sent to {who}", received: "You received from {who}",
        "received-issue": "Credits from the issuer", issued: "You issued credits to {who}", redeemed: "Credits redeemed with the issuer",
        reclaimed: "Expired credits taken back by {who}", "settled-in-refund": "Refund", "settled-in-release": "Payout",
        "settled-in": "Credit", "settled-out": "Charge", failed: "Did not go through: {why}", details: "Details",
        "details-of": "details of the movement of {time}",
        "market.order": "Order in the market", "market.confirm": "Order confirmed", "market.dispute": "Order disputed",
        "market.review": "Review", "market.cancel": "Order cancelled", "market.accept": "Order accepted",
        "market.list": "New listing in the market", "gas.join": "Joined a purchase group", "gas.leave": "Left a purchase group",
        "gas.open": "Purchase group opened", "agora.vote": "Vote", "agora.support": "Support for a proposal", "agora.propose": "Proposal in the agora",
        "agora.comment": "Comment in the agora", "agora.select": "Choice in the participatory budget", other: "Operation “{type}”",
        order: "order {id}", group: "purchase group {id}" },
});

async function blockTime(height) {
  if (!times.has(height)) times.set(height, get(`/v1/blocks/${height}`).then((b) => b.header.time_ms, (err) => { times.delete(height); throw err; }));
  return times.get(height);
}

/** "order 3fa9…" (an effect's reference) in the page's words, its id shortened. */
function referenceWords(reference) {
  const match = /^(order|purchase group) ([0-9a-f]+)$/.exec(reference || "");
  if (!match) return reference || "";
  return t(match[1] === "order" ? "order" : "group", { id: match[2].slice(0, 8) });
}

export async function render(main, route, account) {
  const before = route.query.get("before");
  const page = await get(`/v1/accounts/${account.address}/txs`, { limit: PAGE, before });
  const entries = page.txs.map((entry) => ({ entry, move: movement(entry, account.address) }));
  const classIds = [...new Set(entries.map((e) => e.move.classId).filter(Boolean))];
  const classes = new Map(await Promise.all(classIds.map(async (id) => [id, await classInfo(id)])));
  const names = await nameResolver([...classes.values()]);
  const when = new Map(await Promise.all([...new Set(page.txs.map((e) => e.height))].map(async (height) => [height, await blockTime(height)])));
  const items = entries.map(({ entry, move }) => item(entry, move, classes.get(move.classId), names, when.get(entry.height)));
  mount(main, walletHeader(account, "history"), h("h1", {}, t("title")),
    items.length ? h("ul", { class: "plain history" }, items) : h("p", { class: "card" }, t("empty")),
    h("p", { class: "row" },
      before ? h("a", { class: "button secondary", href: "#/wallet/history" }, t("newest")) : null,
      page.next ? h("a", { class: "button secondary", href: `#/wallet/history?before=${encodeURIComponent(page.next)}` }, t("older")) : null));
}

function describe(entry, move, names) {
  const who = names.of(move.counterparty).text;
  switch (move.direction) {
    case "settled-in": return t(`settled-in-${move.effect}`) === `settled-in-${move.effect}` ? t("settled-in") : t(`settled-in-${move.effect}`);
    case "settled-out": return t("settled-out");
    case "other": {
      const label = t(entry.type);
      return label === entry.type ? t("other", { type: entry.type }) : label;
    }
    default: return t(move.direction, { who });
  }
}

function item(entry, move, info, names, timeMs) {
  const outgoing = ["paid", "sent", "settled-out"].includes(move.direction);
  const ok = entry.result && entry.result.code === "OK";
  let amount = null;
  if (move.amount !== null && info) {
    const sign = ["paid", "sent", "settled-out", "redeemed"].includes(move.direction) ? "−" : "+";
    amount = h("span", { class: `amount ${outgoing ? "out" : "in"}` }, (ok ? sign : "") + formatAmount(move.amount, info.decimals));
  }
  const notes = [move.category ? categoryName(move.category) : null, referenceWords(move.reference) || null]
    .filter((x) => x && move.direction !== "other");
  const time = timeMs ? formatTime(timeMs) : "";
  return h("li", { class: "movement" },
    h("div", { class: "spread" },
      h("span", {}, h("strong", {}, describe(entry, move, names))),
      amount),
    h("div", { class: "spread muted small" },
      h("span", {}, [time, info ? info.name : null, ...notes].filter(Boolean).join(" · ")),
      entry.hash ? h("a", { href: `/explorer#/tx/${entry.hash}` }, t("details"),
        h("span", { class: "visually-hidden" }, ` (${t("details-of", { time })})`)) : null),
    ok ? null : h("p", { class: "notice bad" }, t("failed", { why: refusalInWords(entry.result.code, entry.result.message).text })));
}
