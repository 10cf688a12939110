// The keys this browser holds (docs/piazza.md, "Keys in the browser"). Each key's 32-byte seed rests in
// localStorage encrypted with AES-256-GCM under a key that Argon2id derives from the person's passphrase;
// the passphrase is never stored, and neither the seed nor the passphrase ever leaves the page (no
// function here talks to the node). Each record carries its own Argon2id setting, so that the setting
// can be raised later: a key unlocked under a weaker one than KEYRING_KDF is sealed again under it.
//
// A record, under localStorage["incoop.key." + address]:
//   {"format": "incoop-browser-key-1", "label": text, "address": "ic…", "created": ms since the epoch,
//    "kdf": {"name": "argon2id", "version": 19, "t": passes, "m": KiB, "p": 1, "salt": hex(16)},
//    "cipher": {"name": "aes-256-gcm", "nonce": hex(12), "ciphertext": hex(32 + 16-byte tag)}}
// The GCM associated data is RECORD_FORMAT + " " + address, so a record's ciphertext moved under another
// address fails as a wrong passphrase would; the seed's own address is checked after decryption too.

import { argon2idAsync, gcm, randomBytes } from "../vendor/incoop-vendor.js";
import { addressOf, fromHex, toHex } from "./codec.js";
import { publicKeyOf } from "./tx.js";
import { parseKeyFile, readKeyFile, writeKeyFile, passwordBytes, WALLET_KDF } from "./keyfile.js";
import { translator } from "./i18n.js";

export const RECORD_FORMAT = "incoop-browser-key-1";
export const PREFIX = "incoop.key.";
export const MIN_PASSPHRASE = 8;
export const MAX_LABEL = 64;
/**
 * Argon2id for the passphrase: 3 passes over 32 MiB, one lane. Measured in this repository's chromium
 * on its 2-core test machine: 0.67 s of the renderer's CPU time (0.6 s to 0.9 s of wall time when the
 * machine was nearly idle), where the CLI's wallet setting (2 passes over 64 MiB) costs 0.99 s.
 * 96 MiB·passes is two and a half times OWASP's minimum for Argon2id (19 MiB, 2 passes); a phone takes
 * a few times longer, still a wait of seconds at most, once per unlock (js/session.js keeps the key
 * unlocked for ten minutes). docs/piazza.md, "Keys in the browser", has the figures.
 */
export const KEYRING_KDF = Object.freeze({ t: 3, m: 32 * 1024, p: 1 });
const KDF_BOUNDS = { tMax: 10, mMin: 8, mMax: 256 * 1024 };   // KiB; the same cap as keyfile.js

const t = translator({
  it: {
    short: "La frase segreta deve avere almeno {min} caratteri.",
    label: "Dai un nome alla chiave (da 1 a {max} caratteri, senza caratteri di controllo).",
    exists: "Questa chiave è già in questo browser, con il nome «{label}».",
    unknown: "Questo browser non ha la chiave {address}.",
    wrong: "Frase segreta sbagliata.",
    altered: "La chiave salvata in questo browser è stata alterata e non si può usare.",
    full: "Lo spazio del browser per i dati di questo sito è pieno: la chiave non è stata salvata.",
  },
  en: {
    short: "The passphrase must have at least {min} characters.",
    label: "Give the key a name (1 to {max} characters, no control characters).",
    exists: "This key is already in this browser, named “{label}”.",
    unknown: "This browser does not hold the key {address}.",
    wrong: "Wrong passphrase.",
    altered: "The key stored in this browser was altered and cannot be used.",
    full: "The browser's storage for this site is full: the key was not saved.",
  },
});

/** A keyring operation refused; `reason` is short, label, exists, unknown, wrong, altered or full. */
export class KeyringError extends Error {
  constructor(reason, params = {}) {
    super(t(reason, { min: MIN_PASSPHRASE, max: MAX_LABEL, ...params }));
    this.name = "KeyringError";
    this.reason = reason;
  }
}

/** The passphrase does not open the key (a failed GCM tag). */
export class WrongPassphrase extends KeyringError {
  constructor() {
    super("wrong");
    this.name = "WrongPassphrase";
  }
}

/** A new passphrase: at least MIN_PASSPHRASE characters (Unicode code points), valid text. */
export function checkPassphrase(passphrase) {
  if (typeof passphrase !== "string" || [...passphrase].length < MIN_PASSPHRASE) throw new KeyringError("short");
  passwordBytes(passphrase);
  return passphrase;
}

function checkLabel(label) {
  const text = typeof label === "string" ? label.trim() : "";
  if (text === "" || [...text].length > MAX_LABEL || /\p{Cc}/u.test(text)) throw new KeyringError("label");
  return text;
}

function readRecord(address) {
  const text = localStorage.getItem(PREFIX + address);
  if (text === null) return null;
  let record;
  try {
    record = JSON.parse(text);
  } catch {
    throw new KeyringError("altered");
  }
  const { kdf, cipher } = record || {};
  const ok = record && record.format === RECORD_FORMAT && record.address === address && typeof record.label === "string"
    && kdf && kdf.name === "argon2id" && kdf.version === 0x13 && kdf.p === 1
    && Number.isInteger(kdf.t) && kdf.t >= 1 && kdf.t <= KDF_BOUNDS.tMax
    && Number.isInteger(kdf.m) && kdf.m >= KDF_BOUNDS.mMin && kdf.m <= KDF_BOUNDS.mMax
    && /^[0-9a-f]{32}$/.test(kdf.salt)
    && cipher && cipher.name === "aes-256-gcm" && /^[0-9a-f]{24}$/.test(cipher.nonce) && /^[0-9a-f]{96}$/.test(cipher.ciphertext);
  if (!ok) throw new KeyringError("altered");
  return record;
}

function associatedData(address) {
  return new TextEncoder().encode(`${RECORD_FORMAT} ${address}`);
}

async function passphraseKey(passphrase, salt, kdf) {
  return argon2idAsync(passwordBytes(passphrase), salt, { t: kdf.t, m: kdf.m, p: kdf.p, dkLen: 32, version: 0x13 });
}

async function seal(seed, passphrase, kdf = KEYRING_KDF) {
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const key = await passphraseKey(passphrase, salt, kdf);
  const address = addressOf(publicKeyOf(seed));
  const ciphertext = gcm(key, nonce, associatedData(address)).encrypt(seed);
  key.fill(0);
  return {
    address,
    kdf: { name: "argon2id", version: 0x13, t: kdf.t, m: kdf.m, p: kdf.p, salt: toHex(salt) },
    cipher: { name: "aes-256-gcm", nonce: toHex(nonce), ciphertext: toHex(ciphertext) },
  };
}

function store(record) {
  try {
    localStorage.setItem(PREFIX + record.address, JSON.stringify(record));
  } catch {
    throw new KeyringError("full");
  }
}

/** The keys this browser holds, oldest first: [{label, address}]. */
export async function listKeys() {
  const keys = [];
  for (let i = 0; i < localStorage.length; i++) {
    const name = localStorage.key(i);
    if (!name || !name.startsWith(PREFIX)) continue;
    try {
      const record = readRecord(name.slice(PREFIX.length));
      keys.push({ label: record.label, address: record.address, created: record.created });
    } catch {
      // an altered record is not offered; unlock() says why it cannot be used
    }
  }
  keys.sort((a, b) => (a.created - b.created) || (a.address < b.address ? -1 : 1));
  return keys.map(({ label, address }) => ({ label, address }));
}

function refuseDuplicate(address) {
  const existing = readRecordOrNull(address);
  if (existing) throw new KeyringError("exists", { label: existing.label });
}

function readRecordOrNull(address) {
  try {
    return readRecord(address);
  } catch {
    return { label: "?" };   // something is stored under this address: never overwrite it
  }
}

/**
 * Keep `seed` in this browser under `label`, encrypted with `passphrase` (checked first). `kdf` is for
 * tests and migrations only; the default is KEYRING_KDF. Returns the key's address.
 */
export async function addSeed(seed, label, passphrase, kdf = KEYRING_KDF) {
  checkPassphrase(passphrase);
  label = checkLabel(label);
  const address = addressOf(publicKeyOf(seed));
  refuseDuplicate(address);
  const sealed = await seal(seed, passphrase, kdf);
  refuseDuplicate(address);   // another tab may have added it meanwhile
  store({ format: RECORD_FORMAT, label, address, created: Date.now(), kdf: sealed.kdf, cipher: sealed.cipher });
  return address;
}

/** A new key, made from the browser's random number generator; its address. */
export async function createKey(label, passphrase) {
  checkPassphrase(passphrase);
  checkLabel(label);
  const seed = randomBytes(32);
  try {
    return await addSeed(seed, label, passphrase);
  } finally {
    seed.fill(0);
  }
}

/**
 * The key of a CLI key file (FORMAT.md §22.1) opened with `filePassword`, kept here under `label` and
 * `passphrase`; its address. Everything is checked before any derivation: the passphrase, the label,
 * the file's members and bounds, and that the key is not already here.
 */
export async function importKeyFile(text, filePassword, label, passphrase) {
  checkPassphrase(passphrase);
  checkLabel(label);
  const doc = parseKeyFile(text);
  refuseDuplicate(doc.address);
  const { seed } = await readKeyFile(text, filePassword);
  try {
    return await addSeed(seed, label, passphrase);
  } finally {
    seed.fill(0);
  }
}

/** The seed of `address`, decrypted with `passphrase`; WrongPassphrase when it does not open it. */
export async function unlock(address, passphrase) {
  const record = readRecord(address);
  if (record === null) throw new KeyringError("unknown", { address });
  const key = await passphraseKey(String(passphrase), fromHex(record.kdf.salt), record.kdf);
  let seed;
  try {
    seed = gcm(key, fromHex(record.cipher.nonce), associatedData(address)).decrypt(fromHex(record.cipher.ciphertext));
  } catch {
    throw new WrongPassphrase();
  } finally {
    key.fill(0);
  }
  if (addressOf(publicKeyOf(seed)) !== address) throw new KeyringError("altered");
  if (record.kdf.t < KEYRING_KDF.t || record.kdf.m < KEYRING_KDF.m) {
    try {
      const sealed = await seal(seed, passphrase);
      store({ ...record, kdf: sealed.kdf, cipher: sealed.cipher });
    } catch {
      // the key stays under its old setting this time (a full storage): it opened, so it is given
    }
  }
  return seed;
}

/**
 * The CLI's key file (FORMAT.md §22.1, the CLI's wallet setting) of `address`, protected by
 * `filePassword` (the passphrase rules apply); the text to save as NAME.json in a CLI wallet folder.
 */
export async function exportKeyFile(address, passphrase, filePassword) {
  checkPassphrase(filePassword);
  const seed = await unlock(address, passphrase);
  try {
    return await writeKeyFile(seed, filePassword, WALLET_KDF);
  } finally {
    seed.fill(0);
  }
}

/** Forget the key of `address` in this browser (true if it was here). Without an export, it is gone. */
export async function removeKey(address) {
  const name = PREFIX + address;
  const present = localStorage.getItem(name) !== null;
  localStorage.removeItem(name);
  return present;
}
