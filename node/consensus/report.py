"""Putting a double vote on chain: a `consensus.evidence` transaction signed by this node's key.

docs/consensus.md, "Evidence"; FORMAT.md §13.3. The vote keeper reports a pair of
conflicting votes of one validator; this node signs a transaction carrying both at
its next free nonce, with an expiry 100 blocks ahead, and admits it to its own
mempool, from where it is gossiped like any transaction.
"""

from __future__ import annotations

import logging

from ledger.address import to_address
from ledger.errors import TxError
from ledger.evidence import EVIDENCE, build_evidence_body
from ledger.tx import sign_tx
from ledger.votes import PREVOTE, Vote
from node.consensus.context import Context
from node.mempool import NODE

log = logging.getLogger("incoop.consensus")

EVIDENCE_EXPIRY = 100  # blocks


def report_equivocation(ctx: Context, first: Vote, second: Vote) -> None:
    log.warning("validator %s signed two different %s votes at height %d round %d: reporting it on chain",
                to_address(first.validator)[:12] + "…", "prevote" if first.type == PREVOTE else "precommit",
                first.height, first.round)
    nonce = ctx.mempool.next_free_nonce(ctx.key.pubkey)
    body = build_evidence_body(first, second)
    tx = sign_tx(ctx.key, ctx.chain_id, EVIDENCE.name, nonce, ctx.head.height + EVIDENCE_EXPIRY, body)
    try:
        ctx.mempool.admit(tx, ctx.next_height, source=NODE)
    except TxError as exc:
        log.warning("the evidence transaction was not admitted: %s", exc.message)
