// Payment requests, the `incoop:` URI of FORMAT.md §20, parsed and formatted in the page by the rules
// of wallet/payment_request.py, check for check and in the same order, so that a request the CLI
// refuses is refused here too and one it formats parses here to the same fields (and back to the same
// text). A request carries no signature: the wallet shows it to the payer before signing anything.
//
//   incoop:<address>?chain=<chain_id>&class=<class_id>[&amount=<n>][&ref=<reference>][&category=<category>]

import { parseAddress, AddressError } from "./codec.js";
import { translator } from "./i18n.js";

export const SCHEME = "incoop";
export const MAX_URI_LEN = 1024;
export const MAX_REF_BYTES = 128;
export const MAX_AMOUNT = 2n ** 63n - 1n;
export const PARAMETERS = ["chain", "class", "amount", "ref", "category"];
const CHAIN_ID = /^[a-z0-9][a-z0-9-]{0,47}$/;   // genesis.document.CHAIN_ID_PATTERN
const CLASS_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;   // ledger.credits.CLASS_ID
const CATEGORY = /^[a-z0-9-]{1,32}$/;            // ledger.credit_rules.CATEGORY
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
const ALLOWED_RAW = /^[A-Za-z0-9\-._~!$'()*,;:@/?]$/;
const HEX2 = /^[0-9a-fA-F]{2}$/;
// What Python's str.strip() takes away: the characters for which str.isspace() holds.
const SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const AROUND = new RegExp(`^[${SPACE}]+|[${SPACE}]+$`, "g");
const pythonStrip = (text) => text.replace(AROUND, "");

const t = translator({
  it: {
    text: "Una richiesta di pagamento è un testo.",
    long: "La richiesta è più lunga di {max} caratteri.",
    scheme: "Non è una richiesta di pagamento: deve cominciare con «incoop:».",
    slashes: "Dopo «incoop:» non va «//»: l'indirizzo segue i due punti.",
    fragment: "Una richiesta di pagamento non contiene «#».",
    "no-address": "La richiesta non ha l'indirizzo di chi riceve il pagamento.",
    address: "Indirizzo non valido: {detail}",
    spaces: "Indirizzo non valido: ha degli spazi intorno.",
    "empty-param": "Parametro vuoto (una «&» di troppo).",
    "no-equals": "Il parametro «{name}» non ha «=valore».",
    unknown: "Parametro sconosciuto «{name}» (quelli noti: {known}).",
    twice: "Il parametro «{name}» compare più di una volta.",
    "empty-value": "Il parametro «{name}» è vuoto.",
    missing: "Manca il parametro «{name}».",
    percent: "Valore di «{name}» non valido: «%» deve essere seguito da due cifre esadecimali.",
    plus: "Valore di «{name}» non valido: «+» è ambiguo; scrivere %20 per uno spazio o %2B per un più.",
    unencoded: "Valore di «{name}» non valido: il carattere «{ch}» va codificato con «%».",
    utf8: "Valore di «{name}» non valido: i byte codificati non sono UTF-8.",
    "amount-digits": "Importo non valido: «{text}» non è un numero intero di centesimi (unità minime).",
    "amount-zero": "Importo non valido: «{text}» è zero o comincia con degli zeri.",
    "amount-big": "Importo non valido: più grande di {max}.",
    amount: "Importo non valido: deve essere un intero da 1 a {max}.",
    chain: "Catena non valida: «{value}».",
    class: "Classe di crediti non valida: «{value}».",
    category: "Categoria non valida: «{value}».",
    "ref-empty": "Riferimento non valido: è vuoto (va tolto).",
    "ref-long": "Riferimento non valido: più lungo di {max} byte in UTF-8.",
    "ref-text": "Riferimento non valido: non è un testo Unicode valido.",
    "ref-control": "Riferimento non valido: contiene un carattere di controllo.",
  },
  en: {
    text: "A payment request is text.",
    long: "The request is longer than {max} characters.",
    scheme: "Not a payment request: it must start with “incoop:”.",
    slashes: "No “//” after “incoop:”: the address follows the colon.",
    fragment: "A payment request has no “#” fragment.",
    "no-address": "The request has no address to pay.",
    address: "Bad address: {detail}",
    spaces: "Bad address: it has spaces around it.",
    "empty-param": "Empty parameter (a stray “&”).",
    "no-equals": "Parameter “{name}” has no “=value”.",
    unknown: "Unknown parameter “{name}” (known: {known}).",
    twice: "Parameter “{name}” appears more than once.",
    "empty-value": "Parameter “{name}” is empty.",
    missing: "Missing parameter “{name}”.",
    percent: "Bad {name}: “%” must be followed by two hex digits.",
    plus: "Bad {name}: “+” is ambiguous; write %20 for a space or %2B for a plus.",
    unencoded: "Bad {name}: “{ch}” must be percent-encoded.",
    utf8: "Bad {name}: the percent-encoded bytes are not UTF-8.",
    "amount-digits": "Bad amount: “{text}” is not a whole number of minor units.",
    "amount-zero": "Bad amount: “{text}” is zero or has leading zeros.",
    "amount-big": "Bad amount: larger than {max}.",
    amount: "Bad amount: it must be an integer from 1 to {max}.",
    chain: "Bad chain: “{value}”.",
    class: "Bad credit class: “{value}”.",
    category: "Bad category: “{value}”.",
    "ref-empty": "Bad ref: it is empty (leave it out instead).",
    "ref-long": "Bad ref: longer than {max} bytes of UTF-8.",
    "ref-text": "Bad ref: it is not valid Unicode text.",
    "ref-control": "Bad ref: it contains a control character.",
  },
});

/** A request that cannot be parsed or formatted; `reason` names the rule (wallet.payment_request's messages). */
export class PaymentRequestError extends Error {
  constructor(reason, params = {}) {
    super(t(reason, { max: reason.startsWith("ref") ? MAX_REF_BYTES : reason === "long" ? MAX_URI_LEN : MAX_AMOUNT, ...params }));
    this.name = "PaymentRequestError";
    this.reason = reason;
  }
}

// --- checks shared by format and parse -------------------------------------------------------------

function checkAddress(address) {
  if (typeof address !== "string" || address === "") throw new PaymentRequestError("no-address");
  let payee;
  try {
    payee = parseAddress(address);
  } catch (err) {
    if (err instanceof AddressError) throw new PaymentRequestError("address", { detail: err.message });
    throw err;
  }
  if (address !== pythonStrip(address)) throw new PaymentRequestError("spaces");
  return payee;
}

function checkIdentifier(value, reason, pattern) {
  if (typeof value !== "string" || !pattern.test(value)) throw new PaymentRequestError(reason, { value: String(value) });
  return value;
}

function checkAmount(value) {
  const ok = (typeof value === "bigint") || (typeof value === "number" && Number.isSafeInteger(value));
  if (!ok || BigInt(value) <= 0n || BigInt(value) > MAX_AMOUNT) throw new PaymentRequestError("amount");
  return BigInt(value);
}

function checkRef(value) {
  if (typeof value !== "string" || value === "") throw new PaymentRequestError("ref-empty");
  // a lone surrogate counts 3 bytes here as in Python's "surrogatepass" count, then is refused
  if (new TextEncoder().encode(value).length > MAX_REF_BYTES) throw new PaymentRequestError("ref-long");
  if (typeof value.isWellFormed === "function" && !value.isWellFormed()) throw new PaymentRequestError("ref-text");
  if (/\p{Cc}/u.test(value)) throw new PaymentRequestError("ref-control");
  return value;
}

const given = (value) => value !== null && value !== undefined;

function check(req) {
  const payee = checkAddress(req.to);
  checkIdentifier(req.chainId, "chain", CHAIN_ID);
  checkIdentifier(req.classId, "class", CLASS_ID);
  const amount = given(req.amount) ? checkAmount(req.amount) : null;
  if (given(req.ref)) checkRef(req.ref);
  if (given(req.category)) checkIdentifier(req.category, "category", CATEGORY);
  return {
    to: req.to, payee, chainId: req.chainId, classId: req.classId, amount,
    ref: given(req.ref) ? req.ref : null, category: given(req.category) ? req.category : null,
  };
}

// --- percent-encoding --------------------------------------------------------------------------------

function encodeValue(value) {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const ch = String.fromCharCode(byte);
    out += UNRESERVED.test(ch) ? ch : "%" + byte.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });   // as Python's strict "utf-8": a BOM is kept

function decodeValue(name, raw) {
  const chars = [...raw];
  const bytes = [];
  for (let i = 0; i < chars.length;) {
    const ch = chars[i];
    if (ch === "%") {
      const digits = chars.slice(i + 1, i + 3).join("");
      if (!HEX2.test(digits)) throw new PaymentRequestError("percent", { name });
      bytes.push(parseInt(digits, 16));
      i += 3;
      continue;
    }
    if (ch === "+") throw new PaymentRequestError("plus", { name });
    if (!ALLOWED_RAW.test(ch)) throw new PaymentRequestError("unencoded", { name, ch });
    bytes.push(ch.charCodeAt(0));
    i += 1;
  }
  try {
    return UTF8.decode(new Uint8Array(bytes));
  } catch {
    throw new PaymentRequestError("utf8", { name });
  }
}

// --- the two directions ------------------------------------------------------------------------------

/**
 * The canonical URI of a request {to (address), chainId, classId, amount?, ref?, category?}; the amount
 * is in minor units (Number or BigInt). PaymentRequestError if a field is invalid.
 */
export function formatPaymentRequest(req) {
  const r = check(req || {});
  const params = [["chain", r.chainId], ["class", r.classId]];
  if (r.amount !== null) params.push(["amount", r.amount.toString()]);
  if (r.ref !== null) params.push(["ref", r.ref]);
  if (r.category !== null) params.push(["category", r.category]);
  return `${SCHEME}:${r.to}?` + params.map(([name, value]) => `${name}=${encodeValue(value)}`).join("&");
}

function parseAmount(text) {
  if (!/^[0-9]+$/.test(text)) throw new PaymentRequestError("amount-digits", { text });
  if (text.startsWith("0")) throw new PaymentRequestError("amount-zero", { text });
  if (text.length > MAX_AMOUNT.toString().length || BigInt(text) > MAX_AMOUNT) throw new PaymentRequestError("amount-big");
  return BigInt(text);
}

/**
 * The request a URI carries: {to (the address), payee (its 32-byte key), chainId, classId, amount (a
 * BigInt, or null: the payer chooses), ref, category (null when absent)}. PaymentRequestError names the
 * first thing wrong with it. The caller still compares chainId with its node's chain.
 */
export function parsePaymentRequest(text) {
  if (typeof text !== "string") throw new PaymentRequestError("text");
  text = pythonStrip(text);
  if ([...text].length > MAX_URI_LEN) throw new PaymentRequestError("long");
  const colon = text.indexOf(":");
  if (colon < 0 || text.slice(0, colon).toLowerCase() !== SCHEME) throw new PaymentRequestError("scheme");
  const rest = text.slice(colon + 1);
  if (rest.startsWith("//")) throw new PaymentRequestError("slashes");
  if (rest.includes("#")) throw new PaymentRequestError("fragment");
  const question = rest.indexOf("?");
  const address = question < 0 ? rest : rest.slice(0, question);
  const query = question < 0 ? "" : rest.slice(question + 1);
  if (address === "") throw new PaymentRequestError("no-address");
  checkAddress(address);
  const values = new Map();
  if (query) {
    for (const part of query.split("&")) {
      if (part === "") throw new PaymentRequestError("empty-param");
      const equals = part.indexOf("=");
      if (equals < 0) throw new PaymentRequestError("no-equals", { name: part });
      const name = part.slice(0, equals);
      const raw = part.slice(equals + 1);
      if (!PARAMETERS.includes(name)) throw new PaymentRequestError("unknown", { name, known: PARAMETERS.join(", ") });
      if (values.has(name)) throw new PaymentRequestError("twice", { name });
      if (raw === "") throw new PaymentRequestError("empty-value", { name });
      values.set(name, decodeValue(name, raw));
    }
  }
  for (const name of ["chain", "class"]) if (!values.has(name)) throw new PaymentRequestError("missing", { name });
  const amount = values.get("amount");
  return check({
    to: address, chainId: values.get("chain"), classId: values.get("class"),
    amount: amount === undefined ? null : parseAmount(amount), ref: values.get("ref") ?? null, category: values.get("category") ?? null,
  });
}
