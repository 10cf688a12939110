"""The explorer names a transaction body's fields from a table it ships (js/explorer/tx-fields.json);
the table must be the chain's rules' own: every type of the rules, each with the fields its parser reads,
in order.

The parser of each type declares its fields in the MALFORMED error it gives a body of the wrong length
(ledger/fields.py expect_fields): that error is asked for an empty body, so the names come from the same
tuple the parser unpacks (FORMAT.md §6), not from a second list.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from genesis.rules import RULES
from ledger.errors import Code, TxError

TABLE = Path(__file__).resolve().parents[1] / "node" / "piazza" / "static" / "js" / "explorer" / "tx-fields.json"


def declared_fields(type_name: str) -> list[str]:
    with pytest.raises(TxError) as refused:
        RULES.parse(type_name, ())
    assert refused.value.code == Code.MALFORMED
    match = re.fullmatch(r"body must have \d+ fields: (.*)", refused.value.message)
    assert match, f"{type_name}: the parser no longer names its fields ({refused.value.message!r})"
    return match.group(1).split(", ")


def test_the_explorers_table_of_body_fields_is_the_rules_own() -> None:
    table = json.loads(TABLE.read_text(encoding="utf-8"))["types"]
    assert sorted(table) == sorted(RULES.type_names), "types differ: regenerate tx-fields.json from the rules"
    for type_name in RULES.type_names:
        assert table[type_name] == declared_fields(type_name), f"{type_name}: fields differ from its parser's"
