// Who an address is, in words: one of this browser's own keys, a name the person gave it when paying
// or sending (kept in this browser only), the issuer of a credit class the node describes; else a
// short form of the address (docs/piazza.md, "The wallet").
import { translator } from "./i18n.js";
import { listKeys } from "./keyring.js";

const BOOK = "incoop.names";
const MAX_NAME = 60;

const t = translator({
  it: { mine: "«{label}» (tuo)", issuer: "«{name}» (emittente)" },
  en: { mine: "“{label}” (yours)", issuer: "“{name}” (issuer)" },
});

/** "icaoqq…zznm": enough to tell two addresses apart at a glance, never to type one. */
export function shortAddress(address) {
  return address.length > 14 ? `${address.slice(0, 8)}…${address.slice(-4)}` : address;
}

function book() {
  try {
    const stored = JSON.parse(localStorage.getItem(BOOK) || "{}");
    return stored && typeof stored === "object" ? stored : {};
  } catch {
    return {};
  }
}

/** Keep `name` for `address` in this browser's address book (an empty name forgets it). */
export function rememberName(address, name) {
  const names = book();
  const clean = String(name || "").trim().slice(0, MAX_NAME);
  if (clean) names[address] = clean; else delete names[address];
  localStorage.setItem(BOOK, JSON.stringify(names));
}

/** The name the person gave `address`, or null. */
export function bookName(address) {
  return book()[address] || null;
}

/**
 * A resolver for one page: `names.of(address)` → {text, known}. `classes` are class records the
 * page already holds (their issuers get named after the class).
 */
export async function nameResolver(classes = []) {
  const own = new Map((await listKeys()).map((k) => [k.address, t("mine", { label: k.label })]));
  const issuers = new Map();
  for (const c of classes) if (c && !issuers.has(c.issuer)) issuers.set(c.issuer, t("issuer", { name: c.name }));
  const names = book();
  return {
    of(address) {
      if (!address) return { text: "", known: false };
      const text = own.get(address) || names[address] || issuers.get(address);
      return text ? { text, known: true } : { text: shortAddress(address), known: false };
    },
  };
}
