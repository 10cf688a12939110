// The credit classes as the marketplace, the purchase groups and the agora show amounts: every amount
// is minor units of one class, written with that class's decimals (FORMAT.md §6.3; docs/piazza.md).
import { h } from "./dom.js";
import { get } from "./api.js";
import { formatAmount, parseAmount } from "./i18n.js";

const FRESH_MS = 60_000;
let cached = null;   // {at, promise}

/** Every class by id ({id, name, decimals, kind, categories, …} of GET /v1/classes), read again when the copy
 * is older than `freshMs` (a minute by default). */
export function loadClasses(freshMs = FRESH_MS) {
  if (cached === null || Date.now() - cached.at > freshMs) {
    const promise = get("/v1/classes").then((answer) => new Map(answer.classes.map((c) => [c.id, c])));
    promise.catch(() => { cached = null; });
    cached = { at: Date.now(), promise };
  }
  return cached.promise;
}

/** Read the list again at the next loadClasses (a class was created since it was read). */
export function forgetClasses() {
  cached = null;
}

export function decimalsOf(classes, classId) {
  const known = classes.get(classId);
  return known ? Number(known.decimals) : 0;
}

export function classLabel(classes, classId) {
  const known = classes.get(classId);
  return known ? known.name : classId;
}

/** "12,50" in the class's decimals (a string). */
export function amountText(classes, classId, minor) {
  return formatAmount(minor, decimalsOf(classes, classId));
}

/** An amount with the name of its class, as one element: "12,50 GAS Trento purchase credits". */
export function money(classes, classId, minor) {
  return h("span", { class: "money" },
    h("span", { class: "amount" }, amountText(classes, classId, minor)), " ",
    h("span", { class: "unit" }, classLabel(classes, classId)));
}

/** What a person typed as an amount of this class, in minor units (BigInt), or null if it is not one. */
export function parseIn(classes, classId, text) {
  return parseAmount(text, decimalsOf(classes, classId));
}
