"""Genesis documents: a mistake is named before any node starts; the hash and state are deterministic."""

from __future__ import annotations

import json

import pytest

from genesis.document import GenesisError, parse_genesis
from ledger import credits
from ledger.address import to_address
from ledger.crypto import SigningKey
from ledger.merkle import full_root
from ledger.state import DictState
from node.cli import main

V = to_address(SigningKey(bytes([1]) * 32).pubkey)
ISSUER = to_address(SigningKey(bytes([2]) * 32).pubkey)
ANNA = to_address(SigningKey(bytes([3]) * 32).pubkey)


def document(**changes) -> dict:
    doc = {
        "chain_id": "test-chain",
        "genesis_time_ms": 1_700_000_000_000,
        "validators": [{"name": "v0", "pubkey": V}],
        "issuers": [{"name": "fed", "account": ISSUER}],
        "classes": [{"id": "eur", "name": "Euro credits", "issuer": ISSUER, "decimals": 2}],
        "balances": [{"account": ANNA, "class": "eur", "amount": 500}],
    }
    doc.update(changes)
    return doc


def test_valid_genesis_builds_the_initial_state_with_the_issued_supply():
    genesis = parse_genesis(json.dumps(document()))
    state = genesis.initial_state()
    assert credits.get_class(DictState(state), "eur").supply == 500
    assert credits.get_balance(DictState(state), SigningKey(bytes([3]) * 32).pubkey, "eur") == 500
    assert genesis.hash() == parse_genesis(genesis.to_json()).hash()
    assert len(full_root(state.items())) == 32


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"chain_id": "Bad Chain"}, "chain_id"),
        ({"validators": []}, "validators"),
        ({"validators": [{"name": "v0", "pubkey": V[:-1] + ("a" if V[-1] != "a" else "b")}]}, "checksum"),
        ({"balances": [{"account": ANNA, "class": "nope", "amount": 1}]}, "unknown class"),
        ({"balances": [{"account": ANNA, "class": "eur", "amount": 0}]}, "amount"),
        ({"balances": [{"account": ANNA, "class": "eur", "amount": 2**63}]}, "amount"),
        ({"classes": [{"id": "eur", "name": "E", "issuer": ANNA, "decimals": 2}]}, "not among the issuers"),
        ({"surprise": 1}, "surprise"),
        ({"issuers": [{"name": "a", "account": ISSUER}, {"name": "b", "account": ISSUER}]}, "appears twice"),
    ],
)
def test_invalid_genesis_is_refused_with_the_field_named(changes, message):
    with pytest.raises(GenesisError, match=message):
        parse_genesis(json.dumps(document(**changes)))


def test_genesis_new_and_validate_commands(tmp_path, capsys):
    out = tmp_path / "genesis.json"
    status = main([
        "genesis", "new", "--chain-id", "coop-fed", "--time-ms", "1",
        "--validator", f"coop1={V},http://127.0.0.1:8700", "--issuer", f"fed={ISSUER}",
        "--class", f"eur:Euro:{ISSUER}:2", "--balance", f"{ANNA}:eur:1000", "--out", str(out), "--json",
    ])
    assert status == 0
    written = json.loads(capsys.readouterr().out)
    assert main(["genesis", "validate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hash"] == written["hash"]
    # refusing to overwrite, and a bad address, are one-line errors
    assert main(["genesis", "new", "--chain-id", "x", "--validator", f"a={V}", "--out", str(out)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["genesis", "new", "--chain-id", "x", "--validator", "a=icnope", "--out", str(tmp_path / "g2")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("incoop: invalid genesis") and len(err.strip().splitlines()) == 1
