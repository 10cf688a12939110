// Secret (commit-then-reveal) ballots in the page (FORMAT.md §6.7, "The commitment"): the vote is
// committed as SHA256(canonical(["incoop/agora/vote", ballot_id, identity, option, salt])) with a salt of
// 32 random bytes, and revealed after the closing with the option and the salt. Like `incoop agora
// commit` (docs/agora.md), the page keeps the option and the salt on this device until the reveal, in
// localStorage under "incoop.secret-vote.BALLOT.IDENTITY": written before the commitment is sent, so a
// page closed while it was on its way can still reveal it. Whoever can read this browser's storage can
// read the vote before the closing, as whoever can read the CLI's wallet folder can.
import { encode, sha256, fromHex, parseAddress, toHex, equalBytes } from "./codec.js";
import { transact } from "./piazza-act.js";
import { ownActs } from "./piazza-account.js";

const TAG = "incoop/agora/vote";
const keyOf = (ballotId, identity) => `incoop.secret-vote.${ballotId}.${identity}`;

export function commitmentOf(ballotId, identity, option, salt) {
  return sha256(encode([TAG, fromHex(ballotId), fromHex(identity), option, salt]));
}

function stored(ballotId, identity) {
  try {
    return JSON.parse(localStorage.getItem(keyOf(ballotId, identity)) || "null") || { current: null, pending: null };
  } catch {
    return { current: null, pending: null };
  }
}

function store(ballotId, identity, value) {
  if (!value.current && !value.pending) localStorage.removeItem(keyOf(ballotId, identity));
  else localStorage.setItem(keyOf(ballotId, identity), JSON.stringify(value));
}

/** The option this device committed in the ballot for the identity (not yet revealed), or null. */
export function committedOption(ballotId, identity) {
  const kept = stored(ballotId, identity);
  return kept.current ? kept.current.option : null;
}

/** Commit `option`: the salt is drawn and kept here first, then agora.commit is signed and sent. */
export async function commitVote(slot, button, ballotId, identity, option) {
  const salt = crypto.getRandomValues(new Uint8Array(32));
  const kept = stored(ballotId, identity);
  kept.pending = { option, salt: toHex(salt) };
  store(ballotId, identity, kept);
  const result = await transact(slot, "agora.commit", [fromHex(ballotId), commitmentOf(ballotId, identity, option, salt)], button);
  const after = stored(ballotId, identity);
  if (result) after.current = after.pending;
  after.pending = null;
  store(ballotId, identity, after);
  return result;
}

/**
 * The kept {option, salt} whose commitment is the one this key last put on the chain for the ballot,
 * or null (nothing kept here, or the commitment was made elsewhere).
 */
export async function revealable(ballotId, identity, address) {
  const kept = stored(ballotId, identity);
  const candidates = [kept.current, kept.pending].filter(Boolean);
  if (candidates.length === 0) return null;
  const last = (await ownActs(address, "agora.commit")).find((tx) => tx.body[0] === ballotId);
  if (!last) return null;
  const onChain = parseAddress(last.body[1]);   // a 32-byte value: the API writes it as an address
  return candidates.find((c) => equalBytes(commitmentOf(ballotId, identity, c.option, fromHex(c.salt)), onChain)) || null;
}

export async function revealVote(slot, button, ballotId, identity, choice) {
  const result = await transact(slot, "agora.reveal", [fromHex(ballotId), choice.option, fromHex(choice.salt)], button);
  if (result) store(ballotId, identity, { current: null, pending: null });
  return result;
}
