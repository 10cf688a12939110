// The CLI's key file (FORMAT.md §22.1, "incoop-keystore-1"), read and written in the browser exactly
// as keys/keystore.py does: Argon2id (libsodium's crypto_pwhash, version 1.3, one lane) of the
// password's UTF-8 bytes, then XSalsa20-Poly1305 (libsodium's secretbox: the tag, then the encrypted
// 32-byte seed). Both primitives are @noble's (vendor bundle). A file is data from outside: every
// member and bound is checked before any work is spent on deriving (docs/piazza.md, "Keys in the browser").

import { argon2idAsync, xsalsa20poly1305, randomBytes } from "../vendor/incoop-vendor.js";
import { addressOf, fromHex, toHex, equalBytes } from "./codec.js";
import { publicKeyOf } from "./tx.js";
import { translator } from "./i18n.js";

export const FORMAT = "incoop-keystore-1";
export const OPSLIMIT_MIN = 1;
export const OPSLIMIT_MAX = 10;
export const MEMLIMIT_MIN = 8 * 1024;
export const MEMLIMIT_MAX = 1 << 30;                 // FORMAT.md §22.1's bounds (keys/keystore.py)
export const BROWSER_MEMLIMIT_MAX = 256 * 1024 * 1024;
// A browser tab derives with JavaScript, several times slower than libsodium: 256 MiB (libsodium's
// "moderate", what the CLI writes node keys with) takes seconds here; the format's 1 GiB would take
// minutes or fail to allocate on a phone, so such a file is refused with a message saying what to do.
export const WALLET_KDF = Object.freeze({ opslimit: 2, memlimit: 64 * 1024 * 1024 });
// What the page writes: the CLI's own wallet setting (keys.keystore.WALLET_KDF, libsodium's "interactive").
const MAX_FILE_CHARS = 64 * 1024;   // a valid key file is under 3 KB

const t = translator({
  it: {
    json: "Il file non è un file di chiave incoop (non è JSON).",
    format: "Il file non è un file di chiave incoop (formato {found}).",
    member: "File di chiave danneggiato: {where} {what}.",
    costly: "Questo file di chiave chiede {mib} MiB di memoria per essere aperto: troppi per un browser (al massimo {max} MiB). Aprilo con il programma incoop ed esporta la chiave con l'impostazione dei borsellini.",
    memory: "Questo dispositivo non ha abbastanza memoria per aprire il file di chiave ({mib} MiB).",
    password: "Password del file sbagliata, oppure il file è stato alterato.",
    seed: "File di chiave danneggiato: la chiave cifrata non è di 32 byte.",
    mismatch: "L'indirizzo scritto nel file non corrisponde alla sua chiave.",
    "bad-password": "La password non è un testo valido.",
    big: "Il file è troppo grande per essere un file di chiave.",
  },
  en: {
    json: "The file is not an incoop key file (it is not JSON).",
    format: "The file is not an incoop key file (format {found}).",
    member: "Corrupt key file: {where} {what}.",
    costly: "This key file needs {mib} MiB of memory to open: too much for a browser (at most {max} MiB). Open it with the incoop program and export the key with the wallets' setting.",
    memory: "This device does not have the memory to open the key file ({mib} MiB).",
    password: "Wrong password for the file, or the file was altered.",
    seed: "Corrupt key file: the encrypted key is not 32 bytes.",
    mismatch: "The address written in the file does not match its key.",
    "bad-password": "The password is not valid text.",
    big: "The file is too large to be a key file.",
  },
});

/** A key file that cannot be read or written; `reason` names why (json, format, member, costly, memory, password, seed, mismatch, …). */
export class KeyFileError extends Error {
  constructor(reason, params = {}) {
    super(t(reason, params));
    this.name = "KeyFileError";
    this.reason = reason;
  }
}

const hexOf = (bytes) => new RegExp(`^(?:[0-9a-f]{2}){${bytes}}$`);
const hexBetween = (min, max) => new RegExp(`^(?:[0-9a-f]{2}){${min},${max}}$`);
const SHAPE = {
  format: "string", address: "string",
  kdf: { name: "string", opslimit: "integer", memlimit: "integer", salt: "string" },
  cipher: { name: "string", nonce: "string", ciphertext: "string" },
};

/** UTF-8 bytes of a password, as Python's str.encode("utf-8"), which refuses a lone surrogate. */
export function passwordBytes(password) {
  if (typeof password !== "string" || (typeof password.isWellFormed === "function" && !password.isWellFormed())) {
    throw new KeyFileError("bad-password");
  }
  return new TextEncoder().encode(password);
}

// JSON with its integers told apart from floats: Python's reader takes 2 but refuses 2.0 or 2e0 for an
// integer member, and JSON.parse alone gives 2 for all three. The reviver's `source` (the text of a
// primitive) says which; where a browser does not give it, an integral value is taken as an integer.
const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]*)$/;
function parseJson(text) {
  return JSON.parse(text, (key, value, context) => {
    if (typeof value === "number" && context && typeof context.source === "string" && !INTEGER_TEXT.test(context.source)) {
      return { notAnInteger: value };
    }
    return value;
  });
}

function kindOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function checkMembers(value, shape, where) {
  if (kindOf(value) !== "object" || "notAnInteger" in value) {
    throw new KeyFileError("member", { where: where || "document", what: "is not an object" });
  }
  for (const name of Object.keys(value)) {
    if (!(name in shape)) throw new KeyFileError("member", { where: where ? `${where}.${name}` : name, what: "is not allowed" });
  }
  for (const [name, want] of Object.entries(shape)) {
    const path = where ? `${where}.${name}` : name;
    if (!(name in value)) throw new KeyFileError("member", { where: path, what: "is missing" });
    if (typeof want === "object") {
      checkMembers(value[name], want, path);
    } else if (kindOf(value[name]) !== want) {
      throw new KeyFileError("member", { where: path, what: want === "integer" ? "must be an integer" : "must be text" });
    }
  }
}

function checkValue(ok, where, what) {
  if (!ok) throw new KeyFileError("member", { where, what });
}

/**
 * The document of a key file, checked member by member against FORMAT.md §22.1 and the browser's
 * memory cap: nothing is derived from a file this refuses.
 */
export function parseKeyFile(text) {
  if (typeof text !== "string") throw new KeyFileError("json");
  if (text.length > MAX_FILE_CHARS) throw new KeyFileError("big");
  let doc;
  try {
    doc = parseJson(text);
  } catch {
    throw new KeyFileError("json");
  }
  if (kindOf(doc) !== "object" || doc.format !== FORMAT) {
    const found = kindOf(doc) === "object" && typeof doc.format === "string" ? `"${doc.format}"` : "—";
    throw new KeyFileError("format", { found });
  }
  checkMembers(doc, SHAPE, "");
  checkValue([...doc.address].length <= 128, "address", "is longer than 128 characters");
  const { kdf, cipher } = doc;
  checkValue(kdf.name === "argon2id", "kdf.name", "must be \"argon2id\"");
  checkValue(kdf.opslimit >= OPSLIMIT_MIN && kdf.opslimit <= OPSLIMIT_MAX, "kdf.opslimit", `must be from ${OPSLIMIT_MIN} to ${OPSLIMIT_MAX}`);
  checkValue(kdf.memlimit >= MEMLIMIT_MIN && kdf.memlimit <= MEMLIMIT_MAX, "kdf.memlimit", `must be from ${MEMLIMIT_MIN} to ${MEMLIMIT_MAX}`);
  checkValue(hexOf(16).test(kdf.salt), "kdf.salt", "must be 16 bytes of lower-case hex");
  checkValue(cipher.name === "xsalsa20poly1305", "cipher.name", "must be \"xsalsa20poly1305\"");
  checkValue(hexOf(24).test(cipher.nonce), "cipher.nonce", "must be 24 bytes of lower-case hex");
  checkValue(hexBetween(17, 1040).test(cipher.ciphertext), "cipher.ciphertext", "must be 17 to 1040 bytes of lower-case hex");
  if (kdf.memlimit > BROWSER_MEMLIMIT_MAX) {
    throw new KeyFileError("costly", { mib: Math.ceil(kdf.memlimit / 2 ** 20), max: BROWSER_MEMLIMIT_MAX / 2 ** 20 });
  }
  return doc;
}

/** libsodium's crypto_pwhash(32, password, salt, opslimit, memlimit, ARGON2ID13): memlimit in bytes, one lane. */
export async function deriveKeyFileKey(password, salt, { opslimit, memlimit }) {
  const m = Math.floor(memlimit / 1024);
  try {
    return await argon2idAsync(passwordBytes(password), salt, { t: opslimit, m, p: 1, dkLen: 32, version: 0x13, maxmem: BROWSER_MEMLIMIT_MAX });
  } catch (err) {
    if (err instanceof RangeError) throw new KeyFileError("memory", { mib: Math.ceil(memlimit / 2 ** 20) });
    throw err;
  }
}

/** The seed and address a key file holds; KeyFileError (reason "password") for a wrong password. */
export async function readKeyFile(text, password) {
  const doc = parseKeyFile(text);
  passwordBytes(password);
  const key = await deriveKeyFileKey(password, fromHex(doc.kdf.salt), doc.kdf);
  let seed;
  try {
    seed = xsalsa20poly1305(key, fromHex(doc.cipher.nonce)).decrypt(fromHex(doc.cipher.ciphertext));
  } catch {
    throw new KeyFileError("password");
  } finally {
    key.fill(0);
  }
  if (seed.length !== 32) throw new KeyFileError("seed");
  const address = addressOf(publicKeyOf(seed));
  if (address !== doc.address) throw new KeyFileError("mismatch");
  return { seed: seed.slice(), address };
}

/**
 * A key file holding `seed` under `password`, as keys/keystore.py writes it (the same members in the
 * same order, indented by 2, a final newline); `kdf` defaults to the CLI's wallet setting.
 */
export async function writeKeyFile(seed, password, kdf = WALLET_KDF, { salt = randomBytes(16), nonce = randomBytes(24) } = {}) {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
  if (!(kdf.opslimit >= OPSLIMIT_MIN && kdf.opslimit <= OPSLIMIT_MAX && kdf.memlimit >= MEMLIMIT_MIN && kdf.memlimit <= BROWSER_MEMLIMIT_MAX)) {
    throw new Error("Argon2id setting outside the bounds of FORMAT.md §22.1");
  }
  if (password === "") throw new KeyFileError("bad-password");
  const key = await deriveKeyFileKey(password, salt, kdf);
  const ciphertext = xsalsa20poly1305(key, nonce).encrypt(seed);
  key.fill(0);
  const doc = {
    format: FORMAT,
    address: addressOf(publicKeyOf(seed)),
    kdf: { name: "argon2id", opslimit: kdf.opslimit, memlimit: kdf.memlimit, salt: toHex(salt) },
    cipher: { name: "xsalsa20poly1305", nonce: toHex(nonce), ciphertext: toHex(ciphertext) },
  };
  const text = JSON.stringify(doc, null, 2) + "\n";
  // written and read by the same rules: what this page exports, it (and the CLI) can open
  if (!equalBytes(fromHex(parseKeyFile(text).cipher.ciphertext), ciphertext)) throw new Error("key file check failed");
  return text;
}
