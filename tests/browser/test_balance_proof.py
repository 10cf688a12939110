"""A balance proven in the browser against the validators it trusts, not the node's word (FORMAT.md §21).

Scenario (two validators, real processes; the page's js/proof.js against the reference verifier,
ledger/lightproof.py, on the same bytes):
1. anna pays marco; in the piazza page verifyBalance proves anna's balance, the same amount the node
   holds, with the class's name and decimals, certified by both genesis validators. The page pinned the
   genesis (trust on first use): its hash is the node's, its validators the genesis document's, and it
   read /v1/genesis/raw once, however many balances it proves (an account without credits: 0).
2. The node later names another genesis: verifyBalance refuses with an alarm (GenesisMismatch), and the
   pin is kept. A second person's first visit to a node whose genesis bytes do not hash to its own
   status's genesis hash pins nothing and proves nothing; an honest answer then pins.
3. The federation removes node1 by vote (node0 proposes, node1 approves). anna's bundle then carries the
   certified update from the genesis set; the page proves it. Then every part of that bundle is altered
   — the amount, a sibling, a leaf, the class record, the header, a certificate signature, its signers,
   a validator update, the version, the bytes — and each altered bundle goes to the page's verifyBundle
   and to the reference verifier: both accept or both refuse, with the same reason word for word (bytes
   that are no bundle are malformed for both; the decoders' own messages differ). A
   certificate re-signed with another nonce is accepted by both; one whose R carries a torsion point,
   which a cofactored verifier (the library's own verify) accepts, is refused by both.
4. The page's Ed25519 check (js/sigcheck.js) accepts exactly the signatures the nodes accept (FORMAT.md
   §4.2) on RFC 8032's vectors and the rule's edges: S + L, small-order and non-canonical keys, a
   small-order R, torsion in R and in the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import nacl.bindings
import pytest
from playwright.sync_api import Page, Route

from governance import federation_records as rec
from ledger.address import from_address, to_address
from ledger.crypto import DOMAIN_VOTE, SigningKey, sha256, signing_message, verify
from ledger.encoding import decode, encode
from ledger.lightproof import (
    BalanceProof,
    ProofFormatError,
    ProofRejected,
    TrustedSet,
    decode_balance_proof,
    verify_balance_proof,
)
from ledger.merkle import leaf_hash
from ledger.tx import sign_tx
from ledger.votes import PRECOMMIT, vote_payload
from node.devnet_layout import DEMO_CLASS
from tests.browser.harness import Watched, person
from tests.functional.framework import FAR_EXPIRY, Devnet, running_devnet
from tests.test_rfc8032 import SMALL_ORDER, VECTORS, L, _secret_scalar, _sign_with_r

pytestmark = pytest.mark.timeout(240)

TORSION = bytes.fromhex(SMALL_ORDER[2])  # a point of order 8 (FORMAT.md §4.2's list)
LEAD = 12
"""Blocks between the proposal and its effective height: room for the approval (blocks come every 20 ms)."""

VERIFY_BALANCE = """async ([address, classId]) => {
  const { verifyBalance } = await import("/piazza/js/proof.js");
  try {
    const r = await verifyBalance(address, classId);
    return { ...r, amount: String(r.amount) };
  } catch (e) {
    return { error: e.name, message: e.message };
  }
}"""

VERIFY_BUNDLES = """async (cases) => {
  const proof = await import("/piazza/js/proof.js");
  const { trustedGenesis } = await import("/piazza/js/trust.js");
  const { fromHex, parseAddress } = await import("/piazza/js/codec.js");
  const trusted = await trustedGenesis();
  const out = {};
  for (const [name, hex, address, classId] of cases) {
    try {
      out[name] = ["accepted", String(proof.verifyBundle(fromHex(hex), trusted, parseAddress(address), classId).amount)];
    } catch (e) {
      out[name] = e instanceof proof.ProofFormatError ? ["malformed", null]
        : e instanceof proof.ProofRejected ? ["refused", e.message] : ["error", `${e.name}: ${e.message}`];
    }
  }
  return out;
}"""

VERIFY_SIGNATURES = """async (vectors) => {
  const { verifySignature } = await import("/piazza/js/sigcheck.js");
  const { ed25519 } = await import("/piazza/vendor/incoop-vendor.js");
  const { fromHex } = await import("/piazza/js/codec.js");
  return vectors.map(([key, message, signature]) => {
    const [k, m, s] = [fromHex(key), fromHex(message), fromHex(signature)];
    let library = null;
    try { library = ed25519.verify(s, m, k); } catch { library = false; }
    return [verifySignature(k, m, s), library];
  });
}"""


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from running_devnet(Path(tmp_path_factory.mktemp("balance-proof")), validators=2)


@pytest.fixture(scope="module")
def paid(devnet: Devnet) -> Devnet:
    tx = devnet.transfer("anna", "marco", 1234, devnet.next_nonce("anna"))
    devnet.api.submit(tx)
    assert devnet.api.wait_committed(tx.hash)["result"]["code"] == "OK"
    return devnet


def piazza(watched: Watched, devnet: Devnet) -> Page:
    page = watched.page()
    page.goto(devnet.node.url + "/")
    return page


def pinned(page: Page) -> dict | None:
    text = page.evaluate("localStorage.getItem('incoop.genesis')")
    return None if text is None else json.loads(text)


def genesis_reads(watched: Watched) -> int:
    return sum(1 for r in watched.requests if r.url.endswith("/v1/genesis/raw"))


# --- 1 and 2: a proven balance and the pinned genesis ---------------------------------------------


def test_a_balance_is_proven_against_the_genesis_pinned_on_first_use(paid: Devnet, resident: Watched,
                                                                     browser) -> None:
    devnet = paid
    anna = to_address(devnet.pubkey("anna"))
    page = piazza(resident, devnet)
    assert pinned(page) is None

    proven = page.evaluate(VERIFY_BALANCE, [anna, DEMO_CLASS])
    assert "error" not in proven, proven
    held = devnet.api.balance(devnet.pubkey("anna"), DEMO_CLASS)
    the_class = devnet.api.get(f"/v1/classes/{DEMO_CLASS}")
    assert proven["verified"] is True and int(proven["amount"]) == held
    assert (proven["className"], proven["decimals"]) == (the_class["name"], the_class["decimals"])
    assert (proven["signers"], proven["validators"], proven["updates"]) == (2, 2, 0)
    assert 1 <= proven["height"] <= devnet.api.status()["height"]
    genesis = devnet.layout.genesis
    assert proven["genesisHash"] == genesis.hash().hex()

    pin = pinned(page)
    assert pin["hash"] == genesis.hash().hex() and pin["chainId"] == genesis.chain_id
    assert pin["validators"] == [k.hex() for k in devnet.validator_keys()]
    stranger = to_address(SigningKey(bytes([7]) * 32).pubkey)
    nothing = page.evaluate(VERIFY_BALANCE, [stranger, DEMO_CLASS])
    assert (nothing.get("error"), nothing["amount"], nothing["verified"]) == (None, "0", True)
    assert genesis_reads(resident) == 1

    # 2. the node now names another genesis: an alarm, and the pin stays
    def another_genesis(route: Route) -> None:
        answer = route.fetch()
        route.fulfill(response=answer, json={**answer.json(), "genesis_hash": "ab" * 32})

    page.route("**/v1/status", another_genesis)
    alarm = page.evaluate(VERIFY_BALANCE, [anna, DEMO_CLASS])
    page.unroute("**/v1/status")
    assert alarm["error"] == "GenesisMismatch", alarm
    assert alarm["message"].startswith("Attenzione: questo nodo segue la catena")
    assert f"si fida della genesi {genesis.hash().hex()[:16]}…" in alarm["message"]
    assert pinned(page) == pin

    # a first visit to a node whose genesis bytes are not the genesis its status names: nothing pinned
    forged = list(genesis.canonical_tuple())
    forged[4] = tuple((name, SigningKey(bytes([9]) * 32).pubkey, api, p2p) for name, _, api, p2p in forged[4])
    newcomer = person(browser)
    try:
        other = piazza(newcomer, devnet)
        other.route("**/v1/genesis/raw", lambda route: route.fulfill(
            status=200, body=encode(tuple(forged)), content_type="application/msgpack"))
        refused = other.evaluate(VERIFY_BALANCE, [anna, DEMO_CLASS])
        other.unroute("**/v1/genesis/raw")
        assert refused["error"] == "GenesisUnusable", refused
        assert "in modo incoerente" in refused["message"] and pinned(other) is None
        assert "error" not in other.evaluate(VERIFY_BALANCE, [anna, DEMO_CLASS])
        assert pinned(other)["hash"] == genesis.hash().hex()
    finally:
        newcomer.context.close()
    assert not newcomer.errors, newcomer.errors


# --- 3: the validator set changed by vote, and every part of the bundle altered ---------------------


def send(devnet: Devnet, key: SigningKey, type_: str, body: tuple) -> None:
    api = devnet.api
    tx = sign_tx(key, devnet.chain_id, type_, api.account(key.pubkey)["pending_nonce"], FAR_EXPIRY, body)
    api.submit(tx)
    assert api.wait_committed(tx.hash, 20)["result"]["code"] == "OK"


@pytest.fixture(scope="module")
def changed(paid: Devnet) -> Devnet:
    """node1 removed from the set by vote (two of two approve); the head is certified by node0 alone."""
    devnet = paid
    node0, node1 = (n.node_key() for n in devnet.nodes)
    proposal_id = bytes([0xDE]) + bytes(15)
    effective = devnet.api.status()["height"] + LEAD
    send(devnet, node0, "federation.propose", (proposal_id, (rec.REMOVE, node1.pubkey), effective))
    send(devnet, node1, "federation.approve", (proposal_id,))
    devnet.api.wait_height(effective + 1, 30)
    shown = devnet.api.get("/v1/governance/validators")["validators"]
    assert [v["address"] for v in shown] == [to_address(node0.pubkey)]
    return devnet


def torsioned(key: SigningKey, message: bytes, r: int) -> bytes:
    """R = [r]B + T with T of order 8: [8]([S]B − [k]A − R) = 0 holds, the equation of §4.2 does not."""
    r_bytes = nacl.bindings.crypto_core_ed25519_add(
        nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(r.to_bytes(32, "little")), TORSION)
    k = int.from_bytes(hashlib.sha512(r_bytes + key.pubkey + message).digest(), "little") % L
    return r_bytes + ((r + k * _secret_scalar(key.seed)) % L).to_bytes(32, "little")


def resigned(bundle: BalanceProof, key: SigningKey, sign: Callable[[SigningKey, bytes], bytes]) -> BalanceProof:
    """The head's certificate made again by `key` (the one validator left) with the signature `sign` makes."""
    cert = bundle.certificate
    message = signing_message(DOMAIN_VOTE, bundle.header.chain_id,
                              vote_payload(PRECOMMIT, cert.height, cert.round, cert.block_hash))
    return bundle._replace(certificate=cert._replace(signatures=((key.pubkey, sign(key, message)),)))


def flip(data: bytes, at: int = 0) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def alterations(bundle: BalanceProof, node0: SigningKey) -> dict[str, bytes]:
    """Each part of the bundle changed, as the canonical bytes a lying node would send."""
    header, cert, [update] = bundle.header, bundle.certificate, bundle.updates
    bal, cls = bundle.balance_proof, bundle.class_proof
    lie_leaf = (bal.terminal[0], sha256(encode(bundle.amount + 1)))
    variants = {
        "honest": bundle,
        "amount": bundle._replace(amount=bundle.amount + 1),
        "amount-zero": bundle._replace(amount=0),
        "balance-sibling": bundle._replace(balance_proof=bal._replace(siblings=(flip(bal.siblings[0]), *bal.siblings[1:]))),
        "balance-leaf": bundle._replace(amount=bundle.amount + 1, balance_proof=bal._replace(terminal=lie_leaf)),
        "balance-deeper": bundle._replace(balance_proof=bal._replace(siblings=(*bal.siblings, bytes(32)))),
        "class-sibling": bundle._replace(class_proof=cls._replace(siblings=(flip(cls.siblings[-1]), *cls.siblings[:-1]))),
        "class-record": bundle._replace(class_record=encode((*decode(bundle.class_record)[:1], "Euro finto",
                                                             *decode(bundle.class_record)[2:]))),
        "header-time": bundle._replace(header=header._replace(time_ms=header.time_ms + 1)),
        "header-root": bundle._replace(header=header._replace(state_root=leaf_hash(*lie_leaf))),
        "header-chain": bundle._replace(header=header._replace(chain_id="another-chain")),
        "certificate-signature": bundle._replace(certificate=cert._replace(
            signatures=tuple((v, flip(s, 40)) for v, s in cert.signatures))),
        "certificate-round": bundle._replace(certificate=cert._replace(round=cert.round + 1)),
        "certificate-empty": bundle._replace(certificate=cert._replace(signatures=())),
        "certificate-twice": bundle._replace(certificate=cert._replace(signatures=cert.signatures * 2)),
        "certificate-stranger": bundle._replace(certificate=cert._replace(
            signatures=((SigningKey(bytes([5]) * 32).pubkey, cert.signatures[0][1]),))),
        "certificate-resigned": resigned(bundle, node0, lambda key, m: _sign_with_r(key.seed, m, 424242)),
        "certificate-torsion": resigned(bundle, node0, lambda key, m: torsioned(key, m, 424242)),
        "update-validators": bundle._replace(updates=(update._replace(validators=(*update.validators, bytes(32))),)),
        "update-signature": bundle._replace(updates=(update._replace(certificate=update.certificate._replace(
            signatures=tuple((v, flip(s, 3)) for v, s in update.certificate.signatures))),)),
        "update-quorum": bundle._replace(updates=(update._replace(certificate=update.certificate._replace(
            signatures=update.certificate.signatures[:1])),)),
        "update-header": bundle._replace(updates=(update._replace(header=update.header._replace(
            validators_hash=sha256(b"another set"))),)),
        "update-proof": bundle._replace(updates=(update._replace(proof=update.proof._replace(terminal=None)),)),
        "update-missing": bundle._replace(updates=()),
        "update-twice": bundle._replace(updates=(update, update)),
    }
    raw = {name: proof.encode() for name, proof in variants.items()}
    honest = raw["honest"]
    as_tuple = list(decode(honest))
    raw["version"] = encode((2, *as_tuple[1:]))
    raw["trailing-byte"] = honest + b"\x00"
    raw["truncated"] = honest[:-1]
    raw["not-canonical"] = b"\xdc\x00\x0a" + honest[1:]  # the array's length in array16 form
    raw["certificate-cut"] = encode((*as_tuple[:8], as_tuple[8][:3], as_tuple[9]))
    return raw


def reference(raw: bytes, trusted: TrustedSet, chain_id: str, account: bytes, class_id: str) -> list:
    try:
        verified = verify_balance_proof(decode_balance_proof(raw), trusted, chain_id, account, class_id)
    except ProofFormatError:
        return ["malformed", None]
    except ProofRejected as exc:
        return ["refused", str(exc)]
    return ["accepted", str(verified.amount)]


def test_the_page_and_the_reference_verifier_agree_on_every_altered_bundle(changed: Devnet, resident: Watched) -> None:
    devnet = changed
    anna_key = devnet.pubkey("anna")
    anna = to_address(anna_key)
    page = piazza(resident, devnet)
    proven = page.evaluate(VERIFY_BALANCE, [anna, DEMO_CLASS])
    assert "error" not in proven, proven
    assert (proven["updates"], proven["validators"], proven["signers"]) == (1, 1, 1)
    assert int(proven["amount"]) == devnet.api.balance(anna_key, DEMO_CLASS)

    answer = devnet.api.get(f"/v1/accounts/{anna}/proof?class={DEMO_CLASS}")
    bundle = decode_balance_proof(bytes.fromhex(answer["proof"]))
    node0 = devnet.nodes[0].node_key()
    cases = [(name, raw.hex(), anna, DEMO_CLASS) for name, raw in alterations(bundle, node0).items()]
    honest = cases[0][1]
    cases += [("another-account", honest, to_address(devnet.pubkey("marco")), DEMO_CLASS),
              ("another-class", honest, anna, "another-class")]

    in_page = page.evaluate(VERIFY_BUNDLES, cases)
    trusted = TrustedSet(tuple(devnet.validator_keys()), 0)
    for name, hex_, address, class_id in cases:
        expected = reference(bytes.fromhex(hex_), trusted, devnet.chain_id, from_address(address), class_id)
        assert in_page[name] == expected, f"{name}: the page says {in_page[name]}, the reference {expected}"
    outcomes = {name: in_page[name][0] for name, *_ in cases}
    assert {n for n, o in outcomes.items() if o == "accepted"} == {"honest", "certificate-resigned"}
    assert {n for n, o in outcomes.items() if o == "malformed"} == {
        "version", "trailing-byte", "truncated", "not-canonical", "certificate-cut"}
    assert in_page["certificate-torsion"][1].startswith("the certificate signature of ")


# --- 4: the one signature rule ------------------------------------------------------------------------


def signature_vectors() -> list[tuple[str, bytes, bytes, bytes]]:
    """(what, key, message, signature): RFC 8032's vectors and the edges of FORMAT.md §4.2."""
    cases = []
    for name, _, pubkey, message, signature in VECTORS:
        key, sig = bytes.fromhex(pubkey), bytes.fromhex(signature)
        s = int.from_bytes(sig[32:], "little")
        cases += [(name, key, message, sig), (f"{name} flipped", key, message, flip(sig, 5)),
                  (f"{name} S+L", key, message, sig[:32] + (s + L).to_bytes(32, "little"))]
    seed = bytes([9]) * 32
    key = SigningKey(seed)
    cases += [("own nonce", key.pubkey, b"m", _sign_with_r(seed, b"m", 12345)),
              ("identity R", key.pubkey, b"m", _sign_with_r(seed, b"m", None)),
              ("torsion in R", key.pubkey, b"m", torsioned(key, b"m", 12345)),
              ("non-canonical key", (2**255 - 19 + 2).to_bytes(32, "little"), b"m", key.sign(b"m")),
              ("short key", key.pubkey[:31], b"m", key.sign(b"m")),
              ("short signature", key.pubkey, b"m", key.sign(b"m")[:63])]
    for encoding in SMALL_ORDER:
        raw = bytes.fromhex(encoding)
        for small in (raw, raw[:31] + bytes([raw[31] | 0x80])):
            cases += [(f"small-order key {small.hex()[:8]}", small, b"m", bytes([1]) + bytes(31) + bytes(32))]
    # A key with a torsion component, A' = A + T: the signer's [S]B − [k]A' = R − [k]T equals R exactly
    # when 8 divides k, so libsodium accepts about one message in eight, and refuses the others.
    torsion_key = nacl.bindings.crypto_core_ed25519_add(key.pubkey, TORSION)
    for n in range(24):
        message = b"torsion key %d" % n
        r = 1000 + n
        r_bytes = nacl.bindings.crypto_scalarmult_ed25519_base_noclamp(r.to_bytes(32, "little"))
        k = int.from_bytes(hashlib.sha512(r_bytes + torsion_key + message).digest(), "little") % L
        s = (r + k * _secret_scalar(seed)) % L
        cases.append((f"torsion key, k mod 8 = {k % 8}", torsion_key, message, r_bytes + s.to_bytes(32, "little")))
    return cases


def test_the_page_accepts_exactly_the_signatures_the_nodes_accept(devnet: Devnet, resident: Watched) -> None:
    cases = signature_vectors()
    page = piazza(resident, devnet)
    in_page = page.evaluate(VERIFY_SIGNATURES, [[k.hex(), m.hex(), s.hex()] for _, k, m, s in cases])
    nodes = [verify(k, m, s) for _, k, m, s in cases]
    for (what, *_), (page_says, _), node_says in zip(cases, in_page, nodes, strict=True):
        assert page_says == node_says, f"{what}: the page says {page_says}, the nodes {node_says}"
    accepted_torsion_keys = [w for (w, *_), ok in zip(cases, nodes, strict=True) if ok and w.startswith("torsion key")]
    assert accepted_torsion_keys and all(w.endswith("= 0") for w in accepted_torsion_keys)
    assert any(not ok for (w, *_), ok in zip(cases, nodes, strict=True) if w.startswith("torsion key"))
    # why js/sigcheck.js exists: the library's own verify (cofactored) accepts what the nodes refuse
    torsion_r = [w for w, *_ in cases].index("torsion in R")
    assert in_page[torsion_r] == [False, True] and not nodes[torsion_r]
