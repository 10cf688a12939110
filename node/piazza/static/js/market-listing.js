// A listing's page (FORMAT.md §6.5.2): what it is, its price in each class it accepts, ordering it
// (market.order: the total goes into escrow until the buyer confirms), the provider's reviews, the
// purchase groups on it; and, for its provider, pausing, resuming, withdrawing and updating it.
import { h, mount } from "./dom.js";
import { get, ApiError } from "./api.js";
import { translator, formatDate } from "./i18n.js";
import { fromHex, toHex } from "./codec.js";
import { loadClasses, money, amountText, classLabel, parseIn } from "./piazza-classes.js";
import { whoAmI, needWallet } from "./piazza-account.js";
import { transact, notice, report, statusSlot } from "./piazza-act.js";
import { explorer, accountLink, newId } from "./piazza-links.js";
import { categoryName, deliveryName, listingStatusName, DAY_MS } from "./market-words.js";

const t = translator({
  it: {
    missing: "Questo annuncio non esiste.", back: "Torna al mercato", provider: "Fornitore", category: "Categoria",
    delivery: "Consegna", stock: "Disponibilità", service: "Servizio (senza magazzino)", left: "{n} pezzi",
    window: "Tempo per confermare o contestare", days: "{n} giorni", valid: "Ordinabile", "valid-until": "fino al {date}",
    "valid-from": "dal {date}", always: "sempre", status: "Stato", "in-explorer": "Vedi nell'esploratore",
    prices: "Prezzi al pezzo", class: "Classe", price: "Prezzo", yours: "Il tuo saldo",
    order: "Ordina", quantity: "Quantità", "pay-with": "Paga con", total: "Totale", "order-button": "Ordina e paga",
    "order-help": "I crediti restano in deposito: il fornitore li riceve quando confermi la consegna (o, se non fai nulla, alla scadenza).",
    "order-wallet": "ordinare", "not-orderable": "Ora questo annuncio non si può ordinare.",
    "own-listing": "Questo annuncio è tuo.", "bad-quantity": "Scrivi un numero intero di pezzi, da 1 a {max}.",
    short: "Non hai abbastanza {name}: ne hai {have}, ne servono {need}.", ordered: "Ordine fatto: {total} in deposito finché non confermi la consegna.", "see-order": "Vedi l'ordine",
    reviews: "Recensioni del fornitore", "no-reviews": "Ancora nessuna recensione.", rating: "{stars} su 5 · {count} recensioni", "rating-one": "{stars} su 5 · una recensione",
    "erased-review": "(testo cancellato dall'autore)", stars: "{n} stelle su 5",
    groups: "Gruppi d'acquisto su questo annuncio", "group-line": "{committed} impegnati su {max} · minimo {min}",
    manage: "Gestisci il tuo annuncio", pause: "Sospendi", resume: "Riprendi", withdraw: "Ritira per sempre",
    "withdraw-confirm": "Sì, ritiralo per sempre", "withdraw-help": "Un annuncio ritirato non torna più attivo; gli ordini già fatti proseguono.",
    paused: "Annuncio sospeso.", resumed: "Annuncio di nuovo attivo.", withdrawn: "Annuncio ritirato.",
    update: "Aggiorna", description: "Descrizione", "new-stock": "Pezzi disponibili", "price-in": "Prezzo in {name}",
    "price-help": "Vuoto: non accetti più questa classe.", "bad-stock": "Scrivi i pezzi disponibili: un numero intero da 0 a 1.000.000.000.", updated: "Annuncio aggiornato.",
    "bad-price": "Il prezzo in {name} non è un importo valido.", "no-price": "Serve almeno un prezzo.",
    "orders-link": "Ordini ricevuti",
  },
  en: {
    missing: "This listing does not exist.", back: "Back to the market", provider: "Provider", category: "Category",
    delivery: "Delivery", stock: "Stock", service: "Service (no stock)", left: "{n} units",
    window: "Time to confirm or dispute", days: "{n} days", valid: "Orderable", "valid-until": "until {date}",
    "valid-from": "from {date}", always: "always", status: "Status", "in-explorer": "See it in the explorer",
    prices: "Prices per unit", class: "Class", price: "Price", yours: "Your balance",
    order: "Order", quantity: "Quantity", "pay-with": "Pay with", total: "Total", "order-button": "Order and pay",
    "order-help": "The credits stay in escrow: the provider gets them when you confirm delivery (or, if you do nothing, at the deadline).",
    "order-wallet": "order", "not-orderable": "This listing cannot be ordered now.",
    "own-listing": "This listing is yours.", "bad-quantity": "Write a whole number of units, from 1 to {max}.",
    short: "You do not have enough {name}: you hold {have}, {need} are needed.", ordered: "Ordered: {total} in escrow until you confirm delivery.", "see-order": "See the order",
    reviews: "The provider's reviews", "no-reviews": "No review yet.", rating: "{stars} of 5 · {count} reviews", "rating-one": "{stars} of 5 · one review",
    "erased-review": "(text erased by its author)", stars: "{n} stars of 5",
    groups: "Purchase groups on this listing", "group-line": "{committed} committed of {max} · minimum {min}",
    manage: "Manage your listing", pause: "Pause", resume: "Resume", withdraw: "Withdraw for good",
    "withdraw-confirm": "Yes, withdraw it for good", "withdraw-help": "A withdrawn listing never comes back; orders already placed carry on.",
    paused: "Listing paused.", resumed: "Listing active again.", withdrawn: "Listing withdrawn.",
    update: "Update", description: "Description", "new-stock": "Units in stock", "price-in": "Price in {name}",
    "price-help": "Empty: you no longer accept this class.", "bad-stock": "Write the units in stock: a whole number from 0 to 1,000,000,000.", updated: "Listing updated.",
    "bad-price": "The price in {name} is not a valid amount.", "no-price": "At least one price is needed.",
    "orders-link": "Orders received",
  },
});

const MAX_QUANTITY = 1_000_000_000;

export async function render(main, route) {
  const id = route.parts[2] || "";
  let listing;
  try {
    listing = await get(`/v1/market/listings/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 400)) throw error;
    mount(main, h("h1", {}, t("missing")), h("a", { href: "#/market" }, t("back")));
    return;
  }
  const [classes, me, reviews, groups] = await Promise.all([
    loadClasses(), whoAmI(),
    get(`/v1/market/providers/${listing.provider}/reviews`, { limit: 20 }),
    get("/v1/gas/groups", { listing: listing.id, status: "open", limit: 20 }),
  ]);
  const again = async (shown) => { await render(main, route); report(main, shown); };
  const mine = me && me.address === listing.provider;

  mount(main,
    h("p", {}, h("a", { href: "#/market" }, `← ${t("back")}`)),
    h("h1", {}, listing.title),
    listing.description ? h("p", {}, listing.description) : null,
    facts(listing, reviews),
    pricesTable(listing, classes, me),
    mine ? manage(listing, classes, again) : orderForm(listing, classes, me, again),
    groupsOn(groups.groups, classes),
    reviewList(reviews));
}

function facts(listing, reviews) {
  const window = Math.round(listing.return_window_ms / DAY_MS);
  const from = listing.valid_from_ms ? t("valid-from", { date: formatDate(listing.valid_from_ms) }) : "";
  const until = listing.valid_until_ms ? t("valid-until", { date: formatDate(listing.valid_until_ms) }) : "";
  const rating = reviews.rating.count ? ` · ${ratingText(reviews.rating)}` : "";
  const rows = [
    [t("provider"), [accountLink(listing.provider), rating]],
    [t("category"), categoryName(listing.category)],
    [t("delivery"), deliveryName(listing.delivery)],
    [t("stock"), listing.quantity === null ? t("service") : t("left", { n: listing.quantity })],
    [t("window"), t("days", { n: window })],
    [t("valid"), [from, until].filter(Boolean).join(" ") || t("always")],
    [t("status"), listingStatusName(listing.status)],
  ];
  return h("div", { class: "card" },
    h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("p", {}, h("a", { href: explorer.listing(listing.id) }, t("in-explorer"))));
}

function ratingText(rating) {
  const stars = (rating.mean_tenths / 10).toLocaleString(document.documentElement.lang === "it" ? "it-IT" : "en-GB");
  return t(rating.count === 1 ? "rating-one" : "rating", { stars, count: rating.count });
}

function pricesTable(listing, classes, me) {
  return [h("h2", { id: "listing-prices" }, t("prices")),
    h("div", { class: "scroll" }, h("table", { "aria-labelledby": "listing-prices" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("class")), h("th", { scope: "col" }, t("price")),
        me ? h("th", { scope: "col" }, t("yours")) : null)),
      h("tbody", {}, listing.prices.map((p) => h("tr", {},
        h("th", { scope: "row" }, classLabel(classes, p.class)),
        h("td", { class: "amount" }, amountText(classes, p.class, p.unit_price)),
        me ? h("td", { class: "amount" }, amountText(classes, p.class, me.balances.get(p.class) || 0n)) : null)))))];
}

function orderForm(listing, classes, me, again) {
  const heading = h("h2", { id: "order-title" }, t("order"));
  if (!listing.orderable || listing.quantity === 0) return [heading, h("p", { class: "notice warn" }, t("not-orderable"))];
  if (!me) return [heading, needWallet(t("order-wallet"))];
  const max = listing.quantity === null ? MAX_QUANTITY : Math.min(listing.quantity, MAX_QUANTITY);
  const quantity = h("input", { id: "order-quantity", type: "number", inputmode: "numeric", min: "1", max: String(max), step: "1", value: "1", required: true });
  const held = (p) => me.balances.get(p.class) || 0n;
  const preferred = listing.prices.find((p) => held(p) >= BigInt(p.unit_price)) || listing.prices[0];
  const choices = listing.prices.map((p) => h("div", { class: "choice" },
    h("input", { type: "radio", name: "order-class", id: `order-class-${p.class}`, value: p.class, checked: p === preferred }),
    h("label", { for: `order-class-${p.class}` }, classLabel(classes, p.class), " · ",
      h("span", { class: "amount" }, amountText(classes, p.class, p.unit_price)),
      h("span", { class: "muted" }, ` (${t("yours").toLowerCase()}: ${amountText(classes, p.class, held(p))})`))));
  const total = h("output", { id: "order-total", for: "order-quantity", class: "amount" });
  const slot = statusSlot();
  const button = h("button", { type: "submit" }, t("order-button"));
  const radios = choices.map((c) => c.querySelector("input"));
  const chosen = () => listing.prices.find((p) => p.class === (radios.find((r) => r.checked) || radios[0]).value);
  function count() {
    const text = quantity.value.trim();
    return /^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= max ? Number(text) : null;
  }
  function update() {
    const n = count();
    const p = chosen();
    mount(total, n === null ? "—" : money(classes, p.class, BigInt(n) * BigInt(p.unit_price)));
  }
  quantity.addEventListener("input", update);
  for (const r of radios) r.addEventListener("change", update);
  update();
  const form = h("form", { class: "card", "aria-labelledby": "order-title", onsubmit: async (event) => {
    event.preventDefault();
    const n = count();
    if (n === null) {
      const shown = notice("bad", t("bad-quantity", { max }));
      mount(slot, shown); slot.hidden = false; quantity.focus();
      return;
    }
    const p = chosen();
    const cost = BigInt(n) * BigInt(p.unit_price);
    if (cost > held(p)) {   // the ledger would refuse it (INSUFFICIENT_BALANCE): say so before signing
      mount(slot, notice("bad", t("short", { name: classLabel(classes, p.class), have: amountText(classes, p.class, held(p)), need: amountText(classes, p.class, cost) })));
      slot.hidden = false;
      return;
    }
    const orderId = newId();
    const result = await transact(slot, "market.order", [orderId, fromHex(listing.id), p.class, n], button);
    if (!result) return;
    await again(notice("good", [t("ordered", { total: `${amountText(classes, p.class, BigInt(n) * BigInt(p.unit_price))} ${classLabel(classes, p.class)}` }), " ",
      h("a", { href: `#/market/order/${toHex(orderId)}` }, t("see-order"))], result.hash));
  } },
  h("label", { for: "order-quantity" }, t("quantity")), quantity,
  h("fieldset", {}, h("legend", {}, t("pay-with")), choices),
  h("p", { class: "spread total" }, h("span", {}, t("total")), total),
  h("p", { class: "field-help" }, t("order-help")),
  slot, button);
  return [heading, form];
}

function manage(listing, classes, again) {
  const slot = statusSlot();
  const id = fromHex(listing.id);
  async function step(type, done, button) {
    const result = await transact(slot, type, [id], button);
    if (result) await again(notice("good", done, result.hash));
  }
  const buttons = [];
  if (listing.status === "active") buttons.push(h("button", { type: "button", class: "secondary", onclick: (e) => step("market.pause", t("paused"), e.currentTarget) }, t("pause")));
  if (listing.status === "paused") buttons.push(h("button", { type: "button", onclick: (e) => step("market.resume", t("resumed"), e.currentTarget) }, t("resume")));
  if (listing.status !== "withdrawn") {
    const confirmButton = h("button", { type: "button", class: "danger", hidden: true, onclick: (e) => step("market.withdraw", t("withdrawn"), e.currentTarget) }, t("withdraw-confirm"));
    buttons.push(h("button", { type: "button", class: "secondary", "aria-expanded": "false", onclick: (e) => {
      confirmButton.hidden = false; e.currentTarget.setAttribute("aria-expanded", "true"); confirmButton.focus();
    } }, t("withdraw")), confirmButton);
  }
  return [h("h2", { id: "manage-title" }, t("manage")),
    h("section", { class: "card", "aria-labelledby": "manage-title" },
      h("p", {}, t("own-listing"), " ", h("a", { href: "#/market/orders" }, t("orders-link"))),
      h("div", { class: "row" }, buttons),
      listing.status !== "withdrawn" ? h("p", { class: "field-help" }, t("withdraw-help")) : null,
      slot),
    listing.status !== "withdrawn" ? updateForm(listing, classes, again) : null];
}

/** market.update: stock, prices and description (the terms an order is bought under never change). */
function updateForm(listing, classes, again) {
  const slot = statusSlot();
  const description = h("textarea", { id: "update-description", maxlength: "500" }, listing.description);
  const stock = listing.quantity === null ? null
    : h("input", { id: "update-stock", type: "number", inputmode: "numeric", min: "0", step: "1", value: String(listing.quantity) });
  const prices = listing.prices.map((p) => ({
    class: p.class,
    input: h("input", { id: `update-price-${p.class}`, inputmode: "decimal", value: amountText(classes, p.class, p.unit_price), "aria-describedby": "update-price-help" }),
  }));
  const button = h("button", { type: "submit" }, t("update"));
  return h("form", { class: "card", "aria-label": t("update"), onsubmit: async (event) => {
    event.preventDefault();
    const body = [];
    for (const p of prices) {
      if (!p.input.value.trim()) continue;
      const minor = parseIn(classes, p.class, p.input.value);
      if (minor === null || minor <= 0n) { mount(slot, notice("bad", t("bad-price", { name: classLabel(classes, p.class) }))); slot.hidden = false; p.input.focus(); return; }
      body.push([p.class, minor]);
    }
    if (body.length === 0) { mount(slot, notice("bad", t("no-price"))); slot.hidden = false; return; }
    if (stock !== null && (!/^\d+$/.test(stock.value.trim()) || Number(stock.value) > MAX_QUANTITY)) {
      mount(slot, notice("bad", t("bad-stock"))); slot.hidden = false; stock.focus(); return;
    }
    const quantity = stock === null ? null : Number(stock.value);
    const until = listing.valid_until_ms || 0;
    const result = await transact(slot, "market.update", [fromHex(listing.id), body, quantity, description.value,
      listing.content_hash ? fromHex(listing.content_hash) : null, listing.valid_from_ms, until], button);
    if (result) await again(notice("good", t("updated"), result.hash));
  } },
  h("label", { for: "update-description" }, t("description")), description,
  stock ? [h("label", { for: "update-stock" }, t("new-stock")), stock] : null,
  prices.map((p) => [h("label", { for: p.input.id }, t("price-in", { name: classLabel(classes, p.class) })), p.input]),
  h("p", { class: "field-help", id: "update-price-help" }, t("price-help")),
  slot, button);
}

function groupsOn(groups, classes) {
  if (!groups.length) return null;
  return [h("h2", {}, t("groups")), h("ul", { class: "plain" }, groups.map((g) => h("li", {},
    h("a", { href: `#/groups/${g.id}` }, `${classLabel(classes, g.class)} · ${amountText(classes, g.class, g.top_price)}`),
    h("span", { class: "muted" }, ` — ${t("group-line", { committed: g.committed_qty, max: g.max_qty, min: g.min_qty })}`))))];
}

function reviewList(reviews) {
  return [h("h2", {}, t("reviews")),
    reviews.reviews.length === 0 ? h("p", { class: "muted" }, t("no-reviews")) : [
      h("p", {}, ratingText(reviews.rating)),
      h("ul", { class: "plain" }, reviews.reviews.map((r) => h("li", {},
        h("span", { class: "stars", role: "img", "aria-label": t("stars", { n: r.rating }) }, "★".repeat(r.rating) + "☆".repeat(5 - r.rating)), " ",
        r.text === null ? h("span", { class: "muted" }, t("erased-review")) : r.text)))]];
}

