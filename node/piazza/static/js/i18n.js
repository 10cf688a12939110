// Words and numbers for people: Italian first, English when the browser prefers it (docs/piazza.md).
// Each view keeps its own strings ({it: {...}, en: {...}}) and makes its `t` with translator().

const SUPPORTED = ["it", "en"];

/** The page's language: the first of the browser's languages we speak, else Italian. */
export function pickLanguage(preferred = navigator.languages || [navigator.language || "it"]) {
  const stored = localStorage.getItem("incoop.lang");
  if (SUPPORTED.includes(stored)) return stored;
  for (const tag of preferred) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (SUPPORTED.includes(base)) return base;
  }
  return "it";
}

export const lang = pickLanguage();
export const locale = lang === "it" ? "it-IT" : "en-GB";

export function setLanguage(code) {
  localStorage.setItem("incoop.lang", code);
  location.reload();
}

/** t(key, {name: value}): the string for `key` in the page's language (Italian when missing). */
export function translator(strings) {
  return (key, params = {}) => {
    const text = (strings[lang] && strings[lang][key]) ?? strings.it[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
  };
}

/**
 * An amount in minor units as people write it: "1.234,56" in Italian, "1,234.56" in English.
 * Exact for every u63 (BigInt arithmetic; never a float).
 */
export function formatAmount(minor, decimals = 2) {
  const value = BigInt(minor);
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals);
  const grouped = new Intl.NumberFormat(locale, { useGrouping: true }).format(BigInt(whole));
  const separator = lang === "it" ? "," : ".";
  return (negative ? "−" : "") + grouped + (decimals > 0 ? separator + fraction : "");
}

/**
 * Text typed by a person ("12,50", "12.5", "1.234,56" in Italian) to minor units (a BigInt), or null.
 * In Italian the comma is the decimal mark and dots group thousands; in English the reverse.
 */
export function parseAmount(text, decimals = 2) {
  let s = String(text).trim().replace(/\s/g, "");
  const [group, mark] = lang === "it" ? [".", ","] : [",", "."];
  s = s.split(group).join("");
  if (lang === "it" && !s.includes(",") && /^\d+\.\d+$/.test(s)) s = s.replace(".", ",");  // "12.5" typed on a phone
  const parts = s.split(mark);
  if (parts.length > 2 || !/^\d+$/.test(parts[0] || "") || (parts[1] !== undefined && !/^\d*$/.test(parts[1]))) return null;
  const fraction = parts[1] || "";
  if (fraction.length > decimals) return null;
  return BigInt(parts[0] + fraction.padEnd(decimals, "0"));
}

/** A block time (ms since the epoch) as a date and time in the page's language. */
export function formatTime(ms) {
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(Number(ms)));
}

export function formatDate(ms) {
  return new Intl.DateTimeFormat(locale, { dateStyle: "long" }).format(new Date(Number(ms)));
}
