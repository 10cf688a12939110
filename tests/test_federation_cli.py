"""`incoop governance …` refuses a malformed request in one line, before it asks a password or a node
(wallet/federation_cli.py; the flows against a node: tests/functional/test_validator_vote.py)."""

from __future__ import annotations

import pytest

from ledger.address import to_address
from ledger.crypto import SigningKey
from node.cli import main

KEY = to_address(SigningKey(bytes([0x42]) * 32).pubkey)
OTHER = to_address(SigningKey(bytes([0x43]) * 32).pubkey)


@pytest.mark.parametrize(("argv", "words"), [
    (["propose-validator", "--add", KEY, "--as", "v"], "--add needs --peer"),
    (["propose-validator", "--add", KEY, "--peer", "http://x:1", "--as", "v"], "peer address ws://host:port"),
    (["propose-validator", "--remove", KEY, "--peer", "ws://x:1", "--as", "v"], "--remove takes neither"),
    (["propose-validator", "--replace", KEY, "--peer", "ws://x:1", "--as", "v"], "--replace needs --with"),
    (["propose-validator", "--replace", KEY, "--with", KEY, "--peer", "ws://x:1", "--as", "v"], "two different keys"),
    (["propose-param", "max_block_txs", "many", "--as", "v"], "must be a whole number"),
    (["propose-param", "max_block_txs", "0", "--as", "v"], "max_block_txs must be an integer from 1 to 100000"),
    (["authorise", "--role", "issuer", "--account", KEY, "--as", "v"], "give --name"),
    (["authorise", "--role", "issuer", "--account", KEY, "--name", "x", "--pattern", "member:a", "--as", "v"],
     "only an attester has patterns"),
    (["authorise", "--role", "attester", "--account", KEY, "--name", "x", "--as", "v"], "an attester has 1 to"),
    (["authorise", "--role", "arbiter", "--account", OTHER, "--revoke", "--name", "x", "--as", "v"],
     "--revoke takes neither"),
    (["approve", "nothex", "--as", "v"], "is not a proposal id"),
])
def test_a_malformed_request_is_one_line(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("INCOOP_WALLET", str(tmp_path / "wallet"))
    assert main(["governance", *argv, "--node", "http://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
