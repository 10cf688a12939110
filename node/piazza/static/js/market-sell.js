// Selling (FORMAT.md §6.5.2): a provider's own listings, each linking to its page where it is paused,
// resumed, withdrawn or updated, and the form that publishes a new one (market.list). Whether the
// provider is accredited for the category and the classes is the ledger's to check (NOT_ACCREDITED).
import { h, mount } from "./dom.js";
import { get } from "./api.js";
import { translator } from "./i18n.js";
import { parseAddress, toHex } from "./codec.js";
import { loadClasses, amountText, classLabel, parseIn } from "./piazza-classes.js";
import { whoAmI, needWallet } from "./piazza-account.js";
import { transact, notice, report, statusSlot } from "./piazza-act.js";
import { newId } from "./piazza-links.js";
import { categoryName, deliveryName, listingStatusName, DAY_MS } from "./market-words.js";

const t = translator({
  it: {
    title: "Vendi", back: "Torna al mercato", "sell-wallet": "vendere", mine: "I tuoi annunci", none: "Non hai annunci.",
    orders: "Ordini ricevuti", publish: "Pubblica un annuncio", "title-field": "Titolo", description: "Descrizione",
    category: "Categoria", "category-help": "Lettere minuscole, cifre e trattini (es. food, health).",
    kind: "Che cosa offri", goods: "Beni, con magazzino", service: "Un servizio, senza magazzino", stock: "Pezzi disponibili",
    delivery: "Consegna", window: "Giorni per confermare o contestare", "window-help": "Da 1 a 90: quanto tempo ha il compratore, dopo che hai accettato.",
    "valid-until": "Ordinabile fino al (facoltativo)", prices: "Prezzi al pezzo", "price-in": "Prezzo in {name}",
    "prices-help": "Compila solo le classi che accetti (almeno una, al massimo otto).", arbiter: "Arbitro delle contestazioni",
    "publish-button": "Pubblica", published: "Annuncio pubblicato: {title}.", "see-it": "Vedi l'annuncio",
    "bad-title": "Il titolo deve avere da 1 a 80 byte.", "bad-description": "La descrizione può avere al massimo 500 byte.",
    "bad-category": "La categoria deve essere di lettere minuscole, cifre e trattini, al massimo 32.",
    "bad-stock": "Scrivi i pezzi disponibili: un numero intero da 0 a 1.000.000.000.", "bad-window": "I giorni devono essere da 1 a 90.",
    "bad-price": "Il prezzo in {name} non è un importo valido.", "no-price": "Serve almeno un prezzo.", "many-prices": "Al massimo otto prezzi.",
    "no-arbiter": "La federazione non ha ancora arbitri: non si può pubblicare.", "bad-date": "La data non è valida.",
    stock_n: "{n} pezzi", service_short: "servizio",
  },
  en: {
    title: "Sell", back: "Back to the market", "sell-wallet": "sell", mine: "Your listings", none: "You have no listing.",
    orders: "Orders received", publish: "Publish a listing", "title-field": "Title", description: "Description",
    category: "Category", "category-help": "Lower-case letters, digits and dashes (e.g. food, health).",
    kind: "What you offer", goods: "Goods, with stock", service: "A service, no stock", stock: "Units in stock",
    delivery: "Delivery", window: "Days to confirm or dispute", "window-help": "1 to 90: how long the buyer has once you accepted.",
    "valid-until": "Orderable until (optional)", prices: "Prices per unit", "price-in": "Price in {name}",
    "prices-help": "Fill in only the classes you accept (at least one, at most eight).", arbiter: "Arbiter of disputes",
    "publish-button": "Publish", published: "Listing published: {title}.", "see-it": "See the listing",
    "bad-title": "The title must be 1 to 80 bytes.", "bad-description": "The description may be at most 500 bytes.",
    "bad-category": "The category must be lower-case letters, digits and dashes, at most 32.",
    "bad-stock": "Write the units in stock: a whole number from 0 to 1,000,000,000.", "bad-window": "The days must be from 1 to 90.",
    "bad-price": "The price in {name} is not a valid amount.", "no-price": "At least one price is needed.", "many-prices": "At most eight prices.",
    "no-arbiter": "The federation has no arbiter yet: nothing can be published.", "bad-date": "The date is not valid.",
    stock_n: "{n} units", service_short: "service",
  },
});

const CATEGORY = /^[a-z0-9-]{1,32}$/;
const MAX_PRICES = 8;
const bytesOf = (text) => new TextEncoder().encode(text).length;

export async function render(main, route) {
  const [classes, me] = await Promise.all([loadClasses(), whoAmI()]);
  if (!me) {
    mount(main, h("h1", {}, t("title")), needWallet(t("sell-wallet")));
    return;
  }
  const [mine, arbiters, sample] = await Promise.all([
    get("/v1/market/listings", { provider: me.address, limit: 200 }),
    get("/v1/market/arbiters", { limit: 200 }),
    get("/v1/market/listings", { limit: 200 }),
  ]);
  const again = async (shown) => { await render(main, route); report(main, shown); };
  const categories = new Set(sample.listings.map((l) => l.category));
  for (const c of classes.values()) for (const category of c.categories) categories.add(category);
  mount(main,
    h("p", {}, h("a", { href: "#/market" }, `← ${t("back")}`)),
    h("h1", {}, t("title")),
    h("p", {}, h("a", { href: "#/market/orders" }, t("orders"))),
    h("h2", {}, t("mine")),
    mine.listings.length === 0 ? h("p", { class: "muted" }, t("none")) : h("ul", { class: "plain" }, mine.listings.map((l) => h("li", { class: "spread" },
      h("a", { href: `#/market/listing/${l.id}` }, l.title),
      h("span", { class: "row" },
        h("span", { class: `badge ${l.status === "active" ? "good" : ""}` }, listingStatusName(l.status)),
        h("span", { class: "muted" }, [l.quantity === null ? t("service_short") : t("stock_n", { n: l.quantity }),
          ...l.prices.map((p) => ` · ${amountText(classes, p.class, p.unit_price)} ${classLabel(classes, p.class)}`)].join("")))))),
    publishForm(classes, arbiters.arbiters, categories, again));
}

function field(id, label, control, help = null) {
  if (help) control.setAttribute("aria-describedby", `${id}-help`);
  return [h("label", { for: id }, label), control, help ? h("p", { class: "field-help", id: `${id}-help` }, help) : null];
}

function publishForm(classes, arbiters, categories, again) {
  const heading = h("h2", { id: "publish-title" }, t("publish"));
  if (arbiters.length === 0) return [heading, h("p", { class: "notice warn" }, t("no-arbiter"))];
  const title = h("input", { id: "sell-title", maxlength: "80", required: true, autocomplete: "off" });
  const description = h("textarea", { id: "sell-description", maxlength: "500" });
  const category = h("input", { id: "sell-category", list: "sell-categories", required: true, autocomplete: "off", pattern: "[a-z0-9\\-]{1,32}" });
  const known = h("datalist", { id: "sell-categories" }, [...categories].sort().map((c) => h("option", { value: c }, categoryName(c))));
  const goods = h("input", { type: "radio", name: "sell-kind", id: "sell-goods", value: "goods", checked: true });
  const service = h("input", { type: "radio", name: "sell-kind", id: "sell-service", value: "service" });
  const stock = h("input", { id: "sell-stock", type: "number", inputmode: "numeric", min: "0", max: "1000000000", step: "1", value: "1" });
  const stockField = h("div", {}, field("sell-stock", t("stock"), stock));
  for (const radio of [goods, service]) radio.addEventListener("change", () => { stockField.hidden = service.checked; });
  const delivery = h("select", { id: "sell-delivery" }, ["pickup", "delivery", "appointment"].map((d) => h("option", { value: d }, deliveryName(d))));
  const days = h("input", { id: "sell-window", type: "number", inputmode: "numeric", min: "1", max: "90", step: "1", value: "14" });
  const until = h("input", { id: "sell-until", type: "date" });
  const prices = [...classes.values()].sort((a, b) => a.id < b.id ? -1 : 1).map((c) => ({
    class: c.id, input: h("input", { id: `sell-price-${c.id}`, inputmode: "decimal", autocomplete: "off", "aria-describedby": "sell-prices-help" }),
  }));
  const arbiter = h("select", { id: "sell-arbiter" }, arbiters.map((a) => h("option", { value: a.address }, `${a.name} (${a.address.slice(0, 8)}…)`)));
  const slot = statusSlot();
  const button = h("button", { type: "submit" }, t("publish-button"));
  const refuse = (message, control) => { mount(slot, notice("bad", message)); slot.hidden = false; if (control) control.focus(); };

  const form = h("form", { class: "card", "aria-labelledby": "publish-title", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const name = title.value.trim();
    if (!name || bytesOf(name) > 80) return refuse(t("bad-title"), title);
    if (bytesOf(description.value) > 500) return refuse(t("bad-description"), description);
    if (!CATEGORY.test(category.value.trim())) return refuse(t("bad-category"), category);
    let quantity = null;
    if (goods.checked) {
      if (!/^\d+$/.test(stock.value.trim()) || Number(stock.value) > 1_000_000_000) return refuse(t("bad-stock"), stock);
      quantity = Number(stock.value);
    }
    const window = Number(days.value);
    if (!Number.isInteger(window) || window < 1 || window > 90) return refuse(t("bad-window"), days);
    let validUntil = 0;
    if (until.value) {
      const [y, m, d] = until.value.split("-").map(Number);
      validUntil = new Date(y, m - 1, d + 1).getTime();   // through the whole day chosen
      if (!Number.isFinite(validUntil)) return refuse(t("bad-date"), until);
    }
    const body = [];
    for (const p of prices) {
      if (!p.input.value.trim()) continue;
      const minor = parseIn(classes, p.class, p.input.value);
      if (minor === null || minor <= 0n) return refuse(t("bad-price", { name: classLabel(classes, p.class) }), p.input);
      body.push([p.class, minor]);
    }
    if (body.length === 0) return refuse(t("no-price"), prices[0] && prices[0].input);
    if (body.length > MAX_PRICES) return refuse(t("many-prices"));
    const listingId = newId();
    const result = await transact(slot, "market.list", [listingId, name, description.value, null, category.value.trim(), body,
      quantity, delivery.value, 0, validUntil, window * DAY_MS, parseAddress(arbiter.value)], button);
    if (result) {
      await again(notice("good", [t("published", { title: name }), " ",
        h("a", { href: `#/market/listing/${toHex(listingId)}` }, t("see-it"))], result.hash));
    }
  } },
  field("sell-title", t("title-field"), title),
  field("sell-description", t("description"), description),
  field("sell-category", t("category"), category, t("category-help")), known,
  h("fieldset", {}, h("legend", {}, t("kind")),
    h("div", { class: "choice" }, goods, h("label", { for: "sell-goods" }, t("goods"))),
    h("div", { class: "choice" }, service, h("label", { for: "sell-service" }, t("service")))),
  stockField,
  field("sell-delivery", t("delivery"), delivery),
  field("sell-window", t("window"), days, t("window-help")),
  field("sell-until", t("valid-until"), until),
  h("fieldset", {}, h("legend", {}, t("prices")),
    prices.map((p) => [h("label", { for: p.input.id }, t("price-in", { name: classLabel(classes, p.class) })), p.input]),
    h("p", { class: "field-help", id: "sell-prices-help" }, t("prices-help"))),
  field("sell-arbiter", t("arbiter"), arbiter),
  slot, button);
  return [heading, form];
}
