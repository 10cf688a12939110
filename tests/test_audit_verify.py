"""The auditor's verifier, in-process: a real chain verifies, and every broken rule is named.

The chain: four validators (certificates carry three real precommit
signatures), identities registered and attested, credits transferred, issued,
paid, redeemed, and a double-signing validator's evidence recorded
(tests/credit_chain.py builds each block with the proposer's build_block and a
follower's apply_block). The auditor reads it from a list of raw blocks, as it
would from a node's API; the stored-state comparison reads a real data
directory (node/bench/chain.py).

Each failure case changes one thing in the raw blocks, the way someone
holding the bytes but not the validators' keys could, and checks that the
audit stops at that block with the check's name, the transaction or signer,
and a message that says what is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import plyvel
import pytest

from genesis.document import Genesis, load_genesis, parse_genesis
from genesis.rules import RULES
from identity.invariants import check_identities
from ledger import accounts, credits
from ledger.address import to_address
from ledger.block import (
    Block,
    Certificate,
    decode_raw_block,
    encode_raw_block,
    results_root,
    sign_precommit,
    tx_root,
)
from ledger.credit_invariants import check_credits
from ledger.crypto import SigningKey
from ledger.encoding import decode, encode
from ledger.evidence import build_evidence_body, check_evidence_records
from ledger.invariants import InvariantBroken
from ledger.transition import ChainHead
from ledger.tx import sign_tx
from ledger.votes import PREVOTE, sign_vote
from node.audit.pipeline import INLINE_BELOW_BLOCKS
from node.audit.verify import AuditFailure, AuditReport, Progress, verify_chain
from node.bench.chain import build_transfer_chain
from tests.chain_source import ListSource, audit_home
from tests.chain_source import certificate as certify
from tests.credit_chain import IDS, PROVIDER, CreditChain, credit_genesis_document
from tests.identity_chain import CHAIN_ID, ISSUER, KEYS, OTHER_VALIDATORS, VALIDATORS
from tests.leveldb_damage import tampered_copy

OUTSIDER = SigningKey(bytes([0x5F]) * 32)


def certificate(block: Block, signers: list[SigningKey] | None = None, round_: int = 0) -> Certificate:
    """A quorum's certificate (the first three validators) unless other signers are named."""
    return certify(block, CHAIN_ID, VALIDATORS[:3] if signers is None else signers, round_)


class AuditedChain:
    """The chain under audit: its genesis, its raw blocks and its head; tampering edits a copy of the raws."""

    def __init__(self) -> None:
        doc = credit_genesis_document()
        doc["validators"] = [{"name": f"v{i}", "pubkey": to_address(k.pubkey)} for i, k in enumerate(VALIDATORS)]
        self.genesis: Genesis = parse_genesis(json.dumps(doc))
        c = CreditChain(doc)
        blocks = list(c.setup_blocks)
        blocks.append(c.block([c.tx(KEYS[0], "credits.transfer", ("eur", KEYS[1].pubkey, 25, "lunch")),
                               c.tx(KEYS[1], "credits.transfer", ("eur", KEYS[2].pubkey, 5, ""))]))
        blocks.append(c.block([c.tx(ISSUER, "credits.issue", ("virtue", KEYS[0].pubkey, 40, "volunteering")),
                               c.tx(ISSUER, "credits.accredit", (PROVIDER.pubkey, ("culture",)), nonce=1)]))
        blocks.append(c.block([c.tx(KEYS[0], "credits.pay", ("virtue", PROVIDER.pubkey, 15, "culture", "ticket"))]))
        blocks.append(c.block([c.tx(PROVIDER, "credits.redeem", ("virtue", 10, "invoice 1"))]))
        a, b = (sign_vote(OTHER_VALIDATORS[0], CHAIN_ID, PREVOTE, 3, 0, bytes([n]) * 32) for n in (1, 2))
        blocks.append(c.block([c.tx(KEYS[3], "consensus.evidence", build_evidence_body(a, b))]))
        blocks.append(c.block([]))
        assert all(code == 0 for block in blocks for code in block.results)
        self.state_items = dict(c.state.items)
        self.head = c.head
        self.blocks = blocks
        self.raws: list[bytes | None] = [encode_raw_block(block, certificate(block)) for block in blocks]

    def source(self, raws: list[bytes | None] | None = None, head: ChainHead | None = None) -> ListSource:
        return ListSource(self.genesis.hash(), list(self.raws) if raws is None else raws, head or self.head)

    def height_with_txs(self, at_least: int = 1) -> int:
        return next(b.header.height for b in self.blocks if len(b.txs) >= at_least)


@pytest.fixture(scope="module")
def audited() -> AuditedChain:
    return AuditedChain()


def fails(audited: AuditedChain, raws: list[bytes | None] | None = None, workers: int | None = None,
          **kw) -> AuditFailure:
    """The audit's failure on these blocks: prepared in the auditing thread (a short chain) unless `workers`."""
    with pytest.raises(AuditFailure) as caught:
        verify_chain(RULES, audited.genesis, audited.source(raws, **kw), workers=workers)
    return caught.value


def replace(audited: AuditedChain, height: int, block: Block, cert: Certificate | None = None) -> list[bytes | None]:
    """The raw blocks with block `height` replaced (its certificate kept unless given)."""
    raws = list(audited.raws)
    raws[height - 1] = encode_raw_block(block, cert or decode_raw_block(raws[height - 1])[1])
    return raws


def with_header(block: Block, **fields) -> Block:
    return block._replace(header=block.header._replace(**fields))


def with_txs(block: Block, txs: tuple[bytes, ...]) -> Block:
    """Other transactions (one OK result each), with the header's tx_root recomputed (so that check passes)."""
    return with_header(block._replace(txs=txs, results=(0,) * len(txs)), tx_root=tx_root(txs))


# --- the chain verifies ----------------------------------------------------------------------


def test_a_valid_chain_verifies_with_its_invariants_and_reports_what_it_checked(audited: AuditedChain) -> None:
    seen: list[Progress] = []
    report = verify_chain(RULES, audited.genesis, audited.source(), workers=3, progress=seen.append)
    assert isinstance(report, AuditReport)
    assert (report.height, report.blocks) == (audited.head.height, len(audited.blocks))
    assert report.txs == sum(len(b.txs) for b in audited.blocks)
    assert (report.head_hash, report.state_root) == (audited.head.block_hash.hex(), audited.head.state_root.hex())
    assert report.genesis_hash == audited.genesis.hash().hex()
    assert (report.classes, report.identities, report.evidence) == (4, 4, 1)
    assert report.threads == 3 and report.tx_per_s > 0 and not report.stored_state_compared
    assert [p.height for p in seen] == list(range(1, audited.head.height + 1))
    assert seen[-1].txs == report.txs and all(p.target == audited.head.height for p in seen)


def test_one_thread_and_many_give_the_same_verdict(audited: AuditedChain) -> None:
    one = verify_chain(RULES, audited.genesis, audited.source(), workers=1)
    many = verify_chain(RULES, audited.genesis, audited.source(), workers=8)
    assert (one.state_root, one.head_hash, one.txs) == (many.state_root, many.head_hash, many.txs)


def test_a_short_chain_is_prepared_in_the_auditing_thread_with_the_same_verdict(audited: AuditedChain) -> None:
    """Fewer than INLINE_BELOW_BLOCKS blocks and no workers asked for: no process is started (its start would
    cost more than the chain's verification), and the verdict is the workers'."""
    inline = verify_chain(RULES, audited.genesis, audited.source())
    workers = verify_chain(RULES, audited.genesis, audited.source(), workers=2)
    assert inline.height < INLINE_BELOW_BLOCKS and (inline.threads, workers.threads) == (0, 2)
    assert (inline.state_root, inline.head_hash, inline.txs) == (workers.state_root, workers.head_hash, workers.txs)
    raws = replace(audited, 4, with_header(audited.blocks[3], time_ms=audited.blocks[2].header.time_ms))
    assert str(fails(audited, raws)) == str(fails(audited, raws, workers=2))


def test_a_chain_with_no_blocks_yet_verifies_at_genesis(audited: AuditedChain) -> None:
    from ledger.merkle import full_root

    g = audited.genesis
    at_genesis = ChainHead(0, g.hash(), full_root(g.initial_state().items()), g.genesis_time_ms)
    report = verify_chain(RULES, g, audited.source([], at_genesis))
    assert (report.height, report.txs, report.head_hash) == (0, 0, g.hash().hex())
    assert (report.classes, report.identities) == (4, 0)


# --- the source itself -----------------------------------------------------------------------


def test_a_source_on_another_genesis_fails_before_block_1(audited: AuditedChain) -> None:
    source = audited.source()
    source.claimed_genesis = bytes(32)
    with pytest.raises(AuditFailure) as caught:
        verify_chain(RULES, audited.genesis, source)
    assert (caught.value.check, caught.value.height) == ("genesis", 0)
    assert audited.genesis.hash().hex() in caught.value.message


def test_a_missing_block_is_named(audited: AuditedChain) -> None:
    raws = list(audited.raws)
    raws[2] = None
    failure = fails(audited, raws)
    assert (failure.check, failure.height) == ("missing", 3)


def test_a_source_that_fails_mid_chain_stops_the_audit_with_its_error(audited: AuditedChain) -> None:
    """An unreachable node is not a broken chain: the source's error comes out, not a verdict."""
    from node.audit.source import SourceError

    class FailingSource(ListSource):
        def raw_blocks(self, start: int, stop: int) -> Iterator[tuple[int, bytes | None]]:
            yield from list(super().raw_blocks(start, stop))[:2]
            raise SourceError("block 3: the node went away")

    source = FailingSource(audited.genesis.hash(), list(audited.raws), audited.head)
    with pytest.raises(SourceError, match="block 3: the node went away"):
        verify_chain(RULES, audited.genesis, source, workers=2)


def test_a_head_that_is_not_the_last_verified_block_fails(audited: AuditedChain) -> None:
    failure = fails(audited, head=audited.head._replace(state_root=bytes(32)))
    assert (failure.check, failure.height) == ("head", audited.head.height)


def test_a_head_that_differs_only_in_its_block_time_fails(audited: AuditedChain) -> None:
    """FORMAT.md §17 (5) checks height, hash, state root and time: a node lying about its time is caught."""
    failure = fails(audited, head=audited.head._replace(time_ms=audited.head.time_ms + 1))
    assert (failure.check, failure.height) == ("head", audited.head.height)
    assert f"time {audited.head.time_ms + 1} ms" in failure.message and f"time {audited.head.time_ms} ms" in failure.message


# --- block structure and links ---------------------------------------------------------------


def test_bytes_that_are_not_a_block_fail_to_decode(audited: AuditedChain) -> None:
    raws = list(audited.raws)
    raws[1] = raws[1][:-1]
    failure = fails(audited, raws)
    assert (failure.check, failure.height) == ("decode", 2)
    assert "does not decode" in failure.message


def test_a_block_out_of_place_breaks_the_height_sequence(audited: AuditedChain) -> None:
    raws = list(audited.raws)
    raws[1], raws[2] = raws[2], raws[1]
    failure = fails(audited, raws)
    assert (failure.check, failure.height) == ("height", 2)
    assert "says height 3" in failure.message


def test_a_block_that_does_not_link_to_its_parent_is_named(audited: AuditedChain) -> None:
    block = audited.blocks[3]
    failure = fails(audited, replace(audited, 4, with_header(block, prev_hash=bytes(32))))
    assert (failure.check, failure.height) == ("prev_hash", 4)
    assert f"the hash of block 3 {audited.blocks[2].hash().hex()}" in failure.message


def test_block_1_links_to_the_genesis_hash(audited: AuditedChain) -> None:
    failure = fails(audited, replace(audited, 1, with_header(audited.blocks[0], prev_hash=bytes(32))))
    assert (failure.check, failure.height) == ("prev_hash", 1)
    assert f"the genesis hash {audited.genesis.hash().hex()}" in failure.message


def test_a_block_time_not_after_its_parent_is_named(audited: AuditedChain) -> None:
    parent_time = audited.blocks[2].header.time_ms
    failure = fails(audited, replace(audited, 4, with_header(audited.blocks[3], time_ms=parent_time)))
    assert (failure.check, failure.height) == ("time", 4)


def test_a_block_of_another_chain_is_named(audited: AuditedChain) -> None:
    failure = fails(audited, replace(audited, 4, with_header(audited.blocks[3], chain_id="another-chain")))
    assert (failure.check, failure.height) == ("chain_id", 4)


def test_swapped_transactions_break_the_tx_root(audited: AuditedChain) -> None:
    height = audited.height_with_txs(2)
    block = audited.blocks[height - 1]
    swapped = block._replace(txs=(block.txs[1], block.txs[0], *block.txs[2:]))
    failure = fails(audited, replace(audited, height, swapped))
    assert (failure.check, failure.height) == ("tx_root", height)


# --- transaction signatures ------------------------------------------------------------------


def test_a_replaced_signature_names_the_transaction_and_its_signer(audited: AuditedChain) -> None:
    height = audited.height_with_txs(2)
    block = audited.blocks[height - 1]
    value = list(decode(block.txs[1]))
    value[7] = KEYS[5].sign(b"something else entirely")  # 64 valid-looking bytes
    forged = encode(tuple(value))
    failure = fails(audited, replace(audited, height, with_txs(block, (block.txs[0], forged, *block.txs[2:]))))
    assert (failure.check, failure.height, failure.tx_index) == ("tx_signature", height, 1)
    assert failure.tx_hash is not None and failure.signer == value[3]
    assert "signature does not verify" in failure.message
    line = str(failure)
    assert f"block {height}, transaction 1 (hash {failure.tx_hash.hex()}, signer {to_address(value[3])})" in line


def test_a_transaction_that_does_not_decode_is_named(audited: AuditedChain) -> None:
    height = audited.height_with_txs(2)
    block = audited.blocks[height - 1]
    failure = fails(audited, replace(audited, height, with_txs(block, (block.txs[0], b"\x93\x01\x02\x03"))))
    assert (failure.check, failure.height, failure.tx_index) == ("decode", height, 1)


# --- certificates ----------------------------------------------------------------------------


def test_a_certificate_below_quorum_fails(audited: AuditedChain) -> None:
    block = audited.blocks[2]
    failure = fails(audited, replace(audited, 3, block, certificate(block, VALIDATORS[:2])))
    assert (failure.check, failure.height) == ("certificate", 3)
    assert "2 signatures, a quorum is 3" in failure.message


def test_a_signer_twice_in_a_certificate_is_named(audited: AuditedChain) -> None:
    block = audited.blocks[2]
    cert = certificate(block, VALIDATORS[:2])
    cert = cert._replace(signatures=(cert.signatures[0], cert.signatures[0], cert.signatures[1]))
    failure = fails(audited, replace(audited, 3, block, cert))
    assert (failure.check, failure.height, failure.signer) == ("certificate", 3, cert.signatures[0][0])
    assert "a repeat" in failure.message


def test_a_certificate_signer_outside_the_validator_set_is_named(audited: AuditedChain) -> None:
    block = audited.blocks[2]
    failure = fails(audited, replace(audited, 3, block, certificate(block, [*VALIDATORS[:2], OUTSIDER])))
    assert (failure.check, failure.height, failure.signer) == ("certificate", 3, OUTSIDER.pubkey)
    assert "is not a validator of height 3" in failure.message


def test_a_certificate_signature_for_another_height_is_named(audited: AuditedChain) -> None:
    block = audited.blocks[2]
    good = certificate(block)
    bad_key = good.signatures[1][0]
    wrong = sign_precommit(next(k for k in VALIDATORS if k.pubkey == bad_key), CHAIN_ID, 4, 0, block.hash())
    cert = good._replace(signatures=(good.signatures[0], (bad_key, wrong), good.signatures[2]))
    failure = fails(audited, replace(audited, 3, block, cert))
    assert (failure.check, failure.height, failure.signer) == ("certificate", 3, bad_key)
    assert "does not verify" in failure.message


def test_a_certificate_of_another_block_fails(audited: AuditedChain) -> None:
    failure = fails(audited, replace(audited, 3, audited.blocks[2], certificate(audited.blocks[3])))
    assert (failure.check, failure.height, failure.signer) == ("certificate", 3, None)
    assert "certificate is for another block" in failure.message


def test_a_rewritten_block_with_its_old_signatures_fails_at_the_certificate(audited: AuditedChain) -> None:
    """Without the validators' keys, a changed header cannot carry a valid certificate."""
    block = with_header(audited.blocks[2], time_ms=audited.blocks[2].header.time_ms + 1)
    old = decode_raw_block(audited.raws[2])[1]
    failure = fails(audited, replace(audited, 3, block, old._replace(block_hash=block.hash())))
    assert (failure.check, failure.height) == ("certificate", 3)
    assert "does not verify" in failure.message and failure.signer == old.signatures[0][0]


# --- re-execution (with the validators' keys, so that only execution can catch it) ---------------


def test_a_wrong_state_root_is_caught_by_re_execution(audited: AuditedChain) -> None:
    block = with_header(audited.blocks[3], state_root=bytes(32))
    failure = fails(audited, replace(audited, 4, block, certificate(block)))
    assert (failure.check, failure.height) == ("execution", 4)
    assert "state root differs from re-execution" in failure.message


def test_a_wrong_result_is_caught_by_re_execution(audited: AuditedChain) -> None:
    height = audited.height_with_txs(1)
    block = audited.blocks[height - 1]
    block = block._replace(results=(1, *block.results[1:]))
    failure = fails(audited, replace(audited, height, block, certificate(block)))
    assert (failure.check, failure.height) == ("execution", height)
    assert "results differ" in failure.message


def test_a_replayed_transaction_is_caught_by_re_execution(audited: AuditedChain) -> None:
    later = audited.blocks[-1]
    replayed = with_txs(later, (audited.blocks[2].txs[0],))
    failure = fails(audited, replace(audited, later.header.height, replayed, certificate(replayed)))
    assert (failure.check, failure.height) == ("execution", later.header.height)
    assert "nonce" in failure.message


def test_a_strangers_transaction_in_a_block_is_caught_by_re_execution(audited: AuditedChain) -> None:
    """A faulty proposer (and a quorum that signed its block) wrote for a key the chain never knew:
    the block is invalid (FORMAT.md §8.1), whatever its certificate."""
    later = audited.blocks[-1]
    stranger = sign_tx(OUTSIDER, CHAIN_ID, "credits.transfer", 0, 10**9, ("eur", KEYS[0].pubkey, 1, ""))
    forged = with_txs(later, (stranger.raw,))
    forged = with_header(forged, results_root=results_root((1,)))._replace(results=(1,))  # its honest result
    failure = fails(audited, replace(audited, later.header.height, forged, certificate(forged)))
    assert (failure.check, failure.height) == ("execution", later.header.height)
    assert "does not know the signer" in failure.message


# --- the global invariants (FORMAT.md §9), on a state a buggy transition might leave ------------


def scan_of(items: dict[bytes, bytes]):
    def scan(prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(items):
            if key.startswith(prefix):
                yield key, items[key]

    return scan


class DictReader:
    def __init__(self, items: dict[bytes, bytes]):
        self.get = items.get


def broken(items: dict[bytes, bytes], check) -> InvariantBroken:
    with pytest.raises(InvariantBroken) as caught:
        check(DictReader(items), scan_of(items))
    return caught.value


def test_the_invariants_hold_on_the_chain_state(audited: AuditedChain) -> None:
    items = audited.state_items
    assert check_credits(DictReader(items), scan_of(items)) == 4
    assert check_identities(DictReader(items), scan_of(items)) == 4
    assert check_evidence_records(DictReader(items), scan_of(items), CHAIN_ID, audited.head.height) == 1


def test_a_balance_out_of_the_books_breaks_them(audited: AuditedChain) -> None:
    items = dict(audited.state_items)
    key = credits.balance_key(KEYS[0].pubkey, "eur")
    items[key] = encode(decode(items[key]) + 1)
    failure = broken(items, check_credits)
    assert failure.check == "books" and "class eur: the books do not balance" in failure.message


def test_a_zero_or_negative_balance_is_named(audited: AuditedChain) -> None:
    for value in (0, -5):
        items = dict(audited.state_items)
        items[credits.balance_key(KEYS[0].pubkey, "eur")] = encode(value)
        failure = broken(items, check_credits)
        assert failure.check == "balance" and f"holds {value}" in failure.message


def test_a_redemption_total_that_disagrees_with_the_books_is_named(audited: AuditedChain) -> None:
    items = dict(audited.state_items)
    key = next(k for k in items if k.startswith(b"credit/redeemed/virtue/"))
    items[key] = encode(decode(items[key]) + 1)
    assert "per-provider redemptions" in broken(items, check_credits).message


def test_two_identities_with_one_tag_are_caught(audited: AuditedChain) -> None:
    from identity import records as idr

    items = dict(audited.state_items)
    first = idr.decode_identity(items[idr.identity_key(IDS[0])])
    second = idr.decode_identity(items[idr.identity_key(IDS[1])])
    items[idr.identity_key(IDS[1])] = second._replace(tag=first.tag).encode()
    failure = broken(items, check_identities)
    assert failure.check == "identity" and first.tag.hex() in failure.message


def test_a_balance_holder_the_chain_does_not_know_is_caught(audited: AuditedChain) -> None:
    """Credits arriving make an account known (FORMAT.md §6.3); a state with a balance and no `acct/` is broken."""
    items = dict(audited.state_items)
    del items[accounts.account_key(KEYS[2].pubkey)]
    failure = broken(items, check_credits)
    assert failure.check == "balance" and "account record" in failure.message and failure.account == KEYS[2].pubkey
    failure = broken(items, check_identities)  # KEYS[2] is also an identity's key
    assert failure.check == "identity" and "account record" in failure.message


def test_a_key_bound_to_an_identity_that_does_not_hold_it_is_caught(audited: AuditedChain) -> None:
    from identity import records as idr

    items = dict(audited.state_items)
    items[idr.account_key(KEYS[0].pubkey)] = encode(IDS[1])
    failure = broken(items, check_identities)
    assert failure.check == "identity" and to_address(KEYS[0].pubkey) in failure.message


def test_an_evidence_record_under_another_offence_is_caught(audited: AuditedChain) -> None:
    items = dict(audited.state_items)
    key = next(k for k in items if k.startswith(b"evidence/"))
    items[key[:-1] + bytes([2])] = items.pop(key)
    failure = broken(items, lambda s, scan: check_evidence_records(s, scan, CHAIN_ID, 99))
    assert failure.check == "evidence" and "another offence" in failure.message


# --- a data directory: the stored state must be the replayed one --------------------------------


@pytest.fixture(scope="module")
def bench_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("audit-bench") / "home"
    build_transfer_chain(home, accounts=6, txs=40, block_txs=10)
    return home


def audit_data(home: Path) -> AuditReport:
    return audit_home(home, workers=2)


def test_a_data_directory_verifies_and_its_stored_state_equals_the_replay(bench_home: Path) -> None:
    report = audit_data(bench_home)
    assert (report.height, report.txs, report.classes) == (4, 40, 1)
    assert report.stored_state_compared


def test_a_changed_stored_balance_is_named_by_its_key(bench_home: Path, tmp_path: Path) -> None:
    db = plyvel.DB(str(bench_home / "data"))
    key, value = next(iter(db.iterator(prefix=b"sbal/")))
    db.close()
    copy = tampered_copy(bench_home, tmp_path, key, encode(decode(value) + 100))
    with pytest.raises(AuditFailure) as caught:
        audit_data(copy)
    assert (caught.value.check, caught.value.height) == ("stored_state", 4)
    assert f"bal/{key[5:].hex()}" in caught.value.message


def test_a_stored_state_entry_the_chain_never_wrote_is_named(bench_home: Path, tmp_path: Path) -> None:
    copy = tampered_copy(bench_home, tmp_path, b"sbal/" + bytes(32) + b"bench-eur", encode(5))
    with pytest.raises(AuditFailure) as caught:
        audit_data(copy)
    assert caught.value.check == "stored_state" and "not in the replayed state" in caught.value.message


def test_a_changed_state_tree_record_is_named(bench_home: Path, tmp_path: Path) -> None:
    copy = tampered_copy(bench_home, tmp_path, b"n\x00\x00", b"\x01" + bytes(32))
    with pytest.raises(AuditFailure) as caught:
        audit_data(copy)
    assert (caught.value.check, caught.value.height) == ("stored_tree", 4)
    assert "stored tree entry 0000" in caught.value.message


# --- the fast signature path of the verifier threads agrees with the transaction envelope ----------


def test_the_wire_signature_check_agrees_with_the_decoded_transaction(audited: AuditedChain) -> None:
    from ledger.tx import decode_tx
    from node.audit.pipeline import signature_from_wire

    raws = [raw for block in audited.blocks for raw in block.txs]
    assert len(raws) >= 10
    for raw in raws:
        tx = decode_tx(raw)
        assert signature_from_wire(raw) == (tx.hash, tx.signer, True)
        forged = raw[:-1] + bytes([raw[-1] ^ 1])
        assert signature_from_wire(forged)[2] is False


def test_a_non_canonical_transaction_signed_over_its_own_bytes_is_refused(audited: AuditedChain) -> None:
    """The threads rebuild the signed bytes from the wire; the replay's canonical decode still refuses them."""
    from ledger.crypto import DOMAIN_TX

    height = audited.height_with_txs(1)
    block = audited.blocks[height - 1]
    canonical_expiry = b"\xce" + (10**9).to_bytes(4, "big")
    tx = audited.blocks[-2].txs[0]  # the evidence report by KEYS[3], its only transaction
    unsigned = b"\x97" + tx[1:-66]
    assert unsigned.count(canonical_expiry) == 1
    long_form = unsigned.replace(canonical_expiry, b"\xcf" + (10**9).to_bytes(8, "big"))
    signature = KEYS[3].sign_for(DOMAIN_TX, CHAIN_ID, long_form)
    wire = b"\x98" + long_form[1:] + b"\xc4\x40" + signature
    forged = with_txs(block, (wire,))
    failure = fails(audited, replace(audited, height, forged, certificate(forged)))
    assert (failure.check, failure.height) == ("execution", height)
    assert "transaction 0: not a canonical transaction" in failure.message


# --- the command line: one line per failure, exit 1 for a broken chain, 2 for an audit that cannot run ----


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from node.cli import main

    status = main(["audit", "verify", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_cli_verifies_a_data_directory_and_prints_json(bench_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "--genesis", str(bench_home / "genesis.json"), "--data", str(bench_home),
                               "--json", "--workers", "2")
    verdict = json.loads(out)
    assert status == 0 and verdict["ok"] is True and (verdict["height"], verdict["txs"], verdict["threads"]) == (4, 40, 2)
    assert err.splitlines()[-1].startswith("audit: block 4/4, 40 txs, ")


def test_the_cli_names_a_broken_chain_in_one_line_with_status_1(
    bench_home: Path, audited: AuditedChain, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other-genesis.json"
    other.write_text(audited.genesis.to_json())
    status, out, err = run_cli(capsys, "--genesis", str(other), "--data", str(bench_home), "--quiet")
    assert status == 1 and out == ""
    assert err.splitlines() == [f"incoop: audit failed at genesis: the source follows genesis "
                                f"{load_genesis(bench_home / 'genesis.json').hash().hex()}, the trusted genesis is "
                                f"{audited.genesis.hash().hex()} [genesis]"]


def test_the_cli_exits_2_when_the_audit_cannot_run(bench_home: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    genesis = str(bench_home / "genesis.json")
    for argv, says in (
        (("--genesis", str(tmp_path / "none.json"), "--data", str(bench_home)), "cannot read genesis file"),
        (("--genesis", genesis, "--data", str(tmp_path)), "is not a LevelDB store"),
        (("--genesis", genesis, "--node", "http://127.0.0.1:9"), "cannot reach node"),
        (("--genesis", genesis, "--data", str(bench_home), "--workers", "0"), "--workers must be at least 1"),
    ):
        status, out, err = run_cli(capsys, *argv)
        assert status == 2 and len(err.splitlines()) == 1 and says in err, err


def test_a_deleted_history_record_is_named(bench_home: Path, tmp_path: Path) -> None:
    db = plyvel.DB(str(bench_home / "data"))
    key = next(iter(db.iterator(prefix=b"x", include_value=False)))
    db.close()
    copy = tampered_copy(bench_home, tmp_path, key, None)
    with pytest.raises(AuditFailure) as caught:
        audit_data(copy)
    assert (caught.value.check, caught.value.height) == ("stored_index", 4)
    assert f"stored history index entry {key[1:].hex()} is missing from the data directory" in caught.value.message
