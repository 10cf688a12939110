// The one search box in the header, and the page it opens (#/search?q=…): a height, a transaction
// hash, an address, an identity, a class, a listing or a ballot leads to its page; anything else is
// "not found", said plainly. The node tells what a text names in one request (/v1/search), so the page
// never probes route after route for 404s.
import { h, mount } from "../dom.js";
import { get } from "../api.js";
import { translator } from "../i18n.js";
import { href, showNotFound } from "./common.js";

const t = translator({
  it: {
    label: "Cerca nella catena", placeholder: "Altezza, hash, indirizzo ic…, id", submit: "Cerca",
    empty: "Scrivi che cosa cercare.", title: "Ricerca", nothing: "Nessun risultato per «{q}».",
    hint: "Si può cercare: l'altezza di un blocco, l'hash di una transazione (64 caratteri esadecimali), un indirizzo (ic…), l'id di un'identità, di un annuncio o di una votazione (32 caratteri esadecimali), l'id di una classe di crediti.",
    found: "Trovato: apro la pagina…", several: "«{q}» può essere:",
    block: "Blocco", tx: "Transazione", account: "Conto", identity: "Identità", class: "Classe", listing: "Annuncio", ballot: "Votazione",
  },
  en: {
    label: "Search the chain", placeholder: "Height, hash, ic… address, id", submit: "Search",
    empty: "Type what to look for.", title: "Search", nothing: "Nothing found for “{q}”.",
    hint: "You can search for: a block height, a transaction hash (64 hex characters), an address (ic…), the id of an identity, a listing or a ballot (32 hex characters), the id of a credit class.",
    found: "Found: opening the page…", several: "“{q}” can be:",
    block: "Block", tx: "Transaction", account: "Account", identity: "Identity", class: "Class", listing: "Listing", ballot: "Ballot",
  },
});

/** Build the header's form (form#search): a labelled search field and its button; Enter submits. */
export function mountSearch(form) {
  const input = h("input", {
    id: "search-q", name: "q", type: "search", autocomplete: "off", spellcheck: "false", autocapitalize: "none",
    enterkeyhint: "search", placeholder: t("placeholder"),
  });
  mount(form, h("label", { for: "search-q", class: "visually-hidden" }, t("label")), input,
    h("button", { type: "submit" }, t("submit")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (q) location.hash = `#/search?q=${encodeURIComponent(q)}`;
  });
}

const QUERY = /^[0-9A-Za-z-]{1,64}$/;  // what /v1/search takes: nothing else can name anything

/** The pages `query` leads to (hashes), asked of the node in one request (/v1/search); [] for none. */
export async function resolve(query) {
  const q = query.trim();
  if (!QUERY.test(q)) return [];
  const { matches } = await get("/v1/search", { q });
  return matches.map((m) => ({ kind: m.kind, id: m.id, hash: href[m.kind](m.id) }));
}

export async function render(main, route) {
  const q = (route.query.get("q") || "").trim();
  const field = document.getElementById("search-q");
  if (field && field.value.trim() !== q) field.value = q;
  if (!q) return void showNotFound(main, t("empty"), t("title"));
  const targets = await resolve(q);
  if (targets.length === 0) {
    showNotFound(main, t("nothing", { q }), t("title"));
    main.append(h("p", { class: "muted" }, t("hint")));
    return;
  }
  if (targets.length > 1) {
    // Digits can be both a height and a class id: let the reader choose.
    mount(main, h("h1", {}, t("title")), h("p", {}, t("several", { q })),
      h("ul", { class: "plain card", id: "search-results" }, targets.map((x) => h("li", {}, h("a", { href: x.hash }, `${t(x.kind)} ${x.id}`)))));
    return;
  }
  mount(main, h("p", { class: "loading" }, t("found")));
  location.replace(`${location.pathname}${location.search}${targets[0].hash}`);
}
