"""A resident checks a balance without trusting the node that answers (issue 6, FORMAT.md §21).

Scenario (four validators):
1. anna pays marco twice; the transfers are committed.
2. `incoop wallet verify-balance` against an honest node proves anna's and
   marco's balances, the same the node's /v1/accounts shows, certified by at
   least 3 of the genesis file's 4 validators; an account with nothing in the
   class is proven to hold 0.
3. The node serves the canonical genesis (GET /v1/genesis/raw) whose SHA-256
   is the genesis hash of its status: what the piazza pins its validators from.
   The API refuses a proof request without a class (400), for an unknown
   class (404) and for a mistyped address (400).
4. A lying node: a real HTTP server on loopback in front of a real node that
   rewrites its proofs. Each lie is caught, in one line, with exit 1:
   (a) the balance changed; (b) the balance changed and the proof rehashed to
   be self-consistent, under another root than the header's; (c) a forged
   header carrying that root, with the real certificate kept.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from ledger.address import to_address
from ledger.credits import balance_key
from ledger.crypto import SigningKey, sha256
from ledger.encoding import decode, encode
from ledger.lightproof import BalanceProof, decode_balance_proof
from ledger.merkle import inner_hash, leaf_hash
from node.devnet_layout import DEMO_CLASS
from tests.functional.framework import Devnet, assert_api_error, incoop, running_devnet

pytestmark = pytest.mark.timeout(240)

Rewrite = Callable[[BalanceProof], BalanceProof]


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from running_devnet(tmp_path_factory.mktemp("lightproof") / "devnet", validators=4)


@pytest.fixture(scope="module")
def paid(devnet: Devnet) -> Devnet:
    nonce = devnet.next_nonce("anna")
    txs = [devnet.transfer("anna", "marco", 1234, nonce), devnet.transfer("anna", "marco", 66, nonce + 1)]
    devnet.api.submit_batch(txs)
    for tx in txs:
        assert devnet.api.wait_committed(tx.hash)["result"]["code"] == "OK"
    return devnet


def genesis_file(devnet: Devnet) -> str:
    return str(devnet.layout.home / "genesis.json")


def verify(devnet: Devnet, who: str, *extra: str, check: bool = True):
    return incoop(devnet, "wallet", "verify-balance", who, "--class", DEMO_CLASS, "--genesis", genesis_file(devnet),
                  *extra, check=check)


# --- an honest node -------------------------------------------------------------------------


def test_an_honest_nodes_balances_are_proven_against_the_genesis_validators(paid: Devnet) -> None:
    for who in ("anna", "marco"):
        shown = paid.api.balance(paid.pubkey(who), DEMO_CLASS)
        proven = json.loads(verify(paid, who, "--json").stdout)
        assert proven["amount"] == shown and proven["address"] == to_address(paid.pubkey(who))
        assert proven["validators"] == 4 and proven["signers"] >= 3
        assert proven["genesis_hash"] == paid.layout.genesis.hash().hex()
    text = verify(paid, "marco").stdout.strip()
    amount = paid.api.balance(paid.pubkey("marco"), DEMO_CLASS)
    assert text.startswith(f"balance of {to_address(paid.pubkey('marco'))} in {DEMO_CLASS}: "
                           f"{amount // 100}.{amount % 100:02d} at block ")
    assert f"validators of genesis {paid.layout.genesis.hash().hex()[:16]}" in text
    assert " of 4 validators" in text


def test_an_account_without_credits_is_proven_to_hold_zero(paid: Devnet) -> None:
    stranger = to_address(SigningKey.generate().pubkey)
    assert json.loads(verify(paid, stranger, "--json").stdout)["amount"] == 0


def test_the_node_serves_the_canonical_genesis_its_status_names(paid: Devnet) -> None:
    raw = paid.api.get_raw("/v1/genesis/raw")
    assert raw == encode(paid.layout.genesis.canonical_tuple())
    assert sha256(raw).hex() == paid.api.status()["genesis_hash"] == paid.layout.genesis.hash().hex()
    chain_id, validators = decode(raw)[1], decode(raw)[4]  # FORMAT.md §14.3: [1, chain_id, time, params, validators, …]
    assert chain_id == paid.chain_id and [v[1] for v in validators] == paid.validator_keys()


def test_the_api_refuses_a_proof_request_it_cannot_answer(paid: Devnet) -> None:
    anna = to_address(paid.pubkey("anna"))
    assert_api_error(400, "BAD_REQUEST", lambda: paid.api.get(f"/v1/accounts/{anna}/proof"))
    assert_api_error(404, "NOT_FOUND", lambda: paid.api.get(f"/v1/accounts/{anna}/proof?class=no-such-class"))
    assert_api_error(400, "INVALID_ADDRESS", lambda: paid.api.get(f"/v1/accounts/{anna[:-1]}x/proof?class={DEMO_CLASS}"))
    refused = incoop(paid, "wallet", "verify-balance", "anna", "--class", "no-such-class",
                     "--genesis", genesis_file(paid), check=False)
    assert "NOT_FOUND" in refused.stderr


def test_a_genesis_the_chain_did_not_start_from_proves_nothing(paid: Devnet, tmp_path: Path) -> None:
    document = json.loads((paid.layout.home / "genesis.json").read_text())
    for validator in document["validators"]:
        validator["pubkey"] = to_address(SigningKey.generate().pubkey)
    other = tmp_path / "other-genesis.json"
    other.write_text(json.dumps(document))
    refused = incoop(paid, "wallet", "verify-balance", "anna", "--class", DEMO_CLASS, "--genesis", str(other),
                     check=False)
    line = refused.stderr.strip()
    assert line.startswith("incoop: the node's answer does not prove the balance: block "), line
    assert "not the trusted set" in line and "the node reports genesis" in line
    missing = incoop(paid, "wallet", "verify-balance", "anna", "--class", DEMO_CLASS,
                     "--genesis", str(tmp_path / "nowhere.json"), check=False)
    assert missing.stderr.startswith("incoop: cannot read genesis file")


# --- a lying node ---------------------------------------------------------------------------


class LyingProxy:
    """A real HTTP server on loopback: forwards every GET to a real node, rewrites its balance proofs."""

    def __init__(self, upstream: str, rewrite: Rewrite):
        self.upstream = upstream.rstrip("/")
        self.rewrite = rewrite
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.url = ""
        self.honest: list[BalanceProof] = []  # what the node really said, for the test to compare

    def __enter__(self) -> LyingProxy:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    async def _start(self) -> None:
        self.session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._forward)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    async def _stop(self) -> None:
        await self.session.close()
        await self.runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        async with self.session.get(self.upstream + request.path_qs) as answer:
            body = await answer.read()
            if answer.status == 200 and request.path.endswith("/proof"):
                document = json.loads(body)
                self.honest.append(decode_balance_proof(bytes.fromhex(document["proof"])))
                lie = self.rewrite(self.honest[-1])
                document.update(amount=lie.amount, state_root=lie.header.state_root.hex(), proof=lie.encode().hex())
                return web.json_response(document)
            return web.Response(body=body, status=answer.status, content_type=answer.content_type)


LIE = 1_000_000_00  # a million euro in cents


def changed_amount(proof: BalanceProof) -> BalanceProof:
    return proof._replace(amount=LIE)


def root_of(proof: BalanceProof, leaf: bytes) -> bytes:
    """The root the balance proof's siblings lead to from `leaf` (FORMAT.md §10.2, step 4)."""
    kh = int.from_bytes(sha256(balance_key(proof.account, proof.class_id)), "big")
    h = leaf
    for depth in range(len(proof.balance_proof.siblings) - 1, -1, -1):
        sibling = proof.balance_proof.siblings[depth]
        h = inner_hash(sibling, h) if (kh >> (255 - depth)) & 1 else inner_hash(h, sibling)
    return h


def rehashed(proof: BalanceProof) -> BalanceProof:
    """The leaf rewritten for the lie: the proof is self-consistent, under a root no block carries."""
    kh = sha256(balance_key(proof.account, proof.class_id))
    terminal = (kh, sha256(encode(LIE)))
    return proof._replace(amount=LIE, balance_proof=proof.balance_proof._replace(terminal=terminal))


def forged_header(proof: BalanceProof) -> BalanceProof:
    """The rehashed lie, with a header that carries its root; the real certificate is kept."""
    lie = rehashed(proof)
    root = root_of(lie, leaf_hash(*lie.balance_proof.terminal))
    assert root != proof.header.state_root
    return lie._replace(header=lie.header._replace(state_root=root))


def mismatch(honest: BalanceProof) -> str:
    return f"balance proof does not match the state root of block {honest.header.height}"


def wrong_block(honest: BalanceProof) -> str:
    cert, forged = honest.certificate, forged_header(honest).header
    return (f"the certificate is for block {cert.height} ({cert.block_hash.hex()[:16]}), "
            f"not for the header of block {forged.height} ({forged.hash().hex()[:16]})")


@pytest.mark.parametrize(
    "rewrite, reason",
    [(changed_amount, mismatch), (rehashed, mismatch), (forged_header, wrong_block)],
    ids=["changed-amount", "rehashed-proof", "forged-header"],
)
def test_a_node_lying_about_a_balance_is_caught(paid: Devnet, rewrite: Rewrite,
                                                reason: Callable[[BalanceProof], str]) -> None:
    with LyingProxy(paid.node.url, rewrite) as liar:
        refused = verify(paid, "anna", "--node", liar.url, check=False)
    assert refused.returncode == 1
    [honest] = liar.honest
    assert refused.stderr.strip() == f"incoop: the node's answer does not prove the balance: {reason(honest)}"
