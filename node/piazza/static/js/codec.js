// FORMAT.md §2 (canonical encoding), §3 (hashing) and §5 (addresses) in the browser: the very bytes
// ledger/encoding.py and ledger/address.py make, on top of @msgpack/msgpack and @scure/base
// (docs/piazza.md, "Keys in the browser"). Nothing here is a hand-written codec: this module only
// says which values are allowed and which MessagePack form each integer takes.
//
// Values: integers as Number or BigInt (from −2^63 to 2^64−1; a Number must be a safe integer),
// Uint8Array (bin), string (str, well-formed Unicode), arrays, booleans and null. Refused: floats,
// objects and maps, undefined, other typed arrays, nesting deeper than 32. Decoded integers are
// Numbers when |x| ≤ 2^53−1 and BigInts beyond, so that an amount above 2^53 is never rounded.

import { Encoder, Decoder, base32nopad, sha256 as nobleSha256 } from "../vendor/incoop-vendor.js";
import { translator } from "./i18n.js";

export const MAX_DECODE_BYTES = 4 * 1024 * 1024;   // FORMAT.md §2.3 rule 1, "anything else"
export const MAX_TX_BYTES = 16 * 1024;             // FORMAT.md §2.3 rule 1, a transaction
export const MAX_DEPTH = 32;                       // FORMAT.md §2.3 rule 4

const INT_MIN = -(2n ** 63n);
const INT_MAX = 2n ** 64n - 1n;
// @msgpack/msgpack with useBigInt64 writes a Number in the smallest of fixint … uint32 / int32 and a
// BigInt always as uint64 (cf) or int64 (d3). Those two are the smallest forms exactly for integers
// outside [−2^31, 2^32) (FORMAT.md §2.2), so each integer is handed over as a Number inside that range
// and as a BigInt outside it; a safe Number ≥ 2^32 handed over as is would become a float64.
const SMALL_MIN = -(2 ** 31);
const SMALL_END = 2 ** 32;

const encoder = new Encoder({ useBigInt64: true });

/**
 * @msgpack/msgpack's decoder, stopped as soon as an array opens deeper than MAX_DEPTH (§2.3 rule 4)
 * rather than after building millions of nested arrays from a 4 MiB input, and refusing any non-empty
 * map or extension at its header. The value is still walked and re-encoded afterwards (`decode`), which
 * alone decides; these limits only keep hostile input cheap.
 */
class CanonicalDecoder extends Decoder {
  pushArrayState(size) {
    super.pushArrayState(size);
    if (this.stack.length > MAX_DEPTH) throw new EncodingError(`nesting deeper than ${MAX_DEPTH}`);
  }
}
const decoderFor = (bytes) => new CanonicalDecoder({
  useBigInt64: true, maxMapLength: 0, maxExtLength: 0,
  maxArrayLength: bytes.length, maxStrLength: bytes.length, maxBinLength: bytes.length,   // each item takes a byte at least
});

/** The bytes are not the canonical encoding of an allowed value (ledger.encoding.EncodingError). */
export class EncodingError extends Error {
  constructor(message) {
    super(message);
    this.name = "EncodingError";
  }
}

function isWellFormed(text) {
  if (typeof text.isWellFormed === "function") return text.isWellFormed();
  try {
    encodeURIComponent(text);   // throws URIError on a lone surrogate
    return true;
  } catch {
    return false;
  }
}

function normalInteger(value) {
  let big;
  if (typeof value === "bigint") {
    big = value;
  } else if (!Number.isInteger(value)) {
    throw new EncodingError(`${value} is not an integer: floats have no canonical encoding`);
  } else if (!Number.isSafeInteger(value)) {
    throw new EncodingError(`${value} is beyond 2^53 as a Number and may have been rounded: pass a BigInt`);
  } else {
    big = BigInt(value);
  }
  if (big < INT_MIN || big > INT_MAX) throw new EncodingError("integer out of range (−2^63 … 2^64−1)");
  return big >= SMALL_MIN && big < SMALL_END ? Number(big) : big;
}

/** A copy of `value` in the forms @msgpack/msgpack writes canonically; EncodingError for anything else. */
function normal(value, depth) {
  if (depth > MAX_DEPTH) throw new EncodingError(`nesting deeper than ${MAX_DEPTH}`);
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "number" || typeof value === "bigint") return normalInteger(value);
  if (typeof value === "string") {
    if (!isWellFormed(value)) throw new EncodingError("string is not valid Unicode (a lone surrogate)");
    return value;
  }
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((item) => normal(item, depth + 1));
  const what = value === undefined ? "undefined" : ArrayBuffer.isView(value) ? value.constructor.name : typeof value === "object" ? "an object or map" : typeof value;
  throw new EncodingError(`${what} has no canonical encoding (FORMAT.md §2.1)`);
}

/** FORMAT.md §2.2: the one encoding of `value`. */
export function encode(value) {
  return encoder.encode(normal(value, 0)).slice();
}

/** The value decoded, with integers as Numbers when safe, bin copied out of the input. */
function decodedValue(value, depth) {
  if (depth > MAX_DEPTH) throw new EncodingError(`nesting deeper than ${MAX_DEPTH}`);
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "bigint") return value >= -Number.MAX_SAFE_INTEGER && value <= Number.MAX_SAFE_INTEGER ? Number(value) : value;
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new EncodingError("floats are not allowed");
    return value;
  }
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value)) return value.map((item) => decodedValue(item, depth + 1));
  throw new EncodingError("maps and extension types are not allowed");
}

/**
 * FORMAT.md §2.3: the value `bytes` encode, if and only if they are its canonical encoding and at most
 * `maxBytes` long; anything else throws EncodingError (e.g. `cc 01`, a map, a float, trailing bytes).
 */
export function decode(bytes, maxBytes = MAX_DECODE_BYTES) {
  if (!(bytes instanceof Uint8Array)) throw new EncodingError("expected a Uint8Array");
  if (bytes.length === 0) throw new EncodingError("empty input");
  if (bytes.length > maxBytes) throw new EncodingError(`encoded value larger than ${maxBytes} bytes`);
  let raw;
  try {
    raw = decoderFor(bytes).decode(bytes);
  } catch (err) {
    if (err instanceof EncodingError) throw err;
    throw new EncodingError(`not valid MessagePack: ${err.message}`);
  }
  const value = decodedValue(raw, 0);
  let again;
  try {
    again = encode(value);
  } catch (err) {
    throw new EncodingError(`not the canonical encoding: ${err.message}`);
  }
  if (!equalBytes(again, bytes)) throw new EncodingError("not the canonical encoding");
  return value;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** FORMAT.md §3: SHA-256, 32 bytes. */
export function sha256(bytes) {
  return nobleSha256(bytes);
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bytes from hex (either case, nothing else: no spaces, no 0x); Error otherwise. */
export function fromHex(text) {
  if (typeof text !== "string" || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error("not hex: expected pairs of the digits 0-9 and a-f");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// --- addresses (FORMAT.md §5) ----------------------------------------------------------------------

export const ADDRESS_PREFIX = "ic";
export const ADDRESS_LENGTH = 60;
const CHECKSUM_TAG = new TextEncoder().encode("incoop/address/v1");
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const AROUND = /^[ \t\n\r\v\f]+|[ \t\n\r\v\f]+$/g;   // §5 step 1: these six, and no other white space

const tAddress = translator({
  it: {
    type: "Un indirizzo è un testo.",
    length: "Non è un indirizzo incoop: ne ha la forma «ic» seguito da 58 lettere e cifre (60 caratteri in tutto).",
    case: "Un indirizzo si scrive tutto in minuscolo.",
    alphabet: "L'indirizzo contiene caratteri che non ne fanno parte (solo lettere a-z e cifre 2-7).",
    checksum: "L'indirizzo non torna con il suo codice di controllo: forse è stato copiato male.",
    canonical: "L'indirizzo non è scritto nella sua forma corretta (l'ultimo carattere non torna).",
  },
  en: {
    type: "An address is text.",
    length: "Not an incoop address: it has the form “ic” followed by 58 letters and digits (60 characters in all).",
    case: "An address is written in lower case.",
    alphabet: "The address contains characters that are not part of one (only the letters a-z and the digits 2-7).",
    checksum: "The address does not match its checksum: perhaps it was mistyped.",
    canonical: "The address is not written in its canonical form (its last character does not match).",
  },
});

/** A text that is not an address; `reason` is one of type, length, case, alphabet, checksum, canonical. */
export class AddressError extends Error {
  constructor(reason) {
    super(tAddress(reason));
    this.name = "AddressError";
    this.reason = reason;
  }
}

function checksum(pubkey) {
  return sha256(concatBytes(CHECKSUM_TAG, pubkey)).subarray(0, 4);
}

/** FORMAT.md §5: the address of a 32-byte public key ("ic" and 58 base32 characters). */
export function addressOf(pubkey) {
  if (!(pubkey instanceof Uint8Array) || pubkey.length !== 32) throw new Error("a public key is 32 bytes");
  return ADDRESS_PREFIX + base32nopad.encode(concatBytes(pubkey, checksum(pubkey))).toLowerCase();
}

/** FORMAT.md §5's parse rules: the public key an address names; AddressError says what is wrong. */
export function parseAddress(text) {
  if (typeof text !== "string") throw new AddressError("type");
  text = text.replace(AROUND, "");
  if ([...text].length !== ADDRESS_LENGTH || !text.startsWith(ADDRESS_PREFIX)) throw new AddressError("length");
  const body = text.slice(ADDRESS_PREFIX.length);
  if (body !== body.toLowerCase()) throw new AddressError("case");
  if (!/^[a-z2-7]{58}$/.test(body)) throw new AddressError("alphabet");
  // The last character carries 3 data bits and 2 zero bits: decode with those two cleared (so that the
  // checksum is judged first, as ledger/address.py does), then require the text to be canonical.
  const last = ALPHABET.indexOf(body[57]);
  const raw = base32nopad.decode((body.slice(0, 57) + ALPHABET[last & ~3]).toUpperCase());
  const pubkey = raw.slice(0, 32);
  if (!equalBytes(checksum(pubkey), raw.subarray(32))) throw new AddressError("checksum");
  if (addressOf(pubkey) !== text) throw new AddressError("canonical");
  return pubkey;
}
