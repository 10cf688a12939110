// The marketplace (FORMAT.md §6.5; docs/piazza.md "Marketplace and agora"): search and browse listings
// by words, category and the classes of credits the person holds. The other pages of the marketplace
// (a listing, my orders, selling) are their own modules, loaded when their route is opened.
import { h, mount } from "./dom.js";
import { get } from "./api.js";
import { translator, formatAmount } from "./i18n.js";
import { go } from "./shell.js";
import { loadClasses, money, classLabel, decimalsOf } from "./piazza-classes.js";
import { whoAmI } from "./piazza-account.js";
import { categoryName, deliveryName } from "./market-words.js";

const t = translator({
  it: {
    title: "Mercato", intro: "Beni e servizi dei fornitori della federazione, da pagare con i tuoi crediti.",
    search: "Cerca", words: "Parole del titolo", category: "Categoria", "any-category": "Tutte le categorie",
    "pay-with": "Paga con", "any-class": "Qualsiasi classe", "my-orders": "I miei ordini", sell: "Vendi",
    groups: "Gruppi d'acquisto", results: "Annunci", none: "Nessun annuncio trovato.", more: "Altri annunci",
    service: "Servizio", left: "{n} disponibili", "sold-out": "Esaurito", "you-hold": "hai {amount}",
    "per-unit": "al pezzo", "not-now": "Non ordinabile ora",
  },
  en: {
    title: "Market", intro: "Goods and services from the federation's providers, paid with your credits.",
    search: "Search", words: "Words of the title", category: "Category", "any-category": "All categories",
    "pay-with": "Pay with", "any-class": "Any class", "my-orders": "My orders", sell: "Sell",
    groups: "Purchase groups", results: "Listings", none: "No listing found.", more: "More listings",
    service: "Service", left: "{n} left", "sold-out": "Sold out", "you-hold": "you hold {amount}",
    "per-unit": "a unit", "not-now": "Not orderable now",
  },
});

const PAGE = 50;
const EMPTY_PAGES = 5;   // a filtered page may come back empty with a `next` (docs/api-contract.md, Pages)

const PAGES = {
  listing: () => import("./market-listing.js"),
  orders: () => import("./market-orders.js"),
  order: () => import("./market-orders.js"),
  sell: () => import("./market-sell.js"),
};

export async function render(main, route) {
  const page = PAGES[route.parts[1]];
  if (page) return (await page()).render(main, route);
  return renderSearch(main, route);
}

/** Listings of the filters, following `next` past empty pages; {listings, next}. */
async function search(filters, after) {
  let listings = [];
  let next = after;
  for (let i = 0; i < EMPTY_PAGES && listings.length === 0; i++) {
    const answer = await get("/v1/market/listings", { ...filters, status: "active", limit: PAGE, after: next });
    listings = answer.listings;
    next = answer.next;
    if (!next) break;
  }
  return { listings, next };
}

async function renderSearch(main, route) {
  const q = route.query;
  const filters = { words: (q.get("q") || "").trim(), category: q.get("category") || "", class: q.get("class") || "" };
  const [classes, me, sample] = await Promise.all([loadClasses(), whoAmI(), get("/v1/market/listings", { status: "active", limit: 200 })]);
  const categories = new Set(sample.listings.map((l) => l.category));
  for (const c of classes.values()) for (const category of c.categories) categories.add(category);
  if (filters.category) categories.add(filters.category);
  const held = me ? [...me.balances.entries()].filter(([, amount]) => amount > 0n).map(([id]) => id) : [];

  const words = h("input", { id: "market-words", type: "search", name: "q", value: filters.words, maxlength: "80", autocomplete: "off" });
  const category = h("select", { id: "market-category", name: "category" },
    h("option", { value: "" }, t("any-category")),
    [...categories].sort((a, b) => categoryName(a).localeCompare(categoryName(b))).map((c) =>
      h("option", { value: c, selected: c === filters.category }, categoryName(c))));
  const payWith = h("select", { id: "market-class", name: "class" },
    h("option", { value: "" }, t("any-class")),
    held.map((id) => h("option", { value: id, selected: id === filters.class },
      `${classLabel(classes, id)} (${formatAmount(me.balances.get(id), decimalsOf(classes, id))})`)));
  const form = h("form", { class: "card search", role: "search", onsubmit: (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (words.value.trim()) params.set("q", words.value.trim());
    if (category.value) params.set("category", category.value);
    if (payWith.value) params.set("class", payWith.value);
    go(`#/market${params.toString() ? `?${params}` : ""}`);
  } },
  h("div", { class: "fields" },
    h("div", {}, h("label", { for: "market-words" }, t("words")), words),
    h("div", {}, h("label", { for: "market-category" }, t("category")), category),
    held.length ? h("div", {}, h("label", { for: "market-class" }, t("pay-with")), payWith) : null),
  h("button", { type: "submit" }, t("search")));

  const list = h("ul", { class: "plain listings", "aria-labelledby": "market-results" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, t("more"));
  const empty = h("p", { class: "muted", hidden: true }, t("none"));
  let cursor = null;
  async function load() {
    more.disabled = true;
    const { listings, next } = await search(filters, cursor);
    for (const listing of listings) list.append(listingItem(listing, classes, me, filters.class));
    cursor = next;
    more.hidden = !next;
    more.disabled = false;
    empty.hidden = list.children.length > 0;
  }
  more.addEventListener("click", load);

  mount(main,
    h("h1", {}, t("title")),
    h("p", { class: "muted" }, t("intro")),
    h("nav", { class: "row subnav", "aria-label": t("title") },
      h("a", { class: "button secondary", href: "#/market/orders" }, t("my-orders")),
      h("a", { class: "button secondary", href: "#/market/sell" }, t("sell")),
      h("a", { class: "button secondary", href: "#/groups" }, t("groups"))),
    form,
    h("h2", { id: "market-results" }, t("results")),
    list, empty, more);
  await load();
}

/** One listing in the results: its title (the link), category, delivery, stock and each price. */
function listingItem(listing, classes, me, chosenClass) {
  const stock = listing.quantity === null ? t("service") : (listing.quantity > 0 ? t("left", { n: listing.quantity }) : t("sold-out"));
  const prices = chosenClass ? listing.prices.filter((p) => p.class === chosenClass) : listing.prices;
  return h("li", { class: "card listing" },
    h("h3", {}, h("a", { href: `#/market/listing/${listing.id}` }, listing.title)),
    h("p", { class: "row" },
      h("span", { class: "badge" }, categoryName(listing.category)),
      h("span", { class: "badge" }, deliveryName(listing.delivery)),
      h("span", { class: "badge" }, stock),
      listing.orderable ? null : h("span", { class: "badge bad" }, t("not-now"))),
    h("ul", { class: "plain prices", "aria-label": t("per-unit") }, prices.map((p) => {
      const mine = me && me.balances.get(p.class);
      return h("li", { class: mine ? "held" : "" }, money(classes, p.class, p.unit_price), " ",
        h("span", { class: "muted" }, t("per-unit")),
        mine ? h("span", { class: "badge good" }, t("you-hold", { amount: formatAmount(mine, decimalsOf(classes, p.class)) })) : null);
    })));
}
