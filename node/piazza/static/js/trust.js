// Which validators this browser trusts to certify balances (docs/piazza.md, "Verified balances").
//
// Trust on first use: the first time a balance is proven, the page reads the node's canonical genesis
// (GET /v1/genesis/raw, FORMAT.md §14.3), checks that its SHA-256 is the genesis hash the node's status
// names, and keeps the chain id and the genesis validators in this browser (localStorage). From then
// on every proof is checked against those pinned validators, never against what the node says at the
// time; a node that later names another genesis raises GenesisMismatch, an alarm, and nothing is
// proven. The pin is per origin (as localStorage is): each node address a person opens pins its own.

import { decode, sha256, toHex, fromHex } from "./codec.js";
import { get } from "./api.js";
import { translator, formatDate } from "./i18n.js";

const PIN = "incoop.genesis";
const GENESIS_VERSION = 1;

const t = translator({
  it: {
    mismatch: "Attenzione: questo nodo segue la catena {chain} con genesi {node}…, ma questo browser si fida della genesi {pinned}… (catena {pinnedChain}, registrata il {date}). Nessun saldo di questo nodo può essere verificato.",
    inconsistent: "Il nodo descrive la sua genesi in modo incoerente (stato {status}…, documento {served}…): non la registro e non verifico nulla.",
    unreadable: "Il nodo non fornisce una genesi leggibile: {reason}.",
    "pin-damaged": "La genesi registrata in questo browser è illeggibile: nessun saldo può essere verificato finché non la si registra di nuovo.",
  },
  en: {
    mismatch: "Warning: this node follows chain {chain} with genesis {node}…, but this browser trusts genesis {pinned}… (chain {pinnedChain}, pinned on {date}). No balance of this node can be verified.",
    inconsistent: "The node describes its genesis inconsistently (status {status}…, document {served}…): it is not pinned and nothing is verified.",
    unreadable: "The node serves no readable genesis: {reason}.",
    "pin-damaged": "The genesis pinned in this browser is unreadable: no balance can be verified until it is pinned again.",
  },
});

const short = (hex) => String(hex).slice(0, 16);

/** The node names another genesis than the one this browser pinned: an alarm, never a reason to re-pin. */
export class GenesisMismatch extends Error {
  constructor(message, pinned, served) {
    super(message);
    this.name = "GenesisMismatch";
    this.pinned = pinned;
    this.served = served;
  }
}

/** No trust could be established: the node's genesis is unreadable or contradicts its own status. */
export class GenesisUnusable extends Error {
  constructor(message) {
    super(message);
    this.name = "GenesisUnusable";
  }
}

function isBytes(value, length) {
  return value instanceof Uint8Array && value.length === length;
}

/**
 * The trusted set of FORMAT.md §21.2 from canonical genesis bytes: {chainId, validators, since: 0n,
 * genesisHash}, the validators in document order. Throws GenesisUnusable on anything else.
 */
export function trustFromGenesis(raw) {
  let value;
  try {
    value = decode(raw);   // FORMAT.md §2.3: at most 4 MiB, as anything but a transaction or a block
  } catch (error) {
    throw new GenesisUnusable(t("unreadable", { reason: error.message }));
  }
  // [1, chain_id, genesis_time_ms, params, [[name, pubkey, api, p2p], …], observers, modules]
  const fail = (reason) => { throw new GenesisUnusable(t("unreadable", { reason })); };
  if (!Array.isArray(value) || value.length !== 7) fail("not an array of 7 fields");
  const [version, chainId, , , validators] = value;
  if (version !== GENESIS_VERSION && version !== BigInt(GENESIS_VERSION)) fail("another version");
  if (typeof chainId !== "string") fail("the chain id is not text");
  if (!Array.isArray(validators) || validators.length === 0) fail("no validators");
  const keys = validators.map((v) => (Array.isArray(v) && v.length === 4 && isBytes(v[1], 32) ? v[1] : fail("a validator is malformed")));
  if (new Set(keys.map(toHex)).size !== keys.length) fail("a validator key appears twice");
  return { chainId, validators: keys, since: 0n, genesisHash: toHex(sha256(raw)) };
}

function readPin() {
  const text = localStorage.getItem(PIN);
  if (text === null) return null;
  try {
    const pin = JSON.parse(text);
    const validators = pin.validators.map((hex) => fromHex(hex));
    if (!/^[0-9a-f]{64}$/.test(pin.hash) || typeof pin.chainId !== "string" || validators.length === 0
        || validators.some((key) => key.length !== 32)) throw new Error("bad pin");
    return { ...pin, trust: { chainId: pin.chainId, validators, since: 0n, genesisHash: pin.hash } };
  } catch {
    throw new GenesisMismatch(t("pin-damaged"), null, null);
  }
}

async function genesisBytes() {
  const response = await fetch("/v1/genesis/raw", { headers: { Accept: "application/msgpack" } });
  if (!response.ok) throw new GenesisUnusable(t("unreadable", { reason: `HTTP ${response.status}` }));
  return new Uint8Array(await response.arrayBuffer());
}

/** What this browser pinned, or null: {hash, chainId, validators (hex), pinnedMs}, for a page to show. */
export function pinnedGenesis() {
  const pin = readPin();
  return pin && { hash: pin.hash, chainId: pin.chainId, validators: pin.validators, pinnedMs: pin.pinnedMs };
}

/** Forget the pin: only for a person who deliberately moves to another federation's chain. */
export function forgetPinnedGenesis() {
  localStorage.removeItem(PIN);
}

/**
 * The trusted set to verify with: the pinned one if the node still names its genesis, else (first use)
 * the node's genesis, pinned now. Throws GenesisMismatch (an alarm) or GenesisUnusable.
 */
export async function trustedGenesis() {
  const status = await get("/v1/status");
  const pin = readPin();
  if (pin !== null) {
    if (status.genesis_hash !== pin.hash) {
      throw new GenesisMismatch(t("mismatch", {
        chain: status.chain_id, node: short(status.genesis_hash), pinned: short(pin.hash),
        pinnedChain: pin.chainId, date: formatDate(pin.pinnedMs),
      }), pin.hash, status.genesis_hash);
    }
    return pin.trust;
  }
  const raw = await genesisBytes();
  const served = toHex(sha256(raw));
  if (served !== status.genesis_hash) {
    throw new GenesisUnusable(t("inconsistent", { status: short(status.genesis_hash), served: short(served) }));
  }
  const trust = trustFromGenesis(raw);
  localStorage.setItem(PIN, JSON.stringify({
    hash: trust.genesisHash, chainId: trust.chainId, validators: trust.validators.map(toHex), pinnedMs: Date.now(),
  }));
  return trust;
}
