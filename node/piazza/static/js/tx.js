// Transactions signed in the page: FORMAT.md §4.1 (the signing message) and §6.1 (the envelope and
// its hash), the same bytes ledger/tx.py's sign_tx makes (tests/browser/test_wallet_crypto.py signs
// the same transactions on both sides and compares them). Ed25519 is @noble/ed25519 (RFC 8032,
// deterministic), so a seed and a transaction give one signature, here and in Python alike.

import { ed25519 } from "../vendor/incoop-vendor.js";
import { encode, sha256, toHex, MAX_TX_BYTES } from "./codec.js";

export const TX_VERSION = 1;
export const DOMAIN_TX = "incoop/tx/v1";
export const MAX_NONCE = 2n ** 63n - 1n;   // nonce and expiry are u63 (FORMAT.md §6.1)

/** FORMAT.md §4.1: canonical([domain, chain_id, payload]). */
export function signingMessage(domain, chainId, payload) {
  return encode([domain, chainId, payload]);
}

function checkSeed(seed) {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
}

/** The Ed25519 public key (32 bytes) of a 32-byte seed. */
export function publicKeyOf(seed) {
  checkSeed(seed);
  return ed25519.getPublicKey(seed);
}

function u63(value, name) {
  if ((typeof value !== "number" && typeof value !== "bigint") || (typeof value === "number" && !Number.isSafeInteger(value))) {
    throw new Error(`${name} must be an integer (a Number up to 2^53−1 or a BigInt)`);
  }
  if (BigInt(value) < 0n || BigInt(value) > MAX_NONCE) throw new Error(`${name} must be from 0 to ${MAX_NONCE}`);
  return value;
}

/**
 * Sign a transaction with `seed`: {raw, hash} where `raw` is the wire bytes to POST to /v1/txs and
 * `hash` the hex SHA-256 of them (the node's transaction id). The body's values follow codec.js
 * (amounts as BigInt when above 2^53−1; keys and hashes as Uint8Array). Errors name what is wrong
 * before anything is signed; the node still checks the body's own rules (FORMAT.md §6.3).
 */
export function signTx(seed, { chainId, type, nonce, expiry, body }) {
  checkSeed(seed);
  if (typeof chainId !== "string" || chainId === "") throw new Error("the chain id is empty");
  if (typeof type !== "string" || type === "") throw new Error("the transaction type is empty");
  if (!Array.isArray(body)) throw new Error("a transaction's body is an array");
  const unsigned = [TX_VERSION, type, chainId, publicKeyOf(seed), u63(nonce, "nonce"), u63(expiry, "expiry"), body];
  const signature = ed25519.sign(signingMessage(DOMAIN_TX, chainId, encode(unsigned)), seed);
  const raw = encode([...unsigned, signature]);
  if (raw.length > MAX_TX_BYTES) {
    throw new Error(`the transaction is ${raw.length} bytes; a node takes at most ${MAX_TX_BYTES}`);
  }
  return { raw, hash: toHex(sha256(raw)) };
}
