// The marketplace's listings in id order, a page at a time, optionally of one category, class or status
// (#/listings, #/listings?category=food&class=ID&status=active&after=ID).
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import { amount, classes, empty, orNotFound, pager } from "./common.js";
import { listingStatus } from "./listing.js";

export const PAGE = 25;
const FILTERS = ["category", "class", "status"];

const t = translator({
  it: {
    title: "Annunci", category: "Categoria", prices: "Prezzi",
    none: "Nessun annuncio.", only: "Solo: {filter}", all: "Tutti gli annunci", bad: "Filtro non valido: «{query}».",
  },
  en: {
    title: "Listings", category: "Category", prices: "Prices",
    none: "No listing.", only: "Only: {filter}", all: "All listings", bad: "Not a valid filter: “{query}”.",
  },
});

export async function render(main, route) {
  const filter = Object.fromEntries(FILTERS.map((name) => [name, route.query.get(name)]).filter(([, v]) => v));
  const after = route.query.get("after");
  const found = await orNotFound(main, () => Promise.all([get("/v1/market/listings", { ...filter, limit: PAGE, after }), classes()]),
    t("bad", { query: route.query.toString() }));
  if (!found) return;
  const [page, known] = found;
  const base = new URLSearchParams(filter);
  const next = new URLSearchParams(filter);
  if (page.next) next.set("after", page.next);
  const shown = Object.values(filter).join(", ");
  mount(main,
    h("h1", {}, t("title")),
    shown ? h("p", { class: "row" }, h("span", { class: "badge" }, t("only", { filter: shown })), h("a", { href: "#/listings" }, t("all"))) : null,
    // A list, not a table: a title, its category and its prices fit a phone's width one under the other.
    page.listings.length === 0 ? empty(t("none")) : h("ul", { class: "plain cards", id: "listings" }, page.listings.map((l) =>
      h("li", { class: "card" },
        h("div", { class: "spread" }, h("a", { href: `#/listing/${l.id}`, class: "title" }, l.title), listingStatus(l)),
        h("div", { class: "row muted" }, t("category"), ": ",
          h("a", { href: `#/listings?category=${encodeURIComponent(l.category)}` }, l.category)),
        h("ul", { class: "plain inline", "aria-label": t("prices") }, l.prices.map((p) => h("li", {}, amount(p.unit_price, p.class, known))))))),
    pager({ newer: after ? `#/listings${base.size ? `?${base}` : ""}` : null, older: page.next ? `#/listings?${next}` : null, ordered: true }));
}
