// What the explorer's views share: links to its pages, amounts in their class's decimals, lists of
// facts, tables, pagers and the "not found" page (docs/piazza.md, "The explorer").
import { h, mount } from "../dom.js";
import { ApiError, get } from "../api.js";
import { formatAmount, lang, locale, translator } from "../i18n.js";
import { loadClasses } from "../piazza-classes.js";

export const t = translator({
  it: {
    "not-found": "Non trovato", "bad-input": "Non valido", yes: "sì", no: "no", none: "nessuno", pages: "Pagine",
    newer: "← Più recenti", older: "Più vecchi →", first: "← Dall'inizio", following: "Successivi →", ok: "riuscita", failed: "non riuscita", minor: "unità minime",
    "this-node": "questo nodo", block: "Blocco {height}",
  },
  en: {
    "not-found": "Not found", "bad-input": "Not valid", yes: "yes", no: "no", none: "none", pages: "Pages",
    newer: "← Newer", older: "Older →", first: "← From the start", following: "Next →", ok: "succeeded", failed: "failed", minor: "minor units",
    "this-node": "this node", block: "Block {height}",
  },
});

/** The explorer's routes (docs/piazza.md lists them; the piazza links to the same). */
export const href = {
  block: (height) => `#/block/${height}`,
  tx: (hash) => `#/tx/${hash}`,
  account: (address) => `#/account/${address}`,
  identity: (id) => `#/identity/${id}`,
  class: (id) => `#/class/${encodeURIComponent(id)}`,
  listing: (id) => `#/listing/${id}`,
  ballot: (id) => `#/ballot/${id}`,
};

/** "icqq2st57x…snpnnje": long identifiers shortened where a table has no room; the link keeps the whole. */
export function short(text, head = 10, tail = 6) {
  const s = String(text);
  return s.length > head + tail + 1 ? `${s.slice(0, head)}…${s.slice(-tail)}` : s;
}

function idLink(target, text, full) {
  return h("a", { href: target, class: "mono", title: full ? null : text }, full ? text : short(text));
}

export const accountLink = (address, full = false) => idLink(href.account(address), address, full);
export const txLink = (hash, full = false) => idLink(href.tx(hash), hash, full);
export const identityLink = (id, full = false) => idLink(href.identity(id), id, full);
export const listingLink = (id, full = false) => idLink(href.listing(id), id, full);
export const ballotLink = (id, full = false) => idLink(href.ballot(id), id, full);
export const blockLink = (height) => h("a", { href: href.block(height) }, String(height));
export const classLink = (id, name) => h("a", { href: href.class(id) }, name || id);
export const mono = (text) => h("span", { class: "mono" }, text);

/** A transaction type ("market.review") that may break after its module's name on a narrow screen. */
export function typeName(type) {
  const dot = type.indexOf(".");
  return dot < 0 ? [type] : [type.slice(0, dot + 1), h("wbr"), type.slice(dot + 1)];
}

/** The credit classes by id (their decimals say how to write an amount); asked again after 30 s. */
export function classes() {
  return loadClasses(30_000);
}

/** An amount of a class as people write it: "1.234,56 demo-eur" (the class's decimals; minor units if unknown). */
export function amountText(minor, classId, known) {
  const cls = known && known.get(classId);
  return cls ? `${formatAmount(minor, cls.decimals)} ${classId}` : `${minor} ${t("minor")} ${classId || ""}`.trim();
}

/**
 * An amount as an element: the number never breaks, the class id after it may wrap to the next line;
 * `unit: false` leaves the class out where the page or the row already names it.
 */
export function amount(minor, classId, known, { unit = true } = {}) {
  const cls = known && known.get(classId);
  const number = cls ? formatAmount(minor, cls.decimals) : String(minor);
  const name = cls ? classId : `${t("minor")} ${classId || ""}`.trim();
  return h("span", { class: "money" }, h("span", { class: "amount" }, number), unit || !cls ? [" ", h("span", { class: "unit" }, name)] : null);
}

/** A block time with its seconds: the explorer's readers compare blocks a second apart. */
export function moment(ms) {
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" }).format(new Date(Number(ms)));
}

/** A block time in a table's narrow column: the time alone when it is today, else a short date too. */
export function clock(ms, now = Date.now()) {
  const date = new Date(Number(ms));
  const today = date.toDateString() === new Date(now).toDateString();
  const style = today ? { timeStyle: "medium" } : { dateStyle: "short", timeStyle: "medium" };
  return new Intl.DateTimeFormat(locale, style).format(date);
}

/** "3 s ago", "2 min ago": how long before now. */
export function ago(ms, now = Date.now()) {
  const seconds = Math.round((Number(ms) - now) / 1000);
  const format = new Intl.RelativeTimeFormat(lang === "it" ? "it" : "en", { numeric: "auto", style: "short" });
  if (Math.abs(seconds) < 60) return format.format(seconds, "second");
  if (Math.abs(seconds) < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (Math.abs(seconds) < 86_400) return format.format(Math.round(seconds / 3600), "hour");
  return format.format(Math.round(seconds / 86_400), "day");
}

/** A duration in days (a window of so many milliseconds). */
export function days(ms) {
  const value = Number(ms) / 86_400_000;
  const n = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 }).format(value);
  return lang === "it" ? `${n} ${value === 1 ? "giorno" : "giorni"}` : `${n} ${value === 1 ? "day" : "days"}`;
}

export function permille(value) {
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(Number(value) / 1000);
}

/** words({it: {group: {value: word}}, en: …}) → (group, value) → the word in the page's language, else the value. */
export function vocabulary(words) {
  return (group, value) => ((words[lang] || words.it)[group] || {})[value] ?? value;
}

export function yesNo(value) {
  return value ? t("yes") : t("no");
}

/** A card of facts: [[label, value], …]; a null row is left out. */
export function facts(rows, attrs = {}) {
  return h("dl", { class: "facts card", ...attrs },
    rows.filter(Boolean).map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value ?? "—"))));
}

/**
 * A table with a caption and column headers; `rows` are arrays of cells. It sits in a region that
 * scrolls sideways on a narrow screen, reachable by keyboard (a focusable region with its caption as name).
 */
export function table(caption, headers, rows, attrs = {}) {
  return h("div", { class: "scroll", role: "region", "aria-label": caption, tabindex: "0" },
    h("table", attrs,
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
      h("tbody", {}, rows.map((cells) => row(cells)))));
}

export function row(cells, attrs = {}) {
  return h("tr", attrs, cells.map((cell) => h("td", {}, cell)));
}

/**
 * Links to the newer and older page of a list ({newer, older}: hashes or null); `ordered` lists (in id or
 * address order, not by time) say "from the start" and "next" instead.
 */
export function pager({ newer = null, older = null, ordered = false }) {
  if (!newer && !older) return null;
  return h("nav", { class: "pager", "aria-label": t("pages") },
    newer ? h("a", { href: newer, rel: "prev", class: "button secondary" }, t(ordered ? "first" : "newer")) : h("span"),
    older ? h("a", { href: older, rel: "next", class: "button secondary" }, t(ordered ? "following" : "older")) : h("span"));
}

export function resultBadge(result) {
  const ok = result.code === "OK";
  return h("span", { class: ok ? "badge good" : "badge bad", title: result.message }, ok ? t("ok") : `${t("failed")}: ${result.code}`);
}

export function empty(text) {
  return h("p", { class: "card muted" }, text);
}

/** The page for something the chain does not have (or a query that names nothing). */
export function showNotFound(main, message, heading = t("not-found")) {
  mount(main, h("h1", {}, heading), h("p", { class: "notice bad", id: "not-found" }, message));
}

/**
 * `load()`, or null after showing `message` when the node says there is no such thing (404) or the
 * name is not one (400): a reader who followed a stale link or mistyped sees why, not an error.
 */
export async function orNotFound(main, load, message) {
  try {
    return await load();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 400)) {
      showNotFound(main, message, error.status === 400 ? t("bad-input") : t("not-found"));
      return null;
    }
    throw error;
  }
}

/** Whether GET `path` finds something (false on 404 or a malformed name). */
export async function exists(path) {
  try {
    await get(path);
    return true;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 400)) return false;
    throw error;
  }
}
