"""`node.audit.export`: statements of credit movements, read off a replayed chain.

The chain is tests/credit_chain.py's (one validator, real Ed25519 signatures),
each block stored with a commit certificate signed by its validator, served
by an in-memory source (tests/chain_source.py). The year it plays:

1. height 3 (day 0, before the welfare window opens): the issuer accredits a
   provider and delegates issuance of `welfare` to an operator;
2. in the window: the issuer issues welfare to KEYS[0], the operator to
   KEYS[1]; an issue past the holder cap fails (no row);
3. one block holds a transfer of eur, a payment of welfare to the provider
   and a failing transfer (insufficient balance): rows in transaction order;
4. the provider redeems; the other issuer issues `other` and its holder
   passes some on;
5. day 2, after the window: the issuer reclaims welfare from KEYS[0],
   KEYS[1] and KEYS[5] (who holds nothing: no row).

The exactness property: genesis balances plus every row of a class give the
replayed chain's final balances, and the class books equal the sums of the
issue, redeem and reclaim rows.
"""

from __future__ import annotations

import io
import json

import pytest

from genesis.document import Genesis, parse_genesis
from genesis.rules import RULES
from ledger import credits
from ledger.block import Block, Certificate, decode_raw_block, encode_raw_block, sign_precommit
from ledger.crypto import SigningKey
from ledger.encoding import decode
from node.audit.export import (
    DAY_MS,
    MAX_ISO_TIME_MS,
    ExportError,
    Movement,
    Progress,
    Selection,
    Totals,
    day_start_ms,
    export_movements,
    iso_time,
)
from node.audit.export_cli import progress_printer
from tests.chain_source import ListSource, certificate
from tests.credit_chain import (
    ISSUER,
    KEYS,
    OPERATOR,
    OTHER_ISSUER,
    PROVIDER,
    VALID_FROM,
    CreditChain,
    credit_genesis_document,
)
from tests.identity_chain import CHAIN_ID, T0, VALIDATOR

ISSUE, TRANSFER, PAY, REDEEM, RECLAIM = (
    "credits.issue", "credits.transfer", "credits.pay", "credits.redeem", "credits.reclaim")


class CertifiedChain(CreditChain):
    """The credit chain, keeping every block as a node stores it: canonical [block, certificate]."""

    def block(self, txs, time_ms: int | None = None) -> Block:
        block = super().block(txs, time_ms)
        self.__dict__.setdefault("raw_blocks", []).append(encode_raw_block(block, certificate(block, CHAIN_ID, [VALIDATOR])))
        return block


class Year:
    def __init__(self) -> None:
        self.genesis: Genesis = parse_genesis(json.dumps(credit_genesis_document()))
        c = self.chain = CertifiedChain()
        c.block([c.tx(ISSUER, "credits.accredit", (PROVIDER.pubkey, ("health",))),
                 c.tx(ISSUER, "credits.delegate", ("welfare", OPERATOR.pubkey), nonce=1)])
        c.at(VALID_FROM)
        assert c.send(ISSUER, ISSUE, ("welfare", KEYS[0].pubkey, 300, "plan 2026")) == 0
        assert c.send(OPERATOR, ISSUE, ("welfare", KEYS[1].pubkey, 200, "plan 2026, late hire")) == 0
        assert c.send(ISSUER, ISSUE, ("welfare", KEYS[0].pubkey, 300, "over the cap")) != 0
        self.mixed = c.block([
            c.tx(KEYS[0], TRANSFER, ("eur", KEYS[1].pubkey, 150, "rent")),
            c.tx(KEYS[0], PAY, ("welfare", PROVIDER.pubkey, 120, "health", "visit 7"), nonce=1),
            c.tx(KEYS[2], TRANSFER, ("eur", KEYS[3].pubkey, 5000, "more than it has")),
        ])
        assert self.mixed.results[:2] == (0, 0) and self.mixed.results[2] != 0
        assert c.send(PROVIDER, REDEEM, ("welfare", 100, "SEPA 2026-1")) == 0
        assert c.send(OTHER_ISSUER, ISSUE, ("other", KEYS[3].pubkey, 40, "")) == 0
        assert c.send(KEYS[3], TRANSFER, ("other", KEYS[2].pubkey, 15, "")) == 0
        self.last_day0 = c.height
        c.at(T0 + 2 * DAY_MS)
        assert c.send(ISSUER, RECLAIM, ("welfare", (KEYS[1].pubkey, KEYS[5].pubkey, KEYS[0].pubkey))) == 0
        c.check_root()

    def source(self) -> ListSource:
        return ListSource(self.genesis.hash(), list(self.chain.raw_blocks))

    def export(self, **selection) -> list[Movement]:
        return list(export_movements(RULES, self.source(), self.genesis, Selection(**selection)))


@pytest.fixture(scope="module")
def year() -> Year:
    return Year()


def brief(movements: list[Movement]) -> list[tuple]:
    name = {k.pubkey: n for n, k in (("issuer", ISSUER), ("operator", OPERATOR), ("provider", PROVIDER),
                                      *((f"k{i}", k) for i, k in enumerate(KEYS)))}
    return [(m.type, name.get(m.sender, m.sender), name.get(m.receiver, m.receiver), m.class_id, m.amount, m.reference)
            for m in movements]


def test_every_moving_type_gives_its_rows_and_failed_transactions_none(year: Year) -> None:
    assert brief(year.export()) == [
        (ISSUE, None, "k0", "welfare", 300, "plan 2026"),
        (ISSUE, None, "k1", "welfare", 200, "plan 2026, late hire"),  # by the operator: a mint all the same
        (TRANSFER, "k0", "k1", "eur", 150, "rent"),
        (PAY, "k0", "provider", "welfare", 120, "health: visit 7"),
        (REDEEM, "provider", None, "welfare", 100, "SEPA 2026-1"),
        (ISSUE, None, "k3", "other", 40, ""),
        (TRANSFER, "k3", "k2", "other", 15, ""),
        (RECLAIM, "k1", None, "welfare", 200, ""),  # the balance at that moment, in the body's order
        (RECLAIM, "k0", None, "welfare", 180, ""),
    ]


def test_rows_come_in_height_then_transaction_order_with_the_block_time(year: Year) -> None:
    rows = year.export()
    mixed = [m for m in rows if m.height == year.mixed.header.height]
    assert [(m.tx_index, m.type) for m in mixed] == [(0, TRANSFER), (1, PAY)]
    assert all(m.time_ms == year.mixed.header.time_ms for m in mixed)
    assert [(m.height, m.tx_index) for m in rows] == sorted((m.height, m.tx_index) for m in rows)
    transfer = mixed[0]
    assert transfer.row() == {
        "height": transfer.height, "time": iso_time(year.mixed.header.time_ms), "tx_hash": transfer.tx_hash.hex(),
        "type": TRANSFER, "from": transfer.row()["from"], "to": transfer.row()["to"], "class": "eur",
        "amount": "1.50", "amount_minor": 150, "reference": "rent",
    }
    assert transfer.row()["from"].startswith("ic") and len(transfer.row()["tx_hash"]) == 64


def test_a_class_filter_keeps_only_that_class(year: Year) -> None:
    assert {m.class_id for m in year.export(class_id="welfare")} == {"welfare"}
    assert brief(year.export(class_id="other")) == [(ISSUE, None, "k3", "other", 40, ""), (TRANSFER, "k3", "k2", "other", 15, "")]


def test_an_issuer_filter_keeps_the_classes_it_issues_including_its_operators_issues(year: Year) -> None:
    mine = year.export(issuer=ISSUER.pubkey)
    assert {m.class_id for m in mine} == {"welfare", "eur"}
    assert (ISSUE, None, "k1", "welfare", 200, "plan 2026, late hire") in brief(mine)
    assert year.export(issuer=OPERATOR.pubkey) == []
    assert {m.class_id for m in year.export(issuer=OTHER_ISSUER.pubkey)} == {"other"}


def test_an_account_filter_keeps_its_movements_from_and_to_it(year: Year) -> None:
    assert brief(year.export(account=KEYS[1].pubkey)) == [
        (ISSUE, None, "k1", "welfare", 200, "plan 2026, late hire"),
        (TRANSFER, "k0", "k1", "eur", 150, "rent"),
        (RECLAIM, "k1", None, "welfare", 200, ""),
    ]
    assert year.export(account=KEYS[5].pubkey) == []  # named in the reclaim, but nothing was taken


def test_filters_combine(year: Year) -> None:
    assert brief(year.export(class_id="welfare", account=PROVIDER.pubkey)) == [
        (PAY, "k0", "provider", "welfare", 120, "health: visit 7"),
        (REDEEM, "provider", None, "welfare", 100, "SEPA 2026-1"),
    ]


def test_a_height_range_is_inclusive_at_both_ends(year: Year) -> None:
    height = year.mixed.header.height
    assert [m.height for m in year.export(from_height=height, to_height=height)] == [height, height]
    everything = year.export()
    assert year.export(from_height=height + 1) == [m for m in everything if m.height > height]
    assert year.export(to_height=height - 1) == [m for m in everything if m.height < height]


def test_a_date_range_is_of_utc_days_on_block_time(year: Year) -> None:
    day0 = day_start_ms(iso_time(T0)[:10])
    day2 = day0 + 2 * DAY_MS
    assert {m.type for m in year.export(since_ms=day2)} == {RECLAIM}
    until_day0 = year.export(until_ms=day0 + DAY_MS)  # --until DAY0 takes all of that day
    assert until_day0 and all(m.height <= year.last_day0 for m in until_day0)
    assert year.export(since_ms=day0 + DAY_MS, until_ms=day2) == []  # day 1: no blocks


def test_a_range_above_the_head_is_an_error(year: Year) -> None:
    with pytest.raises(ExportError, match="above the chain's head"):
        year.export(to_height=year.chain.height + 1)


def held_by_class(items: dict[bytes, bytes]) -> dict[str, dict[bytes, int]]:
    out: dict[str, dict[bytes, int]] = {}
    prefix = credits.PREFIX_BALANCE
    for key, raw in items.items():
        if key.startswith(prefix):
            out.setdefault(key[len(prefix) + 32:].decode(), {})[key[len(prefix):len(prefix) + 32]] = decode(raw)
    return out


def test_genesis_balances_plus_the_rows_are_the_final_balances_and_the_books_the_row_sums(year: Year) -> None:
    start = held_by_class(year.genesis.initial_state())
    final = held_by_class(year.chain.state.items)
    rows = year.export()
    for class_id in ("eur", "welfare", "virtue", "other"):
        balances = dict(start.get(class_id, {}))
        sums = {ISSUE: 0, REDEEM: 0, RECLAIM: 0}
        for m in (m for m in rows if m.class_id == class_id):
            if m.sender is not None:
                balances[m.sender] = balances.get(m.sender, 0) - m.amount
            if m.receiver is not None:
                balances[m.receiver] = balances.get(m.receiver, 0) + m.amount
            if m.type in sums:
                sums[m.type] += m.amount
        assert {k: v for k, v in balances.items() if v} == final.get(class_id, {}), class_id
        books = year.chain.cls(class_id)
        assert books.issued == sum(start.get(class_id, {}).values()) + sums[ISSUE], class_id
        assert (books.redeemed, books.reclaimed) == (sums[REDEEM], sums[RECLAIM]), class_id


def test_the_summary_totals_rows_per_class_and_type_and_an_accounts_sides(year: Year) -> None:
    totals = Totals(KEYS[0].pubkey)
    for m in year.export(account=KEYS[0].pubkey):
        totals.add(m)
    assert totals.as_json() == {"rows": 4, "classes": {
        "eur": {"rows": 1, "amount_by_type": {TRANSFER: 150}, "received": 0, "sent": 150},
        "welfare": {"rows": 3, "amount_by_type": {ISSUE: 300, PAY: 120, RECLAIM: 180}, "received": 300, "sent": 300},
    }}


def test_a_source_of_another_genesis_is_refused_before_any_block(year: Year) -> None:
    doc = credit_genesis_document()
    doc["genesis_time_ms"] += 1
    other = parse_genesis(json.dumps(doc))
    with pytest.raises(ExportError, match="follows another genesis"):
        list(export_movements(RULES, year.source(), other, Selection()))


def test_a_source_that_claims_the_genesis_but_serves_another_chain_is_refused_at_block_1(year: Year) -> None:
    doc = credit_genesis_document()
    doc["genesis_time_ms"] += 1
    other = parse_genesis(json.dumps(doc))
    lying = ListSource(other.hash(), list(year.chain.raw_blocks))
    with pytest.raises(ExportError, match="block 1 does not follow this genesis"):
        list(export_movements(RULES, lying, other, Selection()))


def test_a_block_whose_certificate_is_not_the_validators_is_refused(year: Year) -> None:
    source = year.source()
    block, _ = decode_raw_block(source.raws[4])
    impostor = SigningKey(bytes([0x99]) * 32)
    forged = Certificate(5, 0, block.hash(), ((impostor.pubkey, sign_precommit(impostor, CHAIN_ID, 5, 0, block.hash())),))
    source.raws[4] = encode_raw_block(block, forged)
    with pytest.raises(ExportError, match="invalid chain: certificate signer"):
        list(export_movements(RULES, source, year.genesis, Selection()))


def test_a_block_whose_results_were_altered_is_refused(year: Year) -> None:
    source = year.source()
    index = year.mixed.header.height - 1
    block, cert = decode_raw_block(source.raws[index])
    source.raws[index] = encode_raw_block(block._replace(results=(0, 0, 0)), cert)
    with pytest.raises(ExportError, match="invalid chain"):
        list(export_movements(RULES, source, year.genesis, Selection()))


def test_a_missing_block_is_an_error_not_a_short_statement(year: Year) -> None:
    source = year.source()
    source.raws[3] = None
    with pytest.raises(ExportError, match="block 4 is missing"):
        list(export_movements(RULES, source, year.genesis, Selection()))


def test_a_block_time_no_iso_date_can_write_is_an_error_not_a_traceback() -> None:
    c = CertifiedChain()
    c.at(MAX_ISO_TIME_MS + 1)
    genesis = parse_genesis(json.dumps(credit_genesis_document()))
    with pytest.raises(ExportError, match="past the year 9999"):
        list(export_movements(RULES, ListSource(genesis.hash(), c.raw_blocks), genesis, Selection()))


def test_progress_is_printed_at_most_once_per_interval() -> None:
    every, never = io.StringIO(), io.StringIO()
    eager, quiet = progress_printer(every, interval=0.0), progress_printer(never, interval=3600.0)
    for height in (1, 2, 3):
        eager(Progress(height, 3))
        quiet(Progress(height, 3))
    assert every.getvalue().splitlines() == ["replayed 1/3 blocks", "replayed 2/3 blocks", "replayed 3/3 blocks"]
    assert never.getvalue() == ""


def test_times_are_iso_8601_utc_with_milliseconds() -> None:
    assert iso_time(1_700_000_000_007) == "2023-11-14T22:13:20.007Z"
    assert day_start_ms("2023-11-14") == 1_699_920_000_000
    with pytest.raises(ValueError):
        day_start_ms("14/11/2023")
