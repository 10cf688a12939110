// A balance proven against the validators this browser trusts, not taken on the node's word
// (FORMAT.md §21; docs/piazza.md, "Verified balances").
//
// The node answers GET /v1/accounts/{address}/proof?class=ID with a bundle: the amount, the state
// proofs (§10.2) of the class record and of the balance entry under the state root of a committed
// block, that block's header (§12.1) and certificate (§13.1), and the certified changes of the
// validator set since genesis. verifyBundle runs the checks of §21.2 in their order, as the reference
// verifier does (ledger/lightproof.py, behind `incoop wallet verify-balance`), with the same
// messages, and refuses at the first that fails. Only the bundle's bytes are used: the other fields
// of the node's answer merely describe it (§21.1).

import { encode, decode, sha256, toHex, fromHex, addressOf, parseAddress, concatBytes as concat, equalBytes as equal } from "./codec.js";
import { get } from "./api.js";
import { verifySignature } from "./sigcheck.js";
import { trustedGenesis } from "./trust.js";

const PROOF_VERSION = 1;
const BLOCK_VERSION = 1;
const MAX_PROOF_BYTES = 1024 * 1024;          // §21.1
const MAX_U63 = 2n ** 63n - 1n;
const MAX_ROUND = 2n ** 31n;                   // §13.1: 0 ≤ round < 2^31
const PRECOMMIT = 2;
const DOMAIN_VOTE = "incoop/vote/v1";
const CLASS_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;  // §6.2
const CLASS_FIELDS = 18;                        // the class record of §9
const ZERO = new Uint8Array(32);
const ascii = (text) => new TextEncoder().encode(text);
const KEY_VALIDATORS = ascii("sys/validators");

/** The bundle does not prove the balance; the message says which promise the node broke. */
export class ProofRejected extends Error {
  constructor(message) {
    super(message);
    this.name = "ProofRejected";
  }
}

/** The bytes are not a well-formed bundle (§21.1). */
export class ProofFormatError extends ProofRejected {
  constructor(message) {
    super(message);
    this.name = "ProofFormatError";
  }
}

// --- bytes, integers and the texts of the reference's messages --------------------------------

/** Byte order, as Python compares bytes: -1, 0 or 1. */
function compare(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return Math.sign(a.length - b.length);
}

/** A decoded integer as a BigInt, or null for anything else (a boolean is not an integer). */
function integer(value) {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  return null;
}

const short = (digest) => toHex(digest).slice(0, 16);

/** A text as Python's repr() writes it, so that messages read as the reference verifier's. */
function repr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === "\\" || ch === quote) out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
    else out += ch;
  }
  return quote + out + quote;
}

// --- decoding the bundle (§21.1, §12.1, §13.1) --------------------------------------------------

function bytesOf(value, length, what) {
  if (!(value instanceof Uint8Array) || value.length !== length) throw new ProofFormatError(`${what} must be ${length} bytes`);
  return value;
}

function arrayOf(value, what, length = null) {
  if (!Array.isArray(value) || (length !== null && value.length !== length)) {
    throw new ProofFormatError(`${what} must be an array` + (length === null ? "" : ` of ${length}`));
  }
  return value;
}

function u63(value, what) {
  const n = integer(value);
  if (n === null || n < 0n || n > MAX_U63) throw new ProofFormatError(`${what} must be a non-negative 63-bit integer`);
  return n;
}

function headerOf(value) {
  if (!Array.isArray(value) || value.length !== 10) throw new ProofFormatError("a header is an array of 10 fields");
  const [version, chainId, height, timeMs, prevHash, txRoot, resultsRoot, stateRoot, proposer, validatorsHash] = value;
  if (integer(version) !== BigInt(BLOCK_VERSION)) throw new ProofFormatError("unsupported block version");
  if (typeof chainId !== "string") throw new ProofFormatError("chain id must be a string");
  return {
    version: BigInt(BLOCK_VERSION),
    chainId,
    height: u63(height, "height"),
    timeMs: u63(timeMs, "time"),
    prevHash: bytesOf(prevHash, 32, "prev_hash"),
    txRoot: bytesOf(txRoot, 32, "tx_root"),
    resultsRoot: bytesOf(resultsRoot, 32, "results_root"),
    stateRoot: bytesOf(stateRoot, 32, "state_root"),
    proposer: bytesOf(proposer, 32, "proposer"),
    validatorsHash: bytesOf(validatorsHash, 32, "validators_hash"),
  };
}

/** SHA256(canonical(header)), §12.1. */
function headerHash(h) {
  return sha256(encode([h.version, h.chainId, h.height, h.timeMs, h.prevHash, h.txRoot, h.resultsRoot,
    h.stateRoot, h.proposer, h.validatorsHash]));
}

function certificateOf(value) {
  if (!Array.isArray(value) || value.length !== 4) throw new ProofFormatError("a certificate is an array of 4 fields");
  const [height, round, blockHash, signatures] = value;
  if (!Array.isArray(signatures)) throw new ProofFormatError("signatures must be an array");
  const sigs = signatures.map((item) => {
    if (!Array.isArray(item) || item.length !== 2) throw new ProofFormatError("a certificate signature is [validator, signature]");
    return [bytesOf(item[0], 32, "validator"), bytesOf(item[1], 64, "signature")];
  });
  const r = integer(round);
  if (r === null || r < 0n || r >= MAX_ROUND) throw new ProofFormatError(`round must be an integer from 0 to ${MAX_ROUND - 1n}`);
  return { height: u63(height, "height"), round: r, blockHash: bytesOf(blockHash, 32, "block hash"), signatures: sigs };
}

function stateProofOf(value, what) {
  const [siblings, terminal] = arrayOf(value, what, 2);
  const hashes = arrayOf(siblings, `${what} siblings`).map((s) => bytesOf(s, 32, `a sibling of the ${what}`));
  if (hashes.length > 256) throw new ProofFormatError(`the ${what} is deeper than 256`);
  if (terminal === null) return { siblings: hashes, terminal: null };
  const [kh, vh] = arrayOf(terminal, `${what} terminal`, 2);
  return { siblings: hashes, terminal: [bytesOf(kh, 32, "a key hash"), bytesOf(vh, 32, "a value hash")] };
}

function updateOf(value) {
  const [header, certificate, validators, proof] = arrayOf(value, "a validator-set update", 4);
  const keys = arrayOf(validators, "a validator set").map((v) => bytesOf(v, 32, "a validator key"));
  return { header: headerOf(header), certificate: certificateOf(certificate), validators: keys,
    proof: stateProofOf(proof, "validator-set proof") };
}

/** The bundle's canonical bytes (§21.1) as a structure; ProofFormatError says what is malformed. */
export function decodeBundle(raw) {
  let value;
  try {
    value = decode(raw, MAX_PROOF_BYTES);
  } catch (error) {
    throw new ProofFormatError(`malformed balance proof: ${error.message}`);
  }
  const fields = arrayOf(value, "a balance proof", 10);
  const [version, account, classId, amount, record, classProof, balanceProof, header, certificate, updates] = fields;
  if (integer(version) !== BigInt(PROOF_VERSION)) throw new ProofFormatError("unsupported balance proof version");
  if (typeof classId !== "string" || !CLASS_ID.test(classId)) throw new ProofFormatError("the class id is not a class id");
  const minor = integer(amount);
  if (minor === null || minor < 0n || minor > MAX_U63) {
    throw new ProofFormatError(`the amount must be an integer from 0 to ${MAX_U63}`);
  }
  if (!(record instanceof Uint8Array)) throw new ProofFormatError("the class record must be bytes");
  return {
    account: bytesOf(account, 32, "the account"),
    classId,
    amount: minor,
    classRecord: record,
    classProof: stateProofOf(classProof, "class proof"),
    balanceProof: stateProofOf(balanceProof, "balance proof"),
    header: headerOf(header),
    certificate: certificateOf(certificate),
    updates: arrayOf(updates, "the validator-set updates").map(updateOf),
  };
}

// --- the checks (§10.2, §13.1, §21.2) ------------------------------------------------------------

const bit = (hash, depth) => (hash[depth >> 3] >> (7 - (depth & 7))) & 1;
const leafHash = (kh, vh) => sha256(concat(Uint8Array.of(0x00), kh, vh));
const innerHash = (left, right) => sha256(concat(Uint8Array.of(0x01), left, right));

/** §10.2: `key` holds `value` (or, with value null, nothing) under `root`. */
export function verifyStateProof(root, key, value, proof) {
  const kh = sha256(key);
  const m = proof.siblings.length;
  if (m > 256) return false;
  let h;
  if (value !== null) {
    if (proof.terminal === null || !equal(proof.terminal[0], kh) || !equal(proof.terminal[1], sha256(value))) return false;
    h = leafHash(kh, proof.terminal[1]);
  } else if (proof.terminal === null) {
    h = ZERO;
  } else {
    const [otherKh, otherVh] = proof.terminal;
    if (equal(otherKh, kh)) return false;
    for (let d = 0; d < m; d++) if (bit(otherKh, d) !== bit(kh, d)) return false;
    h = leafHash(otherKh, otherVh);
  }
  for (let d = m - 1; d >= 0; d--) h = bit(kh, d) ? innerHash(proof.siblings[d], h) : innerHash(h, proof.siblings[d]);
  return equal(h, root);
}

const quorum = (n) => Math.floor((2 * n) / 3) + 1;   // §13.1
const validatorsHash = (validators) => sha256(encode(validators));

function precommitSigned(chainId, validator, height, round, blockHash, signature) {
  const vote = encode([PRECOMMIT, height, round, blockHash]);
  return verifySignature(validator, encode([DOMAIN_VOTE, chainId, vote]), signature);
}

/** §13.1 against a trusted set; the number of signers. */
function checkCertified(header, certificate, validators, chainId) {
  const height = header.height;
  const blockHash = headerHash(header);
  if (certificate.height !== height || !equal(certificate.blockHash, blockHash)) {
    throw new ProofRejected(`the certificate is for block ${certificate.height} (${short(certificate.blockHash)}), `
      + `not for the header of block ${height} (${short(blockHash)})`);
  }
  const members = new Set(validators.map(toHex));
  let previous = new Uint8Array(0);
  for (const [validator, signature] of certificate.signatures) {
    const order = compare(validator, previous);
    if (order === 0) throw new ProofRejected(`the certificate of block ${height} names signer ${addressOf(validator)} twice`);
    if (order < 0) throw new ProofRejected(`the certificate signers of block ${height} are not in ascending order`);
    previous = validator;
    if (!members.has(toHex(validator))) {
      throw new ProofRejected(`the certificate of block ${height} is signed by ${addressOf(validator)}, not a trusted validator`);
    }
    if (!precommitSigned(chainId, validator, height, certificate.round, blockHash, signature)) {
      throw new ProofRejected(`the certificate signature of ${addressOf(validator)} does not verify for block ${height}`);
    }
  }
  const need = quorum(validators.length);
  const have = certificate.signatures.length;
  if (have < need) {
    throw new ProofRejected(`certificate of block ${height} has ${have} of ${validators.length} trusted signatures, quorum is ${need}`);
  }
  return have;
}

function checkHeader(header, trusted, chainId, what) {
  if (header.chainId !== chainId) {
    throw new ProofRejected(`${what} ${header.height} is of chain ${repr(header.chainId)}, not ${repr(chainId)}`);
  }
  if (header.height <= trusted.since) {
    throw new ProofRejected(`${what} ${header.height} is not above height ${trusted.since}, where the trusted validator set begins`);
  }
  const expected = validatorsHash(trusted.validators);
  if (!equal(header.validatorsHash, expected)) {
    throw new ProofRejected(`${what} ${header.height} names validator set ${short(header.validatorsHash)}, `
      + `not the trusted set ${short(expected)}, and no certified validator-set update leads to it`);
  }
}

/** §21.2 step 2: one change of the set, certified by the set trusted so far, the new set proven. */
function followUpdate(trusted, update, chainId) {
  const header = update.header;
  checkHeader(header, trusted, chainId, "validator-set update block");
  checkCertified(header, update.certificate, trusted.validators, chainId);
  const validators = update.validators;
  if (validators.length === 0 || new Set(validators.map(toHex)).size !== validators.length) {
    throw new ProofRejected(`the validator set of update block ${header.height} is empty or repeats a key`);
  }
  if (!verifyStateProof(header.stateRoot, KEY_VALIDATORS, encode(validators), update.proof)) {
    throw new ProofRejected(`the validator-set proof does not match the state root of update block ${header.height}`);
  }
  return { chainId: trusted.chainId, validators, since: header.height };
}

/**
 * FORMAT.md §21.2 on a bundle's bytes, against `trusted` = {chainId, validators: [Uint8Array(32)],
 * since: 0n} (the genesis set), for `account` (32 bytes) and `classId`. Returns what is proven, or
 * throws ProofRejected (ProofFormatError for malformed bytes) naming the first check that fails.
 */
export function verifyBundle(raw, trusted, account, classId) {
  const bundle = decodeBundle(raw);
  const chainId = trusted.chainId;
  if (!equal(bundle.account, account)) {
    throw new ProofRejected(`the proof is for account ${addressOf(bundle.account)}, not ${addressOf(account)}`);
  }
  if (bundle.classId !== classId) throw new ProofRejected(`the proof is for class ${repr(bundle.classId)}, not ${repr(classId)}`);
  let set = { chainId, validators: trusted.validators, since: BigInt(trusted.since ?? 0n) };
  for (const update of bundle.updates) set = followUpdate(set, update, chainId);
  const header = bundle.header;
  checkHeader(header, set, chainId, "block");
  const signers = checkCertified(header, bundle.certificate, set.validators, chainId);
  const root = header.stateRoot;
  if (!verifyStateProof(root, ascii(`class/${classId}`), bundle.classRecord, bundle.classProof)) {
    throw new ProofRejected(`the class record proof does not match the state root of block ${header.height}`);
  }
  let record;
  try {
    record = decode(bundle.classRecord);
  } catch (error) {
    throw new ProofRejected(`the proven class record of ${repr(classId)} does not decode: ${error.message}`);
  }
  if (!Array.isArray(record) || record.length !== CLASS_FIELDS) {  // only if the certified chain itself were broken
    throw new ProofRejected(`the proven class record of ${repr(classId)} does not decode: not a class record`);
  }
  const value = bundle.amount === 0n ? null : encode(bundle.amount);
  if (!verifyStateProof(root, concat(ascii("bal/"), account, ascii(classId)), value, bundle.balanceProof)) {
    throw new ProofRejected(`balance proof does not match the state root of block ${header.height}`);
  }
  return {
    account: addressOf(account),
    classId,
    amount: bundle.amount,
    decimals: record[2],
    className: record[1],
    height: Number(header.height),
    timeMs: Number(header.timeMs),
    blockHash: toHex(headerHash(header)),
    signers,
    validators: set.validators.length,
    updates: bundle.updates.length,
    verified: true,
  };
}

/**
 * The balance of `address` in `classId`, proven against the genesis validators this browser trusts
 * (js/trust.js): {amount (BigInt, minor units), height, verified: true, decimals, className, timeMs,
 * blockHash, signers, validators, updates, genesisHash}. Throws a readable Error on any failure:
 * ProofRejected, GenesisMismatch (an alarm), GenesisUnusable, or the API's error.
 */
export async function verifyBalance(address, classId) {
  const account = parseAddress(address);
  const trusted = await trustedGenesis();
  const answer = await get(`/v1/accounts/${addressOf(account)}/proof`, { class: classId });
  const hex = answer && answer.proof;
  if (typeof hex !== "string" || !/^(?:[0-9a-f]{2})*$/.test(hex)) throw new ProofFormatError("the answer carries no proof");
  return { ...verifyBundle(fromHex(hex), trusted, account, classId), genesisHash: trusted.genesisHash };
}
