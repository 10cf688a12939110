"""The credits module's invariants (FORMAT.md §9, "Credit invariants"), checked by the auditor.

- every balance is 1 … 2^63 − 1 of an existing class, held by a known account;
- every escrow lot holds 1 … 2^63 − 1 of an existing class, paid by a known
  account, and a class's lots add up to its `escrowed`;
- every class's books balance: issued = held + escrowed + redeemed + reclaimed;
  per-holder issue totals and per-provider redemptions add up to the books;
  caps hold.
"""

from __future__ import annotations

from ledger import accounts, credits
from ledger import credit_rules as rules
from ledger.address import to_address
from ledger.credit_ops import PREFIX_ESCROW, Lot
from ledger.encoding import EncodingError
from ledger.invariants import InvariantBroken, StateScan, amount_of, class_totals, value_of
from ledger.state import StateReader


def _escrow_totals(state: StateReader, scan: StateScan) -> dict[str, int]:
    totals: dict[str, int] = {}
    for key, raw in scan(PREFIX_ESCROW):
        value = value_of(raw, key, "escrow")
        try:
            lot = Lot(*value)
        except TypeError:
            raise InvariantBroken("escrow", f"escrow lot {key[len(PREFIX_ESCROW):].hex()} is not a lot record") from None
        if type(lot.amount) is not int or not 0 < lot.amount <= 2**63 - 1:
            raise InvariantBroken("escrow", f"escrow lot {key[len(PREFIX_ESCROW):].hex()} holds {lot.amount!r}")
        if state.get(credits.class_key(lot.class_id)) is None:
            raise InvariantBroken("escrow", f"escrow lot {key[len(PREFIX_ESCROW):].hex()} is of class "
                                            f"{lot.class_id!r}, which does not exist")
        if not accounts.is_known(state, lot.payer):  # it paid: it signed, or a module spent for it
            raise InvariantBroken("escrow", f"escrow lot {key[len(PREFIX_ESCROW):].hex()} was paid by "
                                            f"{to_address(lot.payer)}, which has no account record (acct/)", lot.payer)
        totals[lot.class_id] = totals.get(lot.class_id, 0) + lot.amount
    return totals


def check_credits(state: StateReader, scan: StateScan, chain_id: str = "", height: int = 0) -> int:
    """Balances, escrow lots and books of every class; returns the number of classes."""
    held: dict[str, int] = {}
    for key, raw in scan(credits.PREFIX_BALANCE):
        rest = key[len(credits.PREFIX_BALANCE):]
        holder, class_id = rest[:32], rest[32:].decode("ascii", "replace")
        amount = amount_of(raw, key, "balance")
        if state.get(credits.class_key(class_id)) is None:
            raise InvariantBroken("balance", f"{to_address(holder)} holds {amount} of class {class_id!r}, which does not exist",
                                  holder)
        if not accounts.is_known(state, holder):
            raise InvariantBroken("balance", f"{to_address(holder)} holds {amount} of class {class_id!r} but has no "
                                             "account record (acct/)", holder)
        held[class_id] = held.get(class_id, 0) + amount
    escrowed = _escrow_totals(state, scan)
    issued_to = class_totals(scan, rules.PREFIX_ISSUED, "books")
    redeemed_by = class_totals(scan, rules.PREFIX_REDEEMED, "books")
    count = 0
    for key, raw in scan(credits.PREFIX_CLASS):
        class_id = key[len(credits.PREFIX_CLASS):].decode("ascii", "replace")
        try:
            record = credits.decode_class(raw)
        except (EncodingError, TypeError, ValueError) as exc:
            raise InvariantBroken("books", f"class {class_id}: the record does not decode: {exc}") from None
        total = held.get(class_id, 0)
        if escrowed.get(class_id, 0) != record.escrowed:
            raise InvariantBroken("books", f"class {class_id}: its escrow lots hold {escrowed.get(class_id, 0)}, the "
                                           f"books say escrowed {record.escrowed}")
        if record.issued != total + record.escrowed + record.redeemed + record.reclaimed:
            raise InvariantBroken(
                "books",
                f"class {class_id}: the books do not balance: issued {record.issued} ≠ held {total} + escrowed "
                f"{record.escrowed} + redeemed {record.redeemed} + reclaimed {record.reclaimed}",
            )
        if record.budget and record.issued > record.budget:
            raise InvariantBroken("books", f"class {class_id}: issued {record.issued} exceeds its budget {record.budget}")
        if record.holder_cap and issued_to.get(class_id, 0) != record.issued:
            raise InvariantBroken("books", f"class {class_id}: per-holder issue totals sum to "
                                           f"{issued_to.get(class_id, 0)}, the books say issued {record.issued}")
        if redeemed_by.get(class_id, 0) != record.redeemed:
            raise InvariantBroken("books", f"class {class_id}: per-provider redemptions sum to "
                                           f"{redeemed_by.get(class_id, 0)}, the books say redeemed {record.redeemed}")
        count += 1
    for key, raw in scan(rules.PREFIX_ISSUED):
        class_id = key[len(rules.PREFIX_ISSUED):].split(b"/", 1)[0].decode("ascii", "replace")
        record = credits.get_class(state, class_id)
        if record is None or not record.holder_cap:
            raise InvariantBroken("books", f"a per-holder issue total of class {class_id!r}, which has no holder cap")
        if amount_of(raw, key, "books") > record.holder_cap:
            holder = key[-32:]
            raise InvariantBroken("books", f"class {class_id}: {to_address(holder)} was issued more than the holder cap "
                                           f"{record.holder_cap}", holder)
    return count


