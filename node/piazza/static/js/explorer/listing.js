// One listing: what it offers, for which classes at which price, by whom, and its orders and purchase
// groups (#/listing/ID).
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { formatDate, translator } from "../i18n.js";
import {
  accountLink, amount, blockLink, classLink, classes, days, empty, facts, mono, orNotFound, showNotFound, table, vocabulary,
} from "./common.js";

const t = translator({
  it: {
    title: "Annuncio", missing: "Nessun annuncio con id «{id}».", id: "Id", provider: "Fornitore", category: "Categoria",
    description: "Descrizione", prices: "Prezzi", quantity: "Disponibilità", unlimited: "senza limite", delivery: "Consegna",
    validity: "Validità", always: "sempre", from: "dal {date}", until: "fino al {date}", returns: "Tempo per contestare",
    arbiter: "Arbitro", status: "Stato", created: "Pubblicato al blocco", orders: "Ordini", order: "Ordine", buyer: "Acquirente",
    total: "Totale", "no-orders": "Nessun ordine.", groups: "Gruppi d'acquisto", group: "Gruppo", fill: "Quantità raccolta",
    deadline: "Scadenza", "no-groups": "Nessun gruppo d'acquisto.", orderable: "si può ordinare", "not-orderable": "non si può ordinare ora",
    "content-hash": "Hash del contenuto", "of": "{qty} di {max}",
  },
  en: {
    title: "Listing", missing: "No listing with id “{id}”.", id: "Id", provider: "Provider", category: "Category",
    description: "Description", prices: "Prices", quantity: "Available", unlimited: "no limit", delivery: "Delivery",
    validity: "Validity", always: "always", from: "from {date}", until: "until {date}", returns: "Time to dispute",
    arbiter: "Arbiter", status: "Status", created: "Published in block", orders: "Orders", order: "Order", buyer: "Buyer",
    total: "Total", "no-orders": "No order.", groups: "Purchase groups", group: "Group", fill: "Quantity gathered",
    deadline: "Deadline", "no-groups": "No purchase group.", orderable: "can be ordered", "not-orderable": "cannot be ordered now",
    "content-hash": "Content hash", "of": "{qty} of {max}",
  },
});

const word = vocabulary({
  it: {
    delivery: { pickup: "ritiro sul posto", delivery: "consegna a domicilio", appointment: "su appuntamento" },
    status: {
      active: "attivo", paused: "sospeso", withdrawn: "ritirato", placed: "effettuato", accepted: "accettato", disputed: "contestato",
      confirmed: "confermato", released: "pagato", decided: "deciso", declined: "rifiutato", cancelled: "annullato", expired: "scaduto",
      refunded: "rimborsato", open: "aperto", closing: "in chiusura", settled: "concluso", failed: "non riuscito",
    },
  },
  en: {},
});

export function listingStatus(listing) {
  return h("span", { class: listing.status === "active" ? "badge good" : "badge" }, word("status", listing.status));
}

function validity(l) {
  if (!l.valid_from_ms && l.valid_until_ms === null) return t("always");
  return [l.valid_from_ms ? t("from", { date: formatDate(l.valid_from_ms) }) : null,
    l.valid_until_ms !== null ? t("until", { date: formatDate(l.valid_until_ms) }) : null].filter(Boolean).join(" ");
}

export async function render(main, route) {
  const id = (route.parts[1] || "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(id)) return void showNotFound(main, t("missing", { id: route.parts[1] || "" }));
  const found = await orNotFound(main, () => Promise.all([
    get(`/v1/market/listings/${id}`), get("/v1/market/orders", { listing: id, limit: 50 }), get("/v1/gas/groups", { listing: id, limit: 50 }), classes(),
  ]), t("missing", { id }));
  if (!found) return;
  const [l, orders, groups, known] = found;
  mount(main,
    h("h1", {}, l.title),
    facts([
      [t("id"), mono(l.id)],
      [t("status"), h("span", {}, listingStatus(l), " ", h("span", { class: "muted" }, l.orderable ? t("orderable") : t("not-orderable")))],
      [t("description"), l.description || "—"],
      [t("provider"), accountLink(l.provider, true)],
      [t("category"), h("a", { href: `#/listings?category=${encodeURIComponent(l.category)}` }, l.category)],
      [t("prices"), h("ul", { class: "plain", id: "listing-prices" }, l.prices.map((p) => h("li", {}, amount(p.unit_price, p.class, known), " · ", classLink(p.class, known.get(p.class)?.name))))],
      [t("quantity"), l.quantity === null ? t("unlimited") : String(l.quantity)],
      [t("delivery"), word("delivery", l.delivery)],
      [t("validity"), validity(l)],
      [t("returns"), days(l.return_window_ms)],
      [t("arbiter"), l.arbiter ? accountLink(l.arbiter, true) : "—"],
      [t("created"), blockLink(l.created_height)],
      l.content_hash ? [t("content-hash"), mono(l.content_hash)] : null,
    ], { id: "listing-facts" }),
    h("h2", {}, t("orders")),
    orders.orders.length === 0 ? empty(t("no-orders")) : table(t("orders"), [t("order"), t("buyer"), t("total"), t("status")],
      orders.orders.map((o) => [mono(o.id.slice(0, 8)), accountLink(o.buyer), amount(o.total, o.class, known), word("status", o.status)]),
      { id: "listing-orders" }),
    h("h2", {}, t("groups")),
    groups.groups.length === 0 ? empty(t("no-groups")) : table(t("groups"), [t("group"), t("fill"), t("deadline"), t("status")],
      groups.groups.map((g) => [mono(g.id.slice(0, 8)), t("of", { qty: g.committed_qty, max: g.max_qty }), formatDate(g.deadline_ms), word("status", g.status)]),
      { id: "listing-groups" }));
}
