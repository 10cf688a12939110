"""The resident's wallet against a real node process: the README flow, as a person types it.

Scenario (one devnet node for the module; demo keys anna and marco hold 1000.00 demo-eur):
1. `wallet new bob`, `wallet send --from anna --to <bob> --amount 12.50`: committed, OK;
   `wallet balance bob` shows 12.50, `wallet history` shows the transfer on both sides.
2. `tx sign` offline (both forms) + `tx submit`: committed, the balances move.
3. Sending more than the balance exits non-zero naming INSUFFICIENT_BALANCE; nothing moves.
4. Several `wallet send --no-wait` in a row step over their own pending nonces.
5. History pages with --limit and the cursor the node returns.
6. What the node refuses (replayed, wrong chain, expired) is one line with the node's code.
7. NodeClient: every call of docs/api-contract.md, and its errors as NodeError.
8. The `incoop` program itself, as a separate process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ledger.address import to_address
from ledger.block import decode_raw_block
from ledger.crypto import SigningKey
from ledger.tx import decode_tx
from node.cli import main
from node.devnet_layout import DEMO_CLASS, DEVNET_PASSWORD
from tests.functional.framework import REPO, Devnet, running_devnet
from wallet.client import NodeClient, NodeError

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from running_devnet(tmp_path_factory.mktemp("wallet") / "devnet")


@pytest.fixture(autouse=True)
def wallet_env(devnet: Devnet, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the devnet tells a person to export before using the wallet."""
    monkeypatch.setenv("INCOOP_NODE", devnet.node.url)
    monkeypatch.setenv("INCOOP_WALLET", str(devnet.layout.wallet_dir))
    monkeypatch.setenv("INCOOP_PASSWORD", DEVNET_PASSWORD)


@pytest.fixture(scope="module")
def client(devnet: Devnet) -> NodeClient:
    return NodeClient(devnet.node.url)


def incoop(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def ok(capsys: pytest.CaptureFixture, *argv: str) -> str:
    status, out, err = incoop(capsys, *argv)
    assert status == 0, err
    assert err == ""
    return out


def fails(capsys: pytest.CaptureFixture, *argv: str) -> str:
    status, out, err = incoop(capsys, *argv)
    assert status != 0 and out == ""
    assert err.startswith("incoop: ") and err.count("\n") == 1, err
    return err


def balance(capsys: pytest.CaptureFixture, who: str) -> dict:
    data = json.loads(ok(capsys, "wallet", "balance", who, "--json"))
    data["amounts"] = {b["class"]: b["formatted"] for b in data["balances"]}
    return data


def address(capsys: pytest.CaptureFixture, name: str) -> str:
    return ok(capsys, "wallet", "address", name).strip()


def ensure_bob(capsys: pytest.CaptureFixture) -> str:
    if "bob" not in ok(capsys, "wallet", "list"):
        ok(capsys, "wallet", "new", "bob")
    return address(capsys, "bob")


# --- 1-3: the README flow ------------------------------------------------------------------


def test_readme_flow(capsys, devnet, client):
    bob = ok(capsys, "wallet", "new", "bob").strip()
    anna = address(capsys, "anna")
    assert bob == address(capsys, "bob") != anna
    assert balance(capsys, "anna")["amounts"] == {DEMO_CLASS: "1000.00"}
    assert "no credits" in ok(capsys, "wallet", "balance", "bob")

    out = ok(capsys, "wallet", "send", "--from", "anna", "--to", bob, "--class", DEMO_CLASS, "--amount", "12.50", "--memo", "pizza")
    assert out.startswith("committed ") and out.strip().endswith(": OK"), out
    tx_hash = out.split()[1]
    assert client.tx(tx_hash)["status"] == "committed"

    assert f"{DEMO_CLASS}  12.50" in ok(capsys, "wallet", "balance", "bob")
    assert balance(capsys, bob)["amounts"] == {DEMO_CLASS: "12.50"}
    after = balance(capsys, "anna")
    assert after["amounts"] == {DEMO_CLASS: "987.50"} and after["nonce"] == 1

    bob_history = ok(capsys, "wallet", "history", "bob")
    assert f"received 12.50 {DEMO_CLASS} from {anna} (pizza)" in bob_history and tx_hash in bob_history
    anna_history = json.loads(ok(capsys, "wallet", "history", "anna", "--json"))
    assert anna_history["txs"][0]["hash"] == tx_hash
    assert anna_history["txs"][0]["result"]["code"] == "OK"
    assert f"sent 12.50 {DEMO_CLASS} to {bob}" in ok(capsys, "wallet", "history", anna)


def test_tx_sign_offline_then_submit(capsys, devnet, client, tmp_path):
    bob = ensure_bob(capsys)
    status = client.status()
    before = balance(capsys, "bob")["balances"]
    before_minor = next((b["amount"] for b in before if b["class"] == DEMO_CLASS), 0)

    # the convenience form: marco pays bob 1.00, signed with no node involved
    nonce = balance(capsys, "marco")["nonce"]
    signed = tmp_path / "transfer.bin"
    common = ["--nonce", str(nonce), "--expiry", str(status["height"] + 100), "--chain-id", status["chain_id"]]
    printed = ok(capsys, "tx", "sign", "transfer", "--from", "marco", "--to", bob, "--class", DEMO_CLASS,
                 "--amount-minor", "100", *common, "--out", str(signed), "--node", "http://127.0.0.1:9").strip()
    assert printed == decode_tx(signed.read_bytes()).hash.hex()
    out = ok(capsys, "tx", "submit", str(signed))
    assert out.startswith(f"committed {printed} at height ") and out.strip().endswith(": OK")

    # the generic form: a JSON body with the recipient as an address
    generic = tmp_path / "generic.bin"
    body = json.dumps([DEMO_CLASS, bob, 250, "generic form"])
    common[1] = str(nonce + 1)
    tx_hash = ok(capsys, "tx", "sign", "--from", "marco", "--type", "credits.transfer", "--body", body, *common, "--out", str(generic)).strip()
    submitted = json.loads(ok(capsys, "tx", "submit", str(generic), "--no-wait", "--json"))
    assert submitted == {"hash": tx_hash, "status": "pending"}
    assert client.wait_for_tx(tx_hash, timeout=20)["result"]["code"] == "OK"

    after = next(b["amount"] for b in balance(capsys, "bob")["balances"] if b["class"] == DEMO_CLASS)
    assert after == before_minor + 350


def test_more_than_the_balance_fails_with_its_code(capsys, devnet, client):
    bob = ensure_bob(capsys)
    before = balance(capsys, "anna")
    err = fails(capsys, "wallet", "send", "--from", "anna", "--to", bob, "--class", DEMO_CLASS, "--amount", "5000.00")
    # refused at admission with its code (check-tx, docs/admission.md), not committed as a failure
    assert "INSUFFICIENT_BALANCE" in err and "refused" in err
    after = balance(capsys, "anna")
    assert after["amounts"] == before["amounts"]
    assert after["nonce"] == before["nonce"]  # never in a block: the nonce is still free


# --- 4-6 ------------------------------------------------------------------------------------


def test_no_wait_sends_step_over_pending_nonces(capsys, devnet, client):
    bob = ensure_bob(capsys)
    start = balance(capsys, "marco")
    hashes = []
    for _ in range(3):
        data = json.loads(ok(capsys, "wallet", "send", "--from", "marco", "--to", bob, "--class", DEMO_CLASS, "--amount", "0.01", "--no-wait", "--json"))
        assert data["status"] == "pending"
        hashes.append(data["hash"])
    for tx_hash in hashes:
        assert client.wait_for_tx(tx_hash, timeout=20)["result"]["code"] == "OK"
    assert balance(capsys, "marco")["nonce"] == start["nonce"] + 3


def test_history_pages_with_its_cursor(capsys, devnet, client):
    ensure_bob(capsys)
    for _ in range(3):  # the recipient by its key name in the wallet, as `pay` takes it
        ok(capsys, "wallet", "send", "--from", "anna", "--to", "bob", "--class", DEMO_CLASS, "--amount", "0.02")
    full = json.loads(ok(capsys, "wallet", "history", "bob", "--limit", "200", "--json"))["txs"]
    assert len(full) >= 3
    seen = []
    cursor = None
    while True:
        args = ["wallet", "history", "bob", "--limit", "2", "--json"] + (["--before", cursor] if cursor else [])
        page = json.loads(ok(capsys, *args))
        seen += [tx["hash"] for tx in page["txs"]]
        cursor = page["next"]
        if cursor is None:
            break
    assert seen == [tx["hash"] for tx in full]
    heights = [(tx["height"], tx["index"]) for tx in full]
    assert heights == sorted(heights, reverse=True)
    assert "more: --before" in ok(capsys, "wallet", "history", "bob", "--limit", "1")


def test_what_the_node_refuses_is_one_line(capsys, devnet, client, tmp_path):
    bob = ensure_bob(capsys)
    status = client.status()
    nonce = balance(capsys, "marco")["nonce"]

    def sign(name: str, *, nonce: int, expiry: int, chain: str) -> str:
        path = tmp_path / name
        ok(capsys, "tx", "sign", "transfer", "--from", "marco", "--to", bob, "--class", DEMO_CLASS, "--amount-minor", "1",
           "--nonce", str(nonce), "--expiry", str(expiry), "--chain-id", chain, "--out", str(path))
        return str(path)

    good = sign("good.bin", nonce=nonce, expiry=status["height"] + 100, chain=status["chain_id"])
    ok(capsys, "tx", "submit", good)
    assert "BAD_NONCE" in fails(capsys, "tx", "submit", good)
    assert "WRONG_CHAIN" in fails(capsys, "tx", "submit", sign("chain.bin", nonce=nonce + 1, expiry=status["height"] + 100, chain="another-chain"))
    assert "EXPIRED" in fails(capsys, "tx", "submit", sign("old.bin", nonce=nonce + 1, expiry=1, chain=status["chain_id"]))
    assert "no credit class 'nope'" in fails(capsys, "wallet", "send", "--from", "anna", "--to", bob, "--class", "nope", "--amount", "1")
    assert "more than 2 decimals" in fails(capsys, "wallet", "send", "--from", "anna", "--to", bob, "--class", DEMO_CLASS, "--amount", "0.001")
    assert balance(capsys, "marco")["nonce"] == nonce + 1


# --- 7: the client itself ----------------------------------------------------------------------


def test_client_speaks_the_contract(devnet, client):
    status = client.status()
    assert status["chain_id"] == devnet.chain_id
    assert {"genesis_hash", "height", "block_hash", "state_root", "role", "node_address", "mempool_size"} <= set(status)

    classes = {c["id"]: c for c in client.classes()}
    assert classes[DEMO_CLASS]["decimals"] == 2
    assert client.credit_class(DEMO_CLASS) == classes[DEMO_CLASS]

    anna = devnet.keys["anna"]
    account = client.account(to_address(anna.pubkey))
    tx = devnet.transfer("anna", "marco", 1, account["nonce"], expiry=status["height"] + 100)
    assert client.submit_tx(tx.raw) == {"hash": tx.hash.hex(), "status": "pending"}
    record = client.wait_for_tx(tx.hash, timeout=20)
    assert record["status"] == "committed" and record["result"]["code"] == "OK"

    block = client.block(record["height"])
    assert tx.hash.hex() in [t["hash"] for t in block["txs"]]
    raw_block, certificate = decode_raw_block(client.block_raw(record["height"]))
    assert raw_block.hash().hex() == block["hash"] == certificate.block_hash.hex()
    assert client.block("latest")["height"] >= record["height"]

    batch = [devnet.transfer("anna", "marco", 1, account["nonce"] + 1 + i, expiry=status["height"] + 100) for i in range(2)]
    results = client.submit_batch([t.raw for t in batch] + [b"\x01"])
    assert [r.get("status") for r in results[:2]] == ["pending", "pending"]
    assert results[2]["error"]["code"] == "MALFORMED"
    for t in batch:
        client.wait_for_tx(t.hash, timeout=20)

    page = client.account_txs(to_address(anna.pubkey), limit=1)
    assert len(page["txs"]) == 1 and page["next"]
    assert "paths" in client.openapi()
    assert client.tx("00" * 32)["status"] == "unknown"


def test_client_errors_are_node_errors(devnet, client):
    cases = [
        (lambda: client.credit_class("no-such-class"), 404, "NOT_FOUND"),
        (lambda: client.account("icnotanaddress"), 400, "INVALID_ADDRESS"),
        (lambda: client.tx("xyz"), 400, "BAD_REQUEST"),
        (lambda: client.block(10**12), 404, "NOT_FOUND"),
        (lambda: client.submit_tx(b"\x00garbage"), 400, "MALFORMED"),
        (lambda: client.account_txs(to_address(SigningKey.generate().pubkey), limit=0), 400, "BAD_REQUEST"),
    ]
    for call, status, code in cases:
        with pytest.raises(NodeError) as caught:
            call()
        assert (caught.value.status, caught.value.code) == (status, code), caught.value
        assert caught.value.message
    with pytest.raises(NodeError, match="still unknown after"):
        client.wait_for_tx("11" * 32, timeout=0.3)


# --- 8: the program, as its own process ---------------------------------------------------------


def test_the_incoop_program(devnet):
    env = dict(os.environ, PYTHONPATH=str(REPO), INCOOP_NODE=devnet.node.url,
               INCOOP_WALLET=str(devnet.layout.wallet_dir), INCOOP_PASSWORD=DEVNET_PASSWORD)
    run = subprocess.run([sys.executable, "-m", "node.cli", "wallet", "balance", "marco", "--json"],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["balances"][0]["class"] == DEMO_CLASS

    bad = subprocess.run([sys.executable, "-m", "node.cli", "wallet", "balance", "marco", "--node", "http://127.0.0.1:9"],
                         capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    assert bad.returncode != 0 and bad.stdout == ""
    assert bad.stderr.startswith("incoop: cannot reach node at http://127.0.0.1:9") and bad.stderr.count("\n") == 1
