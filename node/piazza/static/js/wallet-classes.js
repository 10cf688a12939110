// Credit classes as a resident reads them: the class's name, and its rules (FORMAT.md §6.3) in plain
// words: where it can be spent, who may hold it, until when; soonest expiry first, and a warning when
// credits expire within WARN_DAYS (docs/piazza.md, "The wallet").
import { forgetClasses, loadClasses } from "./piazza-classes.js";
import { translator, formatDate } from "./i18n.js";

export const WARN_DAYS = 30;
const DAY_MS = 86_400_000;

const t = translator({
  it: {
    "spend-only": "Si spende solo presso i fornitori accreditati",
    "p2p": "Si spende presso i fornitori accreditati e si può anche trasferire ad altre persone",
    "for-categories": "per {list}", "for-anything": "per qualsiasi acquisto",
    "who": "Riservato a chi è: {list}",
    "until": "Valido fino al {date}", "no-expiry": "Non scade", "expired": "Scaduto il {date}",
    "from": "Valido dal {date}",
    "expires-soon": "Scade tra {days} giorni, il {date}: spendilo prima.",
    "expires-today": "Scade oggi, il {date}: spendilo subito.",
    "expires-tomorrow": "Scade domani, il {date}: spendilo subito.",
    "expired-warn": "Questi crediti sono scaduti il {date}: non si possono più spendere.",
    "voucher": "A buoni da {value} ciascuno",
    "kind-welfare": "welfare aziendale", "kind-purchase_group": "gruppo d'acquisto", "kind-virtue": "crediti di virtù",
    "kind-community": "credito di comunità",
    "cat-food": "alimentari", "cat-household": "casa", "cat-health": "salute", "cat-culture": "cultura",
    "cat-education": "istruzione", "cat-transport": "trasporti", "cat-groceries": "spesa",
    "attr-employee": "dipendente di {value}", "attr-resident": "residente a {value}", "attr-member": "socio di {value}",
    "attr-age": "con età {value}", "and": " e ",
  },
  en: {
    "spend-only": "Spent only at accredited providers",
    "p2p": "Spent at accredited providers, and can also be sent to other people",
    "for-categories": "for {list}", "for-anything": "for any purchase",
    "who": "Only for those who are: {list}",
    "until": "Valid until {date}", "no-expiry": "Does not expire", "expired": "Expired on {date}",
    "from": "Valid from {date}",
    "expires-soon": "Expires in {days} days, on {date}: spend it before then.",
    "expires-today": "Expires today, {date}: spend it now.",
    "expires-tomorrow": "Expires tomorrow, {date}: spend it now.",
    "expired-warn": "These credits expired on {date}: they can no longer be spent.",
    "voucher": "In vouchers of {value} each",
    "kind-welfare": "company welfare", "kind-purchase_group": "purchase group", "kind-virtue": "virtue credits",
    "kind-community": "community credit",
    "cat-food": "food", "cat-household": "household", "cat-health": "health", "cat-culture": "culture",
    "cat-education": "education", "cat-transport": "transport", "cat-groceries": "groceries",
    "attr-employee": "employee of {value}", "attr-resident": "resident of {value}", "attr-member": "member of {value}",
    "attr-age": "aged {value}", "and": " and ",
  },
});

/** The class record (as /v1/classes/{id} gives it), or null when the node has no such class. */
export async function classInfo(id) {
  const known = await loadClasses();
  if (!known.has(id)) {   // created since the list was read: read it again
    forgetClasses();
    return (await loadClasses()).get(id) || null;
  }
  return known.get(id);
}

/** Every class on the chain, by name. */
export async function allClasses() {
  return [...(await loadClasses()).values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A category id in words ("food" → "alimentari"); an unknown one as it is. */
export function categoryName(category) {
  const key = `cat-${category}`;
  const text = t(key);
  return text === key ? category : text;
}

function kindName(kind) {
  const key = `kind-${kind}`;
  const text = t(key);
  return text === key ? kind : text;
}

function attributeName(attribute) {
  const [kind, value = ""] = attribute.split(":");
  const key = `attr-${kind}`;
  const text = t(key, { value });
  return text === key ? attribute : text;
}

function list(items) {
  if (items.length < 2) return items.join("");
  return items.slice(0, -1).join(", ") + t("and") + items[items.length - 1];
}

/** Whole calendar days from the day of `fromMs` to the day of `toMs`, in this device's time zone. */
function calendarDays(fromMs, toMs) {
  const day = (ms) => { const d = new Date(ms); return Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()); };
  return Math.round((day(toMs) - day(fromMs)) / DAY_MS);
}

/** Soonest expiry first; classes that never expire last; then by name (FORMAT.md §6.3). */
export function expiryOrder(a, b) {
  const ua = a.valid_until_ms ?? Infinity;
  const ub = b.valid_until_ms ?? Infinity;
  if (ua !== ub) return ua < ub ? -1 : 1;
  return a.name.localeCompare(b.name);
}

/**
 * The class's rules as sentences: {kind, where, who, when, warning: {level, text} | null}.
 * `nowMs` is the chain's time (the head block's), not this device's clock.
 * `format(minor)` writes an amount of the class (for a voucher's face value).
 */
export function rulesInWords(c, nowMs, format = String) {
  const categories = c.categories.map(categoryName);
  const where = [
    c.transferability === "spend_only" ? t("spend-only") : t("p2p"),
    categories.length ? t("for-categories", { list: list(categories) }) : t("for-anything"),
  ].join(" ") + ".";
  const who = c.eligibility.length ? t("who", { list: list(c.eligibility.map(attributeName)) }) + "." : null;
  const voucher = c.face_value ? t("voucher", { value: format(c.face_value) }) + "." : null;
  let when = t("no-expiry");
  let warning = null;
  if (c.valid_until_ms) {
    const date = formatDate(c.valid_until_ms);
    const left = c.valid_until_ms - nowMs;
    if (c.expired || left <= 0) {
      when = t("expired", { date });
      warning = { level: "bad", text: t("expired-warn", { date }) };
    } else {
      when = t("until", { date });
      if (left <= WARN_DAYS * DAY_MS) {
        const days = calendarDays(nowMs, c.valid_until_ms);
        const text = days === 0 ? t("expires-today", { date }) : days === 1 ? t("expires-tomorrow", { date })
          : t("expires-soon", { days, date });
        warning = { level: "warn", text };
      }
    }
  }
  if (c.valid_from_ms && c.valid_from_ms > nowMs) when = `${t("from", { date: formatDate(c.valid_from_ms) })} · ${when}`;
  return { kind: kindName(c.kind), where, who, voucher, when, warning };
}
