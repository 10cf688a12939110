// My orders (FORMAT.md §6.5.3): as a buyer (cancel, confirm delivery, dispute, review) and as a provider
// (accept, decline), each with its status and what happens at its deadline; and one order's page.
import { h, mount } from "./dom.js";
import { get, ApiError } from "./api.js";
import { translator, formatTime } from "./i18n.js";
import { fromHex } from "./codec.js";
import { loadClasses, money, amountText, classLabel } from "./piazza-classes.js";
import { whoAmI, needWallet } from "./piazza-account.js";
import { transact, notice, report, statusSlot } from "./piazza-act.js";
import { explorer, accountLink } from "./piazza-links.js";
import { orderStatusName, orderTone, DAY_MS } from "./market-words.js";

const t = translator({
  it: {
    title: "I miei ordini", back: "Torna al mercato", "orders-wallet": "vedere i tuoi ordini",
    buying: "Acquisti", selling: "Vendite", "no-buying": "Non hai ancora ordinato nulla.", "no-selling": "Nessun ordine ricevuto.",
    "order-title": "Ordine", missing: "Questo ordine non esiste.", what: "{quantity} × {price} = {total}",
    placed: "Ordinato il {time}", provider: "Fornitore", buyer: "Compratore", "all-orders": "Tutti i miei ordini",
    "expire-buyer": "Se il fornitore non accetta entro il {time}, i crediti ti tornano.",
    "expire-provider": "Accetta entro il {time}: dopo, l'ordine scade e il compratore è rimborsato.",
    "release-buyer": "Conferma o contesta entro il {time}: dopo, il pagamento va al fornitore.",
    "release-provider": "Sarai pagato quando il compratore conferma, o comunque il {time}.",
    escrow: "In deposito: {amount}", dispute: "Contestazione: {reason}", decision: "Decisione dell'arbitro: {provider} al fornitore, {buyer} al compratore. {reason}",
    cancel: "Annulla l'ordine", cancelled: "Ordine annullato: i crediti ti sono tornati.",
    confirm: "Confermo la consegna", confirmed: "Consegna confermata: il fornitore è stato pagato.",
    "open-dispute": "Apri una contestazione", reason: "Che cosa non va", "send-dispute": "Invia la contestazione",
    "dispute-help": "L'arbitro della federazione decide come dividere il deposito. Fino ad allora nessuno riceve i crediti.",
    disputed: "Contestazione aperta: decide l'arbitro.", "reason-needed": "Scrivi il motivo (al massimo 280 byte).",
    accept: "Accetta l'ordine", accepted: "Ordine accettato: ora il compratore ha il tempo di confermare o contestare.",
    "accept-help": "Accettando ti impegni a consegnare; il compratore avrà {days} giorni per confermare o contestare.",
    decline: "Rifiuta", declined: "Ordine rifiutato: il compratore è stato rimborsato.",
    review: "La tua recensione", rating: "Voto", "review-text": "Commento (facoltativo)", "send-review": "Pubblica la recensione",
    reviewed: "Recensione pubblicata.", "review-too-long": "Il commento è troppo lungo (al massimo 280 byte).",
    "your-review": "La tua recensione: {stars}", "buyer-review": "Recensione del compratore: {stars}", "erase-review": "Cancella il testo della recensione", erased: "Testo della recensione cancellato; il voto resta.",
    "erased-review": "(testo cancellato)", stars: "{n} stelle su 5", star: "{n} su 5",
    "in-explorer": "Vedi l'annuncio nell'esploratore", "see-listing": "Vedi l'annuncio",
  },
  en: {
    title: "My orders", back: "Back to the market", "orders-wallet": "see your orders",
    buying: "Purchases", selling: "Sales", "no-buying": "You have not ordered anything yet.", "no-selling": "No order received.",
    "order-title": "Order", missing: "This order does not exist.", what: "{quantity} × {price} = {total}",
    placed: "Ordered on {time}", provider: "Provider", buyer: "Buyer", "all-orders": "All my orders",
    "expire-buyer": "If the provider does not accept by {time}, your credits come back.",
    "expire-provider": "Accept by {time}: after that the order expires and the buyer is refunded.",
    "release-buyer": "Confirm or dispute by {time}: after that the payment goes to the provider.",
    "release-provider": "You are paid when the buyer confirms, or at the latest on {time}.",
    escrow: "In escrow: {amount}", dispute: "Dispute: {reason}", decision: "The arbiter's decision: {provider} to the provider, {buyer} to the buyer. {reason}",
    cancel: "Cancel the order", cancelled: "Order cancelled: your credits came back.",
    confirm: "I confirm delivery", confirmed: "Delivery confirmed: the provider was paid.",
    "open-dispute": "Open a dispute", reason: "What is wrong", "send-dispute": "Send the dispute",
    "dispute-help": "The federation's arbiter decides how to split the escrow. Until then nobody gets the credits.",
    disputed: "Dispute opened: the arbiter decides.", "reason-needed": "Write the reason (at most 280 bytes).",
    accept: "Accept the order", accepted: "Order accepted: the buyer now has time to confirm or dispute.",
    "accept-help": "By accepting you undertake to deliver; the buyer will have {days} days to confirm or dispute.",
    decline: "Decline", declined: "Order declined: the buyer was refunded.",
    review: "Your review", rating: "Rating", "review-text": "Comment (optional)", "send-review": "Publish the review",
    reviewed: "Review published.", "review-too-long": "The comment is too long (at most 280 bytes).",
    "your-review": "Your review: {stars}", "buyer-review": "The buyer's review: {stars}", "erase-review": "Erase the review's text", erased: "Review text erased; the rating stays.",
    "erased-review": "(text erased)", stars: "{n} stars of 5", star: "{n} of 5",
    "in-explorer": "See the listing in the explorer", "see-listing": "See the listing",
  },
});

const MAX_TEXT = 280;
const PAGES = 5;
const bytesOf = (text) => new TextEncoder().encode(text).length;

export async function render(main, route) {
  if (route.parts[1] === "order") return renderOne(main, route);
  const [classes, me] = await Promise.all([loadClasses(), whoAmI()]);
  if (!me) {
    mount(main, h("h1", {}, t("title")), needWallet(t("orders-wallet")));
    return;
  }
  const orders = [];
  let after = null;
  for (let i = 0; i < PAGES; i++) {
    const page = await get("/v1/market/orders", { account: me.address, limit: 200, after });
    orders.push(...page.orders);
    after = page.next;
    if (!after) break;
  }
  orders.sort((a, b) => b.placed_ms - a.placed_ms);
  const titles = await listingTitles(orders);
  const again = async (shown) => { await render(main, route); report(main, shown); };
  const buying = orders.filter((o) => o.buyer === me.address);
  const selling = orders.filter((o) => o.provider === me.address);
  const list = (items, empty) => items.length === 0 ? h("p", { class: "muted" }, empty)
    : h("ul", { class: "plain orders" }, items.map((o) => h("li", {}, orderCard(o, { me, classes, title: titles.get(o.listing), again, heading: "h3" }))));
  mount(main,
    h("p", {}, h("a", { href: "#/market" }, `← ${t("back")}`)),
    h("h1", {}, t("title")),
    h("h2", {}, t("buying")), list(buying, t("no-buying")),
    selling.length ? [h("h2", {}, t("selling")), list(selling, t("no-selling"))] : null);
}

async function renderOne(main, route) {
  let order;
  try {
    order = await get(`/v1/market/orders/${encodeURIComponent(route.parts[2] || "")}`);
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 400)) throw error;
    mount(main, h("h1", {}, t("missing")), h("a", { href: "#/market/orders" }, t("all-orders")));
    return;
  }
  const [classes, me, titles] = await Promise.all([loadClasses(), whoAmI(), listingTitles([order])]);
  const again = async (shown) => { await render(main, route); report(main, shown); };
  mount(main,
    h("p", {}, h("a", { href: "#/market/orders" }, `← ${t("all-orders")}`)),
    h("h1", {}, `${t("order-title")}: ${titles.get(order.listing) || order.listing}`),
    orderCard(order, { me, classes, title: null, again, heading: null }),
    h("p", { class: "row" },
      h("a", { href: `#/market/listing/${order.listing}` }, t("see-listing")),
      h("a", { href: explorer.listing(order.listing) }, t("in-explorer"))));
}

async function listingTitles(orders) {
  const ids = [...new Set(orders.map((o) => o.listing))];
  const found = await Promise.all(ids.map((id) => get(`/v1/market/listings/${id}`).then((l) => l.title, () => null)));
  return new Map(ids.map((id, i) => [id, found[i]]));
}

/** An order with its status, its deadline in words and what the person may do with it now. */
function orderCard(order, ctx) {
  const { me, classes } = ctx;
  const asBuyer = me && me.address === order.buyer;
  const asProvider = me && me.address === order.provider;
  const price = (minor) => `${amountText(classes, order.class, minor)}`;
  const due = order.deadline_ms === null ? null
    : t(`${order.at_deadline}-${asProvider ? "provider" : "buyer"}`, { time: formatTime(order.deadline_ms) });
  const head = ctx.heading
    ? h(ctx.heading, {}, h("a", { href: `#/market/order/${order.id}` }, ctx.title || `${t("order-title")} ${order.id.slice(0, 8)}`))
    : null;
  const slot = statusSlot();
  return h("article", { class: "card order", dataset: { order: order.id, status: order.status } },
    head,
    h("p", { class: "row" }, h("span", { class: `badge ${orderTone(order.status)}` }, orderStatusName(order.status))),
    h("p", {}, t("what", { quantity: order.quantity, price: price(order.unit_price), total: "" }), money(classes, order.class, order.total)),
    h("p", { class: "muted" }, t("placed", { time: formatTime(order.placed_ms) }), " · ",
      asProvider ? [t("buyer"), ": ", accountLink(order.buyer)] : [t("provider"), ": ", accountLink(order.provider)]),
    order.open && order.escrow.amount > 0 ? h("p", {}, t("escrow", { amount: `${price(order.escrow.amount)} ${classLabel(classes, order.class)}` })) : null,
    due ? h("p", { class: "notice warn deadline" }, due) : null,
    order.dispute ? h("p", {}, t("dispute", { reason: order.dispute })) : null,
    order.decision ? h("p", {}, t("decision", { provider: price(order.decision.to_provider), buyer: price(order.decision.to_buyer), reason: order.decision.reason })) : null,
    asBuyer ? buyerActions(order, ctx, slot) : null,
    asProvider ? providerActions(order, ctx, slot) : null,
    slot);
}

function stepButton(label, kind, type, body, done, ctx, slot) {
  return h("button", { type: "button", class: kind, onclick: async (event) => {
    const result = await transact(slot, type, body, event.currentTarget);
    if (result) await ctx.again(notice("good", done, result.hash));
  } }, label);
}

function buyerActions(order, ctx, slot) {
  const id = fromHex(order.id);
  if (order.status === "placed") return h("div", { class: "row" }, stepButton(t("cancel"), "secondary", "market.cancel", [id], t("cancelled"), ctx, slot));
  if (order.status === "accepted") return [
    h("div", { class: "row" }, stepButton(t("confirm"), "", "market.confirm", [id], t("confirmed"), ctx, slot), disputeToggle(order)),
    disputeForm(order, ctx, slot)];
  if (order.completed && order.review === null) return reviewForm(order, ctx, slot);
  if (order.review !== null) return reviewShown(order, ctx, slot, id);
  return null;
}

/** The buyer's review of the order (its text erasable by the buyer alone). */
function reviewShown(order, ctx, slot, id = null) {
  const stars = "★".repeat(order.review.rating) + "☆".repeat(5 - order.review.rating);
  return [h("p", {}, t(id ? "your-review" : "buyer-review", { stars: "" }),
    h("span", { class: "stars", role: "img", "aria-label": t("stars", { n: order.review.rating }) }, stars), " ",
    order.review.text === null ? h("span", { class: "muted" }, t("erased-review")) : order.review.text),
  id && order.review.text !== null ? stepButton(t("erase-review"), "secondary", "market.erase_review", [id], t("erased"), ctx, slot) : null];
}

function disputeToggle(order) {
  return h("button", { type: "button", class: "secondary", "aria-expanded": "false", "aria-controls": `dispute-${order.id}`, onclick: (event) => {
    const form = document.getElementById(`dispute-${order.id}`);
    form.hidden = !form.hidden;
    event.currentTarget.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) form.querySelector("textarea").focus();
  } }, t("open-dispute"));
}

function disputeForm(order, ctx, slot) {
  const reason = h("textarea", { id: `dispute-reason-${order.id}`, maxlength: String(MAX_TEXT), required: true });
  const button = h("button", { type: "submit", class: "danger" }, t("send-dispute"));
  return h("form", { id: `dispute-${order.id}`, class: "subform", hidden: true, onsubmit: async (event) => {
    event.preventDefault();
    const text = reason.value.trim();
    if (!text || bytesOf(text) > MAX_TEXT) { mount(slot, notice("bad", t("reason-needed"))); slot.hidden = false; reason.focus(); return; }
    const result = await transact(slot, "market.dispute", [fromHex(order.id), text], button);
    if (result) await ctx.again(notice("good", t("disputed"), result.hash));
  } },
  h("label", { for: reason.id }, t("reason")), reason,
  h("p", { class: "field-help" }, t("dispute-help")), button);
}

function reviewForm(order, ctx, slot) {
  const name = `rating-${order.id}`;
  const stars = [5, 4, 3, 2, 1].map((n) => h("div", { class: "choice" },
    h("input", { type: "radio", name, id: `${name}-${n}`, value: String(n), checked: n === 5 }),
    h("label", { for: `${name}-${n}` }, h("span", { "aria-hidden": "true" }, "★".repeat(n) + " "), t("star", { n }))));
  const text = h("textarea", { id: `review-text-${order.id}`, maxlength: String(MAX_TEXT) });
  const button = h("button", { type: "submit" }, t("send-review"));
  return h("form", { class: "subform", "aria-label": t("review"), onsubmit: async (event) => {
    event.preventDefault();
    const rating = Number(stars.map((s) => s.querySelector("input")).find((i) => i.checked).value);
    if (bytesOf(text.value) > MAX_TEXT) { mount(slot, notice("bad", t("review-too-long"))); slot.hidden = false; return; }
    const result = await transact(slot, "market.review", [fromHex(order.id), rating, text.value.trim()], button);
    if (result) await ctx.again(notice("good", t("reviewed"), result.hash));
  } },
  h("fieldset", {}, h("legend", {}, t("rating")), h("div", { class: "row" }, stars)),
  h("label", { for: text.id }, t("review-text")), text, button);
}

function providerActions(order, ctx, slot) {
  if (order.review !== null) return reviewShown(order, ctx, slot);
  if (order.status !== "placed") return null;
  const id = fromHex(order.id);
  return [h("p", { class: "field-help" }, t("accept-help", { days: Math.round(order.return_window_ms / DAY_MS) })),
    h("div", { class: "row" },
      stepButton(t("accept"), "", "market.accept", [id], t("accepted"), ctx, slot),
      stepButton(t("decline"), "secondary", "market.decline", [id], t("declined"), ctx, slot))];
}
