// Purchase groups (FORMAT.md §6.6; docs/piazza.md "Marketplace and agora"): the open groups and how
// full each is, the person's commitments, and a group's page where one joins with a quantity (gas.join:
// the top price times it goes into escrow; at the deadline the price reached is charged, the rest
// refunded) or leaves (gas.leave).
import { h, mount } from "./dom.js";
import { get, ApiError } from "./api.js";
import { translator, formatTime } from "./i18n.js";
import { fromHex } from "./codec.js";
import { loadClasses, money, amountText, classLabel } from "./piazza-classes.js";
import { whoAmI, needWallet } from "./piazza-account.js";
import { transact, notice, report, statusSlot } from "./piazza-act.js";
import { accountLink, explorer } from "./piazza-links.js";
import { fillBar, fillText, tierList } from "./groups-fill.js";

const t = translator({
  it: {
    title: "Gruppi d'acquisto", intro: "Insieme si compra a un prezzo migliore: più quantità impegnate, prezzo più basso per tutti.",
    open: "Gruppi aperti", none: "Nessun gruppo aperto.", mine: "I tuoi impegni", "none-mine": "Non hai impegni nei gruppi aperti.",
    deadline: "Chiude il {time}", members: "{n} partecipanti", "members-one": "1 partecipante", "your-commitment": "Il tuo impegno: {n} · in deposito {amount}",
    missing: "Questo gruppo non esiste.", back: "Tutti i gruppi", listing: "Annuncio", supplier: "Fornitore", organiser: "Organizzatore",
    class: "Si paga in", "s-open": "Aperto", "s-closing": "In chiusura", "s-settled": "Concluso: acquisto fatto", "s-failed": "Minimo non raggiunto: rimborsato",
    join: "Partecipa", add: "Aggiungi al tuo impegno", quantity: "Quantità", "join-button": "Impegna", "join-wallet": "partecipare",
    "join-help": "Ora va in deposito il prezzo più alto ({price} al pezzo). Alla scadenza paghi il prezzo raggiunto dal gruppo e il resto ti torna; se il minimo non è raggiunto ti torna tutto.",
    escrow: "In deposito ora: {amount}", "bad-quantity": "Scrivi un numero intero da 1 a {max}.",
    short: "Non hai abbastanza {name}: ne hai {have}, ne servono {need}.", joined: "Impegno registrato: {n} in più.", leave: "Esci dal gruppo", left: "Sei uscito dal gruppo: i crediti ti sono tornati.",
    closed: "Il gruppo non prende più impegni.", price: "Prezzo pagato: {price} al pezzo", "in-explorer": "Vedi l'annuncio nell'esploratore",
    "group-of": "Gruppo su «{title}»",
  },
  en: {
    title: "Purchase groups", intro: "Buying together gets a better price: the more is committed, the lower the price for all.",
    open: "Open groups", none: "No open group.", mine: "Your commitments", "none-mine": "You have no commitment in the open groups.",
    deadline: "Closes on {time}", members: "{n} members", "members-one": "1 member", "your-commitment": "Your commitment: {n} · in escrow {amount}",
    missing: "This group does not exist.", back: "All groups", listing: "Listing", supplier: "Supplier", organiser: "Organiser",
    class: "Paid in", "s-open": "Open", "s-closing": "Closing", "s-settled": "Settled: bought", "s-failed": "Minimum not reached: refunded",
    join: "Join", add: "Add to your commitment", quantity: "Quantity", "join-button": "Commit", "join-wallet": "join",
    "join-help": "The top price ({price} a unit) goes into escrow now. At the deadline you pay the price the group reached and the rest comes back; if the minimum is not reached, all of it comes back.",
    escrow: "In escrow now: {amount}", "bad-quantity": "Write a whole number from 1 to {max}.",
    short: "You do not have enough {name}: you hold {have}, {need} are needed.", joined: "Commitment recorded: {n} more.", leave: "Leave the group", left: "You left the group: your credits came back.",
    closed: "The group takes no more commitments.", price: "Price paid: {price} a unit", "in-explorer": "See the listing in the explorer",
    "group-of": "Group on “{title}”",
  },
});

const PAGE = 200;
const PAGES = 5;

export async function render(main, route) {
  if (route.parts[1]) return renderGroup(main, route, route.parts[1]);
  const [classes, me, open] = await Promise.all([loadClasses(), whoAmI(), get("/v1/gas/groups", { status: "open", limit: PAGE })]);
  const groups = open.groups;
  const [titles, commitments] = await Promise.all([listingTitles(groups), me ? myCommitments(groups, me.address) : new Map()]);
  const mine = groups.filter((g) => commitments.has(g.id));
  mount(main,
    h("h1", {}, t("title")),
    h("p", { class: "muted" }, t("intro")),
    me ? [h("h2", {}, t("mine")), mine.length === 0 ? h("p", { class: "muted" }, t("none-mine"))
      : h("ul", { class: "plain" }, mine.map((g) => h("li", {},
        h("a", { href: `#/groups/${g.id}` }, titles.get(g.listing) || g.id), " — ",
        t("your-commitment", { n: commitments.get(g.id).quantity, amount: `${amountText(classes, g.class, commitments.get(g.id).escrowed)} ${classLabel(classes, g.class)}` }))))] : null,
    h("h2", {}, t("open")),
    groups.length === 0 ? h("p", { class: "muted" }, t("none")) : h("ul", { class: "plain groups" }, groups.map((g) => h("li", { class: "card" },
      h("h3", {}, h("a", { href: `#/groups/${g.id}` }, titles.get(g.listing) || g.id)),
      fillBar(g), fillText(g, classes),
      h("p", { class: "muted" }, t("deadline", { time: formatTime(g.deadline_ms) }), " · ", t(g.members === 1 ? "members-one" : "members", { n: g.members }))))));
}

async function listingTitles(groups) {
  const ids = [...new Set(groups.map((g) => g.listing))];
  const found = await Promise.all(ids.map((id) => get(`/v1/market/listings/${id}`).then((l) => l.title, () => null)));
  return new Map(ids.map((id, i) => [id, found[i]]));
}

/** The person's commitment in a group, read from its commitments in member order (null: none). */
async function commitmentOf(groupId, address) {
  let after = null;
  for (let i = 0; i < PAGES; i++) {
    const page = await get(`/v1/gas/groups/${groupId}/commitments`, { limit: PAGE, after });
    const found = page.commitments.find((c) => c.member === address);
    if (found) return found;
    after = page.next;
    if (!after) return null;
  }
  return null;
}

async function myCommitments(groups, address) {
  const found = await Promise.all(groups.map((g) => commitmentOf(g.id, address)));
  return new Map(groups.map((g, i) => [g.id, found[i]]).filter(([, c]) => c));
}

async function renderGroup(main, route, id) {
  let group;
  try {
    group = await get(`/v1/gas/groups/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 400)) throw error;
    mount(main, h("h1", {}, t("missing")), h("a", { href: "#/groups" }, t("back")));
    return;
  }
  const [classes, me, titles] = await Promise.all([loadClasses(), whoAmI(), listingTitles([group])]);
  const mine = me ? await commitmentOf(group.id, me.address) : null;
  const again = async (shown) => { await render(main, route); report(main, shown); };
  const title = titles.get(group.listing) || group.listing;
  mount(main,
    h("p", {}, h("a", { href: "#/groups" }, `← ${t("back")}`)),
    h("h1", {}, t("group-of", { title })),
    h("p", { class: "row" }, h("span", { class: `badge ${group.status === "settled" ? "good" : group.status === "failed" ? "bad" : ""}` }, t(`s-${group.status}`)),
      h("span", {}, t("deadline", { time: formatTime(group.deadline_ms) })), h("span", {}, t(group.members === 1 ? "members-one" : "members", { n: group.members }))),
    h("section", { class: "card" }, fillBar(group), fillText(group, classes), tierList(group, classes),
      group.unit_price > 0 ? h("p", {}, t("price", { price: `${amountText(classes, group.class, group.unit_price)} ${classLabel(classes, group.class)}` })) : null),
    h("dl", { class: "facts card" },
      h("dt", {}, t("listing")), h("dd", {}, h("a", { href: `#/market/listing/${group.listing}` }, title), " · ", h("a", { href: explorer.listing(group.listing) }, t("in-explorer"))),
      h("dt", {}, t("class")), h("dd", {}, classLabel(classes, group.class)),
      h("dt", {}, t("supplier")), h("dd", {}, accountLink(group.provider)),
      h("dt", {}, t("organiser")), h("dd", {}, accountLink(group.organiser))),
    mine ? h("p", { class: "notice good", id: "my-commitment" }, t("your-commitment", { n: mine.quantity, amount: `${amountText(classes, group.class, mine.escrowed)} ${classLabel(classes, group.class)}` })) : null,
    joinForm(group, classes, me, mine, again));
}

function joinForm(group, classes, me, mine, again) {
  const heading = h("h2", { id: "join-title" }, mine ? t("add") : t("join"));
  if (!group.accepting || group.room === 0) return [heading, h("p", { class: "notice warn" }, t("closed"))];
  if (!me) return [heading, needWallet(t("join-wallet"))];
  const quantity = h("input", { id: "join-quantity", type: "number", inputmode: "numeric", min: "1", max: String(group.room), step: "1", value: "1", required: true, "aria-describedby": "join-help" });
  const escrow = h("output", { for: "join-quantity", class: "amount" });
  const count = () => (/^\d+$/.test(quantity.value.trim()) && Number(quantity.value) >= 1 && Number(quantity.value) <= group.room ? Number(quantity.value) : null);
  const update = () => { const n = count(); mount(escrow, n === null ? "—" : money(classes, group.class, BigInt(n) * BigInt(group.top_price))); };
  quantity.addEventListener("input", update);
  update();
  const slot = statusSlot();
  const button = h("button", { type: "submit" }, t("join-button"));
  const id = fromHex(group.id);
  const leave = mine ? h("button", { type: "button", class: "secondary", onclick: async (event) => {
    const result = await transact(slot, "gas.leave", [id], event.currentTarget);
    if (result) await again(notice("good", t("left"), result.hash));
  } }, t("leave")) : null;
  return [heading, h("form", { class: "card", "aria-labelledby": "join-title", onsubmit: async (event) => {
    event.preventDefault();
    const n = count();
    if (n === null) { mount(slot, notice("bad", t("bad-quantity", { max: group.room }))); slot.hidden = false; quantity.focus(); return; }
    const cost = BigInt(n) * BigInt(group.top_price);
    const held = me.balances.get(group.class) || 0n;
    if (cost > held) {   // the ledger would refuse it (INSUFFICIENT_BALANCE): say so before signing
      mount(slot, notice("bad", t("short", { name: classLabel(classes, group.class), have: amountText(classes, group.class, held), need: amountText(classes, group.class, cost) })));
      slot.hidden = false;
      return;
    }
    const result = await transact(slot, "gas.join", [id, n], button);
    if (result) await again(notice("good", t("joined", { n }), result.hash));
  } },
  h("label", { for: "join-quantity" }, t("quantity")), quantity,
  h("p", { class: "spread total" }, h("span", {}, t("escrow", { amount: "" })), escrow),
  h("p", { class: "field-help", id: "join-help" }, t("join-help", { price: `${amountText(classes, group.class, group.top_price)} ${classLabel(classes, group.class)}` })),
  slot, h("div", { class: "row" }, button, leave))];
}
