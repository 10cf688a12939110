"""`incoop wallet` and `incoop tx` without a node: keys, offline signing, and how errors look.

Run in-process through node.cli.main, as the installed `incoop` runs, so that
what is checked is what a person sees: one line on stdout for a result, one
`incoop: ...` line on stderr and a non-zero status for anything wrong.
"""

from __future__ import annotations

import json
import os
import socket
import stat

import pytest

from keys.keystore import Keystore
from ledger.address import from_address, to_address
from ledger.crypto import SigningKey, sha256
from ledger.tx import decode_tx
from node.cli import main

PASSWORD = "s3cret-enough"
CHAIN = "incoop-test"


@pytest.fixture
def wallet_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("INCOOP_WALLET", str(tmp_path / "wallet"))
    monkeypatch.setenv("INCOOP_PASSWORD", PASSWORD)
    return tmp_path / "wallet"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def ok(capsys, *argv: str) -> str:
    status, out, err = run(capsys, *argv)
    assert status == 0, err
    return out


def fails(capsys, *argv: str) -> str:
    """The command fails the way every incoop command must: one stderr line, nothing else."""
    status, out, err = run(capsys, *argv)
    assert status != 0
    assert out == ""
    assert err.startswith("incoop: ") and err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def _typo(address: str) -> str:
    """One character changed in the middle: the checksum must catch it."""
    i = 10
    return address[:i] + ("b" if address[i] == "a" else "a") + address[i + 1:]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- keys ----------------------------------------------------------------------------


def test_new_list_address(capsys, wallet_dir):
    anna = ok(capsys, "wallet", "new", "anna").strip()
    from_address(anna)  # a valid, checksummed address
    bob = ok(capsys, "wallet", "new", "bob").strip()
    assert anna != bob

    listed = ok(capsys, "wallet", "list").splitlines()
    assert [line.split() for line in listed] == [["anna", anna], ["bob", bob]]
    assert ok(capsys, "wallet", "address", "bob").strip() == bob

    as_json = json.loads(ok(capsys, "wallet", "list", "--json"))
    assert as_json == [{"name": "anna", "address": anna}, {"name": "bob", "address": bob}]
    assert json.loads(ok(capsys, "wallet", "address", "anna", "--json"))["address"] == anna

    path = wallet_dir / "anna.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert to_address(Keystore(wallet_dir).unlock("anna", PASSWORD).pubkey) == anna


def test_new_with_password_file_and_wallet_dir(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("INCOOP_PASSWORD", raising=False)
    password_file = tmp_path / "pw"
    password_file.write_text("from a file\n")
    password_file.chmod(0o600)
    other = tmp_path / "elsewhere"
    out = ok(capsys, "wallet", "new", "carla", "--password-file", str(password_file), "--wallet-dir", str(other), "--json")
    data = json.loads(out)
    assert data["name"] == "carla" and data["path"] == str(other / "carla.json")
    assert to_address(Keystore(other).unlock("carla", "from a file").pubkey) == data["address"]


def test_a_password_file_others_can_read_is_refused_in_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("INCOOP_PASSWORD", raising=False)
    password_file = tmp_path / "pw"
    password_file.write_text("hunter2\n")
    password_file.chmod(0o644)
    err = fails(capsys, "wallet", "new", "carla", "--password-file", str(password_file), "--wallet-dir", str(tmp_path / "w"))
    assert "open to other users (mode 0644)" in err and f"chmod 600 {password_file}" in err
    assert not (tmp_path / "w" / "carla.json").exists()


def test_a_new_wallet_folder_is_private_and_an_open_one_is_named_once(capsys, tmp_path, monkeypatch):
    """Key names are people's names: `wallet new` makes the folder 0700; commands on an open one warn, once."""
    monkeypatch.setenv("INCOOP_PASSWORD", PASSWORD)
    private = tmp_path / "private" / "wallet"
    ok(capsys, "wallet", "new", "anna", "--wallet-dir", str(private))
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    status, out, err = run(capsys, "wallet", "new", "anna", "--wallet-dir", str(shared))
    assert status == 0 and out.strip().startswith("ic")
    status, out, err = run(capsys, "wallet", "list", "--wallet-dir", str(shared))
    assert status == 0 and out.split()[0] == "anna"
    assert err.count("\n") == 1 and err.startswith("incoop: warning: the wallet folder") and "chmod 700" in err, err
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755


def test_new_without_any_password_source_is_an_error(capsys, tmp_path, monkeypatch):
    if os.isatty(0):
        pytest.skip("stdin is a terminal: the command would prompt")
    monkeypatch.delenv("INCOOP_PASSWORD", raising=False)
    err = fails(capsys, "wallet", "new", "anna", "--wallet-dir", str(tmp_path))
    assert "no password" in err
    assert not (tmp_path / "anna.json").exists()


def test_key_errors_are_one_line(capsys, wallet_dir):
    ok(capsys, "wallet", "new", "anna")
    assert "already exists" in fails(capsys, "wallet", "new", "anna")
    assert "invalid key name" in fails(capsys, "wallet", "new", "../evil")
    assert "no key named 'zed'" in fails(capsys, "wallet", "address", "zed")
    assert "no key named 'zed'" in fails(capsys, "wallet", "balance", "zed")
    assert "no key named 'zed'" in fails(capsys, "wallet", "history", "zed")
    assert ok(capsys, "wallet", "list", "--wallet-dir", str(wallet_dir / "none")).startswith("no keys")


# --- offline signing ---------------------------------------------------------------------


def _sign_args(*extra: str) -> list[str]:
    return ["--from", "anna", "--nonce", "7", "--expiry", "1234", "--chain-id", CHAIN, *extra]


def test_tx_sign_transfer_is_a_valid_signed_transaction(capsys, wallet_dir, tmp_path):
    anna = ok(capsys, "wallet", "new", "anna").strip()
    bob = to_address(SigningKey.generate().pubkey)
    out_file = tmp_path / "tx.bin"
    printed = ok(
        capsys, "tx", "sign", "transfer", *_sign_args(
            "--to", bob, "--class", "demo-eur", "--amount-minor", "1250", "--memo", "pizza", "--out", str(out_file)
        )
    ).strip()

    raw = out_file.read_bytes()
    tx = decode_tx(raw)
    assert tx.signature_ok()
    assert printed == tx.hash.hex() == sha256(raw).hex()
    assert tx.type == "credits.transfer" and tx.chain_id == CHAIN
    assert tx.signer == from_address(anna)
    assert (tx.nonce, tx.expiry) == (7, 1234)
    assert tx.body == ("demo-eur", from_address(bob), 1250, "pizza")


def test_tx_sign_generic_body_matches_the_transfer_form(capsys, wallet_dir, tmp_path):
    """Addresses and 0x-hex are two spellings of the same key bytes; Ed25519 is deterministic."""
    ok(capsys, "wallet", "new", "anna")
    bob_key = SigningKey.generate().pubkey
    bob = to_address(bob_key)
    a, b, c = tmp_path / "a.bin", tmp_path / "b.bin", tmp_path / "c.bin"
    ok(capsys, "tx", "sign", "transfer", *_sign_args("--to", bob, "--class", "demo-eur", "--amount-minor", "5", "--out", str(a)))
    ok(capsys, "tx", "sign", *_sign_args("--type", "credits.transfer", "--body", json.dumps(["demo-eur", bob, 5, ""]), "--out", str(b)))
    ok(capsys, "tx", "sign", *_sign_args("--type", "credits.transfer", "--body", json.dumps(["demo-eur", "0x" + bob_key.hex(), 5, ""]), "--out", str(c)))
    assert a.read_bytes() == b.read_bytes() == c.read_bytes()

    data = json.loads(ok(capsys, "tx", "sign", "--json", *_sign_args("--type", "credits.transfer", "--body", json.dumps(["demo-eur", bob, 5, ""]), "--out", str(b))))
    assert data["hash"] == decode_tx(b.read_bytes()).hash.hex()
    assert data["size"] == len(b.read_bytes())


def test_tx_sign_refuses_what_the_ledger_would_refuse(capsys, wallet_dir, tmp_path):
    ok(capsys, "wallet", "new", "anna")
    bob = to_address(SigningKey.generate().pubkey)
    typo = _typo(bob)
    out_file = str(tmp_path / "tx.bin")

    def sign(body, type_="credits.transfer"):
        return fails(capsys, "tx", "sign", *_sign_args("--type", type_, "--body", body, "--out", out_file))

    assert "checksum" in sign(json.dumps(["demo-eur", typo, 5, ""]))
    assert "fraction" in sign(json.dumps(["demo-eur", bob, 5.5, ""]))
    assert "not JSON" in sign("[1, 2")
    assert "JSON array" in sign('{"to": 1}')
    assert "bad hex" in sign(json.dumps(["demo-eur", "0xabc", 5, ""]))
    assert "malformed credits.transfer body" in sign(json.dumps(["demo-eur", bob, 0, ""]))
    assert "malformed credits.transfer body" in sign(json.dumps(["demo-eur", bob, 5]))
    assert "unknown transaction type" in sign("[]", type_="no.such")
    assert "checksum" in fails(
        capsys, "tx", "sign", "transfer", *_sign_args("--to", typo, "--class", "demo-eur", "--amount-minor", "5", "--out", out_file)
    )
    assert "--amount-minor" in fails(capsys, "tx", "sign", "transfer", *_sign_args("--to", bob, "--class", "demo-eur", "--out", out_file))
    assert "--type and --body" in fails(capsys, "tx", "sign", *_sign_args("--out", out_file))
    assert not os.path.exists(out_file)


def test_wrong_password_is_one_line(capsys, wallet_dir, tmp_path, monkeypatch):
    ok(capsys, "wallet", "new", "anna")
    monkeypatch.setenv("INCOOP_PASSWORD", "not the password")
    bob = to_address(SigningKey.generate().pubkey)
    err = fails(
        capsys, "tx", "sign", "transfer",
        *_sign_args("--to", bob, "--class", "demo-eur", "--amount-minor", "5", "--out", str(tmp_path / "tx.bin")),
    )
    assert "wrong password" in err
    assert "no key named 'nobody'" in fails(
        capsys, "tx", "sign", "transfer", "--from", "nobody", "--nonce", "0", "--expiry", "1", "--chain-id", CHAIN,
        "--to", bob, "--class", "demo-eur", "--amount-minor", "5", "--out", str(tmp_path / "tx.bin"),
    )


# --- errors that involve the node -----------------------------------------------------------


def test_node_down_is_one_line(capsys, wallet_dir, tmp_path):
    ok(capsys, "wallet", "new", "anna")
    bob = to_address(SigningKey.generate().pubkey)
    url = f"http://127.0.0.1:{_closed_port()}"
    assert f"cannot reach node at {url}" in fails(capsys, "wallet", "balance", "anna", "--node", url)
    assert f"cannot reach node at {url}" in fails(capsys, "wallet", "history", bob, "--node", url)
    assert f"cannot reach node at {url}" in fails(
        capsys, "wallet", "send", "--from", "anna", "--to", bob, "--class", "demo-eur", "--amount", "1", "--node", url
    )
    tx_file = tmp_path / "tx.bin"
    ok(capsys, "tx", "sign", "transfer", *_sign_args("--to", bob, "--class", "demo-eur", "--amount-minor", "5", "--out", str(tx_file)))
    assert f"cannot reach node at {url}" in fails(capsys, "tx", "submit", str(tx_file), "--node", url)


def test_input_errors_are_caught_before_the_node_is_asked(capsys, wallet_dir, tmp_path, monkeypatch):
    """A closed port as the node: these must fail on the input, not on the connection."""
    monkeypatch.setenv("INCOOP_NODE", f"http://127.0.0.1:{_closed_port()}")
    anna = ok(capsys, "wallet", "new", "anna").strip()
    assert "no key named 'bob'" in fails(capsys, "wallet", "send", "--from", "anna", "--to", "bob", "--class", "demo-eur", "--amount", "1")
    assert "checksum" in fails(capsys, "wallet", "send", "--from", "anna", "--to", _typo(anna), "--class", "demo-eur", "--amount", "1")
    assert "same account" in fails(capsys, "wallet", "send", "--from", "anna", "--to", anna, "--class", "demo-eur", "--amount", "1")
    assert "same account" in fails(capsys, "wallet", "send", "--from", "anna", "--to", "anna", "--class", "demo-eur", "--amount", "1")
    assert "no key named 'zed'" in fails(capsys, "wallet", "send", "--from", "zed", "--to", anna, "--class", "demo-eur", "--amount", "1")
    assert "--before" in fails(capsys, "wallet", "history", "anna", "--before", "12")
    assert "--limit" in fails(capsys, "wallet", "history", "anna", "--limit", "0")
    assert "not an address" in fails(capsys, "wallet", "balance", "icnotanaddress")
    assert "checksum" in fails(capsys, "wallet", "balance", _typo(anna))

    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x93\x01\x02")
    assert "not a signed transaction" in fails(capsys, "tx", "submit", str(garbage))
    assert "cannot read" in fails(capsys, "tx", "submit", str(tmp_path / "missing.bin"))
