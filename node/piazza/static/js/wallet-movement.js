// One history entry of /v1/accounts/{address}/txs read from the account's side: who moved how much of
// which class to whom, and why (the bodies of FORMAT.md §6.3; end-of-block effects of §15). The same
// reading as the CLI's `incoop wallet history` (wallet/cli.py, movement).

/**
 * {direction, classId, amount (BigInt | null), counterparty, category, reference}; direction is one of
 * sent, received, paid, issued, redeemed, reclaimed, escrow, other.
 */
export function movement(entry, address) {
  const body = entry.body || [];
  const kind = entry.type || "";
  const signer = entry.signer || "";
  const none = { direction: "other", classId: "", amount: null, counterparty: "", category: "", reference: "" };
  if (kind.endsWith(".end_block")) return effectMovement(entry, address);
  if ((kind === "credits.transfer" || kind === "credits.issue") && body.length === 4) {
    const [classId, to, amount, note] = body;
    if (kind === "credits.issue") {
      return { ...none, direction: signer === address ? "issued" : "received-issue", classId, amount: BigInt(amount),
               counterparty: signer === address ? to : signer, reference: note };
    }
    if (signer === address) return { ...none, direction: "sent", classId, amount: BigInt(amount), counterparty: to, reference: note };
    return { ...none, direction: "received", classId, amount: BigInt(amount), counterparty: signer, reference: note };
  }
  if (kind === "credits.pay" && body.length === 5) {
    const [classId, provider, amount, category, ref] = body;
    if (signer === address) {
      return { ...none, direction: "paid", classId, amount: BigInt(amount), counterparty: provider, category, reference: ref };
    }
    return { ...none, direction: "received-payment", classId, amount: BigInt(amount), counterparty: signer, category, reference: ref };
  }
  if (kind === "credits.redeem" && body.length === 3) {
    return { ...none, direction: "redeemed", classId: body[0], amount: BigInt(body[1]), reference: body[2] };
  }
  if (kind === "credits.reclaim" && body.length === 2) {
    return { ...none, direction: "reclaimed", classId: body[0], counterparty: signer };
  }
  return { ...none, reference: kind };
}

function effectMovement(entry, address) {
  const moves = entry.moves || [];
  if (moves.length === 0) return { direction: "other", classId: "", amount: null, counterparty: "", category: "", reference: entry.type };
  let net = 0n;
  for (const m of moves) {
    if (m.to === address) net += BigInt(m.amount);
    if (m.from === address) net -= BigInt(m.amount);
  }
  const first = moves[0];
  return {
    direction: net >= 0n ? "settled-in" : "settled-out", classId: first.class, amount: net < 0n ? -net : net,
    counterparty: "", category: "", reference: first.reference || "", effect: first.kind,
  };
}
