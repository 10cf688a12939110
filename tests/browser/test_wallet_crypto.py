"""The browser's cryptography and transactions are Python's, byte for byte (js/codec.js, js/tx.js, …).

One one-validator devnet (real process, real LevelDB) and one page of it (`/`, in a real chromium),
into which each test imports the piazza's modules as a view does:

1. Canonical encoding: values at every size boundary of FORMAT.md §2.2 (integers from −2^63 to
   2^64−1 as Number and BigInt, 31/32/255/256/65 535/65 536-byte strings and bytes, arrays of 15/16
   items, nesting to depth 32) encode in the page to the bytes ledger/encoding.py makes, and decode
   back to equal values; non-canonical bytes (`cc 01`, a map, a float, trailing or missing bytes,
   invalid UTF-8, an extension, nesting at depth 33) are refused by both decoders, and 4 MiB of
   nested arrays are refused at once.
2. Transactions of several types, signed in the page and in Python (ledger/tx.py's sign_tx,
   wallet/txbuild.py's build_and_sign) with the same seed, are the same bytes with the same hash:
   amounts and nonces above 2^53, Unicode memos, keys and nested arrays in the body.
3. Addresses: the page's address of random keys is Python's, and parses back to the key; every
   malformed address (length, case, alphabet, checksum, padding bits, a no-break space) is refused
   by the page with a reason and by ledger/address.py.
4. A transaction signed in the page is sent by the page (POST /v1/txs), admitted, committed
   (GET /v1/txs/HASH), and moves the credits the node then reports; Python reads the block's copy
   as a validly signed transfer.
5. Keys: FORMAT.md §22.1's worked example derives and seals in the page; a key file keys/keystore.py
   wrote (tests/weak_kdf.py's setting) is imported into the keyring (a wrong file password stores
   nothing, the same key twice is refused); every broken file is refused by both readers, at once,
   even one asking for 1 GiB or ten passes over 256 MiB; short passphrases and bad labels are
   refused; a wrong passphrase is WrongPassphrase; a key exported by the page is unlocked by
   Python's Keystore; a record under a weaker Argon2id setting is sealed again under the current
   one; an altered or moved record does not open; and no request the page made carried a seed,
   a passphrase or a password.
6. Payment requests (FORMAT.md §20): every request of tests/test_payment_request.py's malformed
   list and more (Unicode white space, a BOM, surrogates, overlong UTF-8, amounts at 2^63) is
   accepted by the page exactly when Python accepts it, with the same fields; the page formats
   what Python formats and refuses what it refuses; a request drawn as a QR code in the page
   (uqr, level M, segno's version) reads back with jsQR.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import segno
from playwright.sync_api import Browser, Page

from keys.keystore import WALLET_KDF, Keystore, KeystoreError, decrypt_key
from ledger.address import AddressError, from_address, to_address
from ledger.block import decode_raw_block
from ledger.crypto import SigningKey, sha256
from ledger.encoding import EncodingError, decode, encode
from ledger.tx import decode_tx, sign_tx
from node.devnet_layout import DEMO_CLASS
from tests.browser.harness import Watched, watching
from tests.functional.framework import Devnet, running_devnet, wait_until
from tests.test_payment_request import DOC as FORMAT_DOC
from tests.test_payment_request import FULL as FULL_REQUEST
from tests.test_payment_request import MALFORMED as MALFORMED_REQUESTS
from tests.weak_kdf import TEST_KDF
from wallet.payment_request import (
    PaymentRequest,
    PaymentRequestError,
    format_request,
    parse_request,
)
from wallet.txbuild import build_and_sign, transfer_body

PAGE_KEY = SigningKey(bytes(range(100, 132)))
"""The key the page signs with on the chain: funded at genesis."""

SAFE = 2**53 - 1
FORMAT_EXAMPLE = next(line.strip() for line in FORMAT_DOC.read_text().splitlines() if line.strip().startswith("incoop:ic"))

# Page-side helpers, prepended to each evaluated function: values cross as JSON, with byte strings
# as {"b": hex} and integers beyond 2^53 as {"n": decimal} (BigInt in the page).
HELPERS = """
const codec = await import('/piazza/js/codec.js');
const revive = (x) => Array.isArray(x) ? x.map(revive)
  : x !== null && typeof x === 'object' ? ('b' in x ? codec.fromHex(x.b) : BigInt(x.n)) : x;
const tag = (x) => Array.isArray(x) ? x.map(tag) : x instanceof Uint8Array ? {b: codec.toHex(x)}
  : typeof x === 'bigint' ? {n: x.toString()} : x;
"""


def wire(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"b": value.hex()}
    if isinstance(value, tuple | list):
        return [wire(v) for v in value]
    if type(value) is int and not -SAFE <= value <= SAFE:
        return {"n": str(value)}
    return value


def in_page(page: Page, body: str, arg: Any = None) -> Any:
    """Run `body` (an async function's body that sees `arg`, `codec`, `revive`, `tag`) in the page."""
    return page.evaluate(f"async (arg) => {{ {HELPERS}\n{body} }}", arg)


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    yield from running_devnet(Path(tmp_path_factory.mktemp("wallet-crypto")), funded=[PAGE_KEY.pubkey])


@pytest.fixture(scope="module")
def browsing(browser: Browser) -> Iterator[Watched]:
    yield from watching(browser)


@pytest.fixture(scope="module")
def page(devnet: Devnet, browsing: Watched) -> Page:
    page = browsing.page()
    page.goto(devnet.node.url + "/")
    page.wait_for_selector("h1")
    return page


# --- 1. canonical encoding ---------------------------------------------------------------------------

INTEGERS = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, SAFE, SAFE + 1, 2**63 - 1, 2**64 - 1,
            -1, -32, -33, -128, -129, -32768, -32769, -(2**31), -(2**31) - 1, -SAFE, -SAFE - 1, -(2**63)]


def text_of(n_bytes: int) -> str:
    """Text of exactly n UTF-8 bytes, with two-, three- and four-byte characters in it."""
    head = "é€😀" if n_bytes >= 9 else ""
    return head + "a" * (n_bytes - len(head.encode()))


SIZES = [0, 1, 31, 32, 255, 256, 65535, 65536]
VALUES: list[Any] = [
    *INTEGERS, True, False, None,
    *(text_of(n) for n in SIZES),
    *(os.urandom(n) for n in SIZES),
    [], list(range(15)), list(range(16)), [[]] * 17,
    [1, -1, 300, 70000, "héllo", bytes.fromhex("00ff"), True, None, [], 2**64 - 1, -(2**63)],   # FORMAT.md §16.1
]
DEEPEST: list = []
for _ in range(32):
    DEEPEST = [DEEPEST]
VALUES.append(DEEPEST)

NON_CANONICAL = [
    "cc01", "cd0001", "ce00000001", "cf0000000000000001", "cf00000000ffffffff", "d0ff", "d1ffff",
    "d2ffffffff", "d3ffffffffffffffff", "d3fffffffffffffff0",           # integers in larger forms than needed
    "d9026869", "da00026869", "c5000100", "c600000000", "dc0000",       # strings, bytes, arrays ditto
    "a26869ff", "01ff", "a268",                                          # trailing and missing bytes
    "80", "8101a0", "ca3f800000", "cb3ff0000000000000", "cb3ff8000000000000",   # a map; floats (1.0, 1.5)
    "c1", "d40000", "d6ff00000000", "c70100",                            # 0xc1, extensions, a timestamp
    "a1ff", "a2c080", "a3eda080",                                        # not UTF-8: a bad byte, overlong, a surrogate
    "91" * 33 + "90",                                                    # an empty array at depth 33
    "",
]


def test_canonical_encoding_and_transactions_match_python(devnet: Devnet, page: Page) -> None:
    # every value encodes to Python's bytes and decodes back to itself
    expected = [encode(v).hex() for v in VALUES]
    got = in_page(page, """
        return arg.map((v) => { const bytes = codec.encode(revive(v));
                                return [codec.toHex(bytes), tag(codec.decode(bytes))]; });
    """, wire(VALUES))
    for value, want, (hex_, decoded) in zip(VALUES, expected, got, strict=True):
        assert hex_ == want, f"page encodes {str(value)[:60]} as {hex_[:80]}, Python as {want[:80]}"
        assert decoded == wire(value)

    # integers: a BigInt or a Number gives the same bytes; decoded, a Number when safe, else a BigInt
    kinds = in_page(page, """
        return arg.map((n) => { const big = BigInt(n), safe = big >= -9007199254740991n && big <= 9007199254740991n;
                                const same = !safe || codec.toHex(codec.encode(big)) === codec.toHex(codec.encode(Number(big)));
                                return [same, typeof codec.decode(codec.encode(big))]; });
    """, [str(n) for n in INTEGERS])
    for n, (same, kind) in zip(INTEGERS, kinds, strict=True):
        assert same, f"{n} as a BigInt and as a Number encode differently"
        assert kind == ("number" if -SAFE <= n <= SAFE else "bigint"), f"{n} decodes to a {kind}"

    # what has no canonical encoding is refused before anything is made of it
    refused = in_page(page, """
        let deeper = []; for (let i = 0; i < 33; i++) deeper = [deeper];
        const bad = [1.5, NaN, 2 ** 53, 2n ** 64n, -(2n ** 63n) - 1n, {}, new Map(), undefined, '\\ud800', new Int8Array(1), deeper];
        return bad.map((v) => { try { codec.encode(v); return 'accepted'; } catch (e) { return e.name; } });
    """)
    assert refused == ["EncodingError"] * 11

    # non-canonical bytes: refused by both decoders
    for hex_ in NON_CANONICAL:
        with pytest.raises(EncodingError):
            decode(bytes.fromhex(hex_))
    verdicts = in_page(page, """
        return arg.map((h) => { try { codec.decode(codec.fromHex(h)); return 'accepted'; } catch (e) { return e.name; } });
    """, NON_CANONICAL)
    accepted = [h for h, verdict in zip(NON_CANONICAL, verdicts, strict=True) if verdict != "EncodingError"]
    assert not accepted, f"the page's decoder took non-canonical bytes: {accepted}"
    too_long = in_page(page, "try { codec.decode(new Uint8Array(16385).fill(0xc0), 16384); } catch (e) { return e.message; }")
    assert "larger than 16384" in too_long
    # hostile input stays cheap: 4 MiB of nested arrays stop at depth 33, a header claiming 2^32 − 1 items
    # in five bytes allocates nothing
    hostile = in_page(page, """
        const nested = new Uint8Array(4 * 1024 * 1024).fill(0x91); nested[nested.length - 1] = 0x90;
        const out = [];
        for (const bytes of [nested, codec.fromHex('ddffffffff'), codec.fromHex('dbffffffff'), codec.fromHex('dfffffffff')]) {
          const started = performance.now();
          try { codec.decode(bytes); out.push('accepted'); } catch (e) { out.push([e.name, performance.now() - started]); }
        }
        return out;
    """)
    assert [verdict[0] for verdict in hostile] == ["EncodingError"] * 4
    assert hostile[0][1] < 1000, f"refusing deep nesting took {hostile[0][1]:.0f} ms"

    # transactions: the same seed and fields give the same wire bytes and hash
    alice, bob = SigningKey(bytes([1]) * 32), SigningKey(os.urandom(32))
    chain = devnet.chain_id
    python_txs = [
        build_and_sign(alice, chain, "credits.transfer", 0, 1000, transfer_body("meal-2026", bob.pubkey, 1250, "lunch")),
        build_and_sign(bob, chain, "credits.transfer", 2**53 + 1, 2**63 - 1,
                       transfer_body(DEMO_CLASS, alice.pubkey, 2**63 - 1, "caffè ☕ für 2 — 😀")),
        build_and_sign(bob, chain, "credits.transfer", SAFE, SAFE, transfer_body(DEMO_CLASS, alice.pubkey, 2**53 + 1, "é" * 64)),
        sign_tx(alice, "incoop-example", "credits.transfer", 0, 1000,
                ("meal-2026", bytes.fromhex("8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394"), 1250, "lunch")),
        sign_tx(bob, chain, "agora.comment", 7, 99, (text_of(31), text_of(32), os.urandom(255), os.urandom(256), text_of(255))),
        sign_tx(alice, chain, "gas.open", 3, 4000,
                (b"\x00" * 32, [[1, 2**40, [True, None, []]], [-5, "x" * 300]], DEEPEST[0][0][0][0][0][0][0][0], [])),
    ]
    assert python_txs[3].hash.hex() == "8cea935acf5f0eac626333139dc641efba2c6be15bd4e1c06a10c10d3d02b393"   # FORMAT.md §16.4
    seeds = {alice.pubkey: alice.seed, bob.pubkey: bob.seed}
    signed = in_page(page, """
        const { signTx, publicKeyOf } = await import('/piazza/js/tx.js');
        return arg.map((t) => { const seed = revive(t.seed);
          const { raw, hash } = signTx(seed, { chainId: t.chain, type: t.type, nonce: revive(t.nonce), expiry: revive(t.expiry), body: revive(t.body) });
          return [codec.toHex(raw), hash, codec.toHex(publicKeyOf(seed))]; });
    """, [{"seed": wire(seeds[tx.signer]), "chain": tx.chain_id, "type": tx.type, "nonce": wire(tx.nonce),
           "expiry": wire(tx.expiry), "body": wire(tx.body)} for tx in python_txs])
    for tx, (raw, hash_, pubkey) in zip(python_txs, signed, strict=True):
        assert pubkey == tx.signer.hex()
        assert raw == tx.raw.hex(), f"{tx.type} signed in the page differs from Python's"
        assert hash_ == tx.hash.hex()

    # what a node would refuse is not signed
    refusals = in_page(page, """
        const { signTx } = await import('/piazza/js/tx.js');
        const seed = new Uint8Array(32).fill(1), ok = { chainId: 'c', type: 't', nonce: 0, expiry: 1, body: [] };
        const tries = [{ ...ok, nonce: -1 }, { ...ok, nonce: 2n ** 63n }, { ...ok, expiry: 2 ** 53 }, { ...ok, chainId: '' },
                       { ...ok, type: '' }, { ...ok, body: {} }, { ...ok, body: ['x'.repeat(17000)] }, { ...ok, body: [0.5] }];
        const out = tries.map((t) => { try { signTx(seed, t); return 'signed'; } catch (e) { return e.message; } });
        try { signTx(new Uint8Array(31), ok); out.push('signed'); } catch (e) { out.push(e.message); }
        return out;
    """)
    assert "signed" not in refusals, refusals
    assert "at most 16384" in refusals[6]


# --- 2. addresses ------------------------------------------------------------------------------------


def malformed_addresses() -> list[str]:
    good = to_address(bytes(range(32)))
    body = good[2:]
    flipped = body[:10] + ("a" if body[10] != "a" else "b") + body[11:]
    last = "abcdefghijklmnopqrstuvwxyz234567".index(body[-1])
    padded = body[:-1] + "abcdefghijklmnopqrstuvwxyz234567"[last | 1]
    return [
        "", "ic", good[:-1], good + "a", "ix" + body, "IC" + body, "ic" + body.upper(),
        "ic" + body[:5] + body[5].upper() + body[6:], "ic" + body[:20] + "1" + body[21:], "ic" + body[:20] + "8" + body[21:],
        "ic" + flipped, "ic" + padded, "\u00a0" + good, good + "\u2003", "ic" + body[:30] + "é" + body[31:],
        "ic" + body[:57] + "=", good.replace("ic", "ic ", 1)[:60],
    ]


def test_addresses_match_python_and_malformed_ones_are_refused(page: Page) -> None:
    keys = [os.urandom(32) for _ in range(40)] + [bytes(32), b"\xff" * 32]
    got = in_page(page, """
        return arg.map((k) => { const address = codec.addressOf(codec.fromHex(k));
                                return [address, codec.toHex(codec.parseAddress(' \\t' + address + '\\r\\n'))]; });
    """, [k.hex() for k in keys])
    for key, (address, back) in zip(keys, got, strict=True):
        assert address == to_address(key)
        assert back == key.hex()

    bad = malformed_addresses()
    for text in bad:
        with pytest.raises(AddressError):
            from_address(text)
    reasons = in_page(page, """
        return arg.map((a) => { try { codec.parseAddress(a); return 'accepted'; }
                                catch (e) { return e.name === 'AddressError' && e.message ? e.reason : 'odd: ' + e; } });
    """, bad)
    assert "accepted" not in reasons and not any(r.startswith("odd") for r in reasons), list(zip(bad, reasons, strict=True))
    assert set(reasons) == {"length", "case", "alphabet", "checksum", "canonical"}
    # a person reads the reason in the page's language (Italian here)
    message = in_page(page, "try { codec.parseAddress(arg); } catch (e) { return e.message; }", bad[10])
    assert "controllo" in message


# --- 3. a transaction signed in the page commits -----------------------------------------------------


def test_a_transaction_signed_and_sent_by_the_page_commits(devnet: Devnet, page: Page) -> None:
    payee = SigningKey(os.urandom(32))
    before = devnet.api.balance(PAGE_KEY.pubkey)
    sent = in_page(page, """
        const { signTx } = await import('/piazza/js/tx.js');
        const { get, post } = await import('/piazza/js/api.js');
        const seed = revive(arg.seed), me = codec.addressOf((await import('/piazza/js/tx.js')).publicKeyOf(seed));
        const [status, account] = await Promise.all([get('/v1/status'), get('/v1/accounts/' + me)]);
        const { raw, hash } = signTx(seed, { chainId: status.chain_id, type: 'credits.transfer', nonce: account.pending_nonce,
          expiry: status.height + 300, body: [arg.cls, codec.parseAddress(arg.to), 1234n, 'caffè ☕'] });
        const admitted = await post('/v1/txs', raw);
        for (let i = 0; i < 200; i++) {
          const seen = await get('/v1/txs/' + hash);
          if (seen.status === 'committed') return { hash, admitted, seen };
          await new Promise((r) => setTimeout(r, 100));
        }
        return { hash, admitted, seen: null };
    """, {"seed": wire(PAGE_KEY.seed), "cls": DEMO_CLASS, "to": to_address(payee.pubkey)})
    assert sent["seen"] is not None, f"not committed: {sent}"
    assert sent["seen"]["result"]["code"] == "OK", sent["seen"]
    committed = devnet.api.wait_committed(bytes.fromhex(sent["hash"]))
    assert committed["height"] >= 1
    assert devnet.api.balance(payee.pubkey) == 1234
    wait_until(lambda: devnet.api.balance(PAGE_KEY.pubkey) == before - 1234, what="the payer's balance")
    # the block holds the very bytes the page signed, and Python reads them as a validly signed transfer
    block, _ = decode_raw_block(devnet.api.get_raw(f"/v1/blocks/{committed['height']}/raw"))
    raw = next(t for t in block.txs if sha256(t).hex() == sent["hash"])
    tx = decode_tx(raw)
    assert tx.signature_ok() and tx.signer == PAGE_KEY.pubkey
    assert tx.body == (DEMO_CLASS, payee.pubkey, 1234, "caffè ☕")


# --- 4. key files and the browser's keyring ----------------------------------------------------------

EXAMPLE_PASSWORD = "correct horse battery staple"
PASSPHRASE = "una frase segreta lunga"
FILE_PASSWORD = "password del file"


def bad_key_files(text: str) -> list[str]:
    """Variants of a valid key file, each breaking one rule of FORMAT.md §22.1 (before any decryption)."""
    doc = json.loads(text)

    def edited(change) -> str:
        copy = json.loads(json.dumps(doc))
        change(copy)
        return json.dumps(copy)

    return [
        "not json", "[]", json.dumps({**doc, "format": "incoop-keystore-2"}), json.dumps({**doc, "extra": 1}),
        edited(lambda d: d.pop("cipher")), edited(lambda d: d["kdf"].update(pepper="")),
        edited(lambda d: d["kdf"].update(name="argon2i")), edited(lambda d: d["cipher"].update(name="aes-256-gcm")),
        edited(lambda d: d["kdf"].update(opslimit=0)), edited(lambda d: d["kdf"].update(opslimit=11)),
        edited(lambda d: d["kdf"].update(opslimit="1")), edited(lambda d: d["kdf"].update(opslimit=True)),
        text.replace('"opslimit": 1,', '"opslimit": 1.0,'), text.replace('"memlimit": 8192,', '"memlimit": 8192e0,'),
        edited(lambda d: d["kdf"].update(memlimit=8191)), edited(lambda d: d["kdf"].update(memlimit=2**30 + 1)),
        edited(lambda d: d["kdf"].update(memlimit=2**40)), edited(lambda d: d["kdf"].update(salt=d["kdf"]["salt"][2:])),
        edited(lambda d: d["kdf"].update(salt=d["kdf"]["salt"].upper())), edited(lambda d: d["cipher"].update(nonce=d["cipher"]["nonce"][2:])),
        edited(lambda d: d["cipher"].update(ciphertext=d["cipher"]["ciphertext"][:32])),
        edited(lambda d: d["cipher"].update(ciphertext="00" * 1041)), edited(lambda d: d.update(address="ic" + "a" * 127)),
        edited(lambda d: d.update(address=None)), edited(lambda d: d.update(kdf=[])),
    ]


def test_key_files_and_the_keyring(page: Page, browsing: Watched, tmp_path: Path) -> None:
    # FORMAT.md §22.1's worked example, derived and sealed in the page
    example = in_page(page, """
        const kf = await import('/piazza/js/keyfile.js');
        const count = (n) => Uint8Array.from({ length: n }, (_, i) => i);
        const k = await kf.deriveKeyFileKey(arg, count(16), { opslimit: 1, memlimit: 8192 });
        const text = await kf.writeKeyFile(count(32), arg, { opslimit: 1, memlimit: 8192 }, { salt: count(16), nonce: count(24) });
        const back = await kf.readKeyFile(text, arg);
        return { k: codec.toHex(k), text, address: back.address, seed: codec.toHex(back.seed) };
    """, EXAMPLE_PASSWORD)
    assert example["k"] == "d17ea6341ca93da6079ea2f64dc4aa31dd1aaf9caa67fb42ac4afd0714706f26"
    assert json.loads(example["text"])["cipher"]["ciphertext"] == (
        "263856b2b4af1afae68004963752d37bcf8a71b195f776624e9d193aab0294c10d1e49d3e60f4766aff39f4befd8d62a")
    assert example["address"] == "icaoqqpp7tzyil4hlq3umoos6atft6jvrqtosq2xy53sdgiesvgg4ihpzznm"
    assert example["seed"] == bytes(range(32)).hex()
    assert decrypt_key(json.loads(example["text"]), EXAMPLE_PASSWORD).seed == bytes(range(32))

    # a key file the CLI wrote is imported into the keyring; a wrong file password stores nothing
    key = SigningKey(os.urandom(32))
    Keystore(tmp_path / "cli").create("maria", FILE_PASSWORD, key=key, kdf=TEST_KDF)
    cli_text = (tmp_path / "cli" / "maria.json").read_text()
    imported = in_page(page, """
        const ring = await import('/piazza/js/keyring.js');
        let wrong;
        try { await ring.importKeyFile(arg.text, 'not the password', 'Maria', arg.passphrase); } catch (e) { wrong = [e.name, e.reason]; }
        const afterWrong = (await ring.listKeys()).length;
        const address = await ring.importKeyFile(arg.text, arg.password, 'Maria', arg.passphrase);
        let again;
        try { await ring.importKeyFile(arg.text, arg.password, 'Maria', arg.passphrase); } catch (e) { again = e.reason; }
        return { wrong, afterWrong, address, again, keys: await ring.listKeys() };
    """, {"text": cli_text, "password": FILE_PASSWORD, "passphrase": PASSPHRASE})
    assert imported["wrong"] == ["KeyFileError", "password"]
    assert imported["afterWrong"] == 0
    assert imported["address"] == to_address(key.pubkey)
    assert imported["again"] == "exists"
    assert imported["keys"] == [{"label": "Maria", "address": to_address(key.pubkey)}]

    # every broken file is refused, by Python's reader and the page's, before anything is derived: even
    # one whose setting would cost 1 GiB, or 10 passes over 256 MiB, answers at once
    bad = bad_key_files(cli_text)
    for text in bad:
        with pytest.raises((KeystoreError, ValueError)):
            decrypt_key(json.loads(text), FILE_PASSWORD)
    heavy = json.loads(cli_text)
    heavy["kdf"].update(opslimit=10, memlimit=256 * 2**20)
    heavy["extra"] = True
    huge = json.loads(cli_text)
    huge["kdf"].update(memlimit=2**30)
    files = [*bad, json.dumps(heavy), json.dumps(huge)]
    verdicts = in_page(page, """
        const kf = await import('/piazza/js/keyfile.js');
        const out = [];
        for (const text of arg) {
          const started = performance.now();
          try { await kf.readKeyFile(text, 'password del file'); out.push(['accepted']); }
          catch (e) { out.push([e.name, e.reason, performance.now() - started, e.message]); }
        }
        return out;
    """, files)
    for text, verdict in zip(files, verdicts, strict=True):
        assert verdict[0] == "KeyFileError" and verdict[1] in ("json", "format", "member", "costly"), (text, verdict)
        assert verdict[2] < 500, f"{verdict[3]}: took {verdict[2]:.0f} ms, so something was derived"
    assert verdicts[-2][1] == "member"
    assert verdicts[-1][1] == "costly" and "1024 MiB" in verdicts[-1][3], verdicts[-1]

    # the keyring: passphrase rules, a new key, a wrong passphrase, an export the CLI opens
    ring = in_page(page, """
        const ring = await import('/piazza/js/keyring.js');
        const { publicKeyOf } = await import('/piazza/js/tx.js');
        const refusals = [];
        for (const [label, pass] of [['Io', 'corta'], ['', 'abbastanza lunga'], ['x'.repeat(65), 'abbastanza lunga'], ['Io\\n', '1234567']]) {
          try { await ring.createKey(label, pass); refusals.push('created'); } catch (e) { refusals.push(e.reason); }
        }
        const created = await ring.createKey('Il mio borsellino', arg.passphrase);
        const t0 = performance.now();
        const seed = await ring.unlock(created, arg.passphrase);
        const unlockMs = performance.now() - t0;
        const wrong = [];
        for (const attempt of [() => ring.unlock(created, arg.passphrase + '!'),
                               () => ring.exportKeyFile(created, 'sbagliata sbagliata', arg.filePassword)]) {
          try { await attempt(); wrong.push('opened'); } catch (e) { wrong.push(e.name); }
        }
        const t1 = performance.now();
        const exported = await ring.exportKeyFile(created, arg.passphrase, arg.filePassword);
        const exportMs = performance.now() - t1;
        let shortFile;
        try { await ring.exportKeyFile(created, arg.passphrase, 'corta'); } catch (e) { shortFile = e.reason; }
        const record = JSON.parse(localStorage.getItem(ring.PREFIX + created));
        return { refusals, created, seed: codec.toHex(seed), derived: codec.addressOf(publicKeyOf(seed)), unlockMs, exportMs,
                 wrong, exported, shortFile, record, keys: await ring.listKeys() };
    """, {"passphrase": PASSPHRASE, "filePassword": FILE_PASSWORD})
    print(f"keyring unlock (Argon2id t=3, 32 MiB): {ring['unlockMs']:.0f} ms; "
          f"export (unlock + Argon2id t=2, 64 MiB): {ring['exportMs']:.0f} ms")
    assert ring["refusals"] == ["short", "label", "label", "short"]
    assert ring["derived"] == ring["created"]
    assert ring["wrong"] == ["WrongPassphrase", "WrongPassphrase"]
    assert ring["shortFile"] == "short"
    assert [k["label"] for k in ring["keys"]] == ["Maria", "Il mio borsellino"]
    record = ring["record"]
    assert record["kdf"] | {"salt": ""} == {"name": "argon2id", "version": 19, "t": 3, "m": 32768, "p": 1, "salt": ""}
    assert record["cipher"]["name"] == "aes-256-gcm" and ring["seed"] not in json.dumps(record)
    exported = json.loads(ring["exported"])
    assert (exported["kdf"]["opslimit"], exported["kdf"]["memlimit"]) == (WALLET_KDF.opslimit, WALLET_KDF.memlimit)
    (tmp_path / "cli" / "from-the-browser.json").write_text(ring["exported"])
    assert Keystore(tmp_path / "cli").unlock("from-the-browser", FILE_PASSWORD).seed.hex() == ring["seed"]
    assert to_address(SigningKey(bytes.fromhex(ring["seed"])).pubkey) == ring["created"]

    old = SigningKey(os.urandom(32))
    # a record under a weaker setting is sealed again under the current one when unlocked; an altered
    # record is refused; a removed key is gone
    later = in_page(page, """
        const ring = await import('/piazza/js/keyring.js');
        const seed = codec.fromHex(arg.seed);
        const address = await ring.addSeed(seed.slice(), 'Vecchia', arg.passphrase, { t: 1, m: 8, p: 1 });
        const before = JSON.parse(localStorage.getItem(ring.PREFIX + address)).kdf;
        const opened = codec.toHex(await ring.unlock(address, arg.passphrase));
        const after = JSON.parse(localStorage.getItem(ring.PREFIX + address)).kdf;
        const reopened = codec.toHex(await ring.unlock(address, arg.passphrase));
        // (a second record under the weak setting, so that the failures below cost no real derivation)
        const weak = await ring.addSeed(codec.fromHex(arg.weak), 'Debole', arg.passphrase, { t: 1, m: 8, p: 1 });
        const record = JSON.parse(localStorage.getItem(ring.PREFIX + weak));
        const flipped = record.cipher.ciphertext.replace(/^./, (c) => c === '0' ? '1' : '0');
        localStorage.setItem(ring.PREFIX + weak, JSON.stringify({ ...record, cipher: { ...record.cipher, ciphertext: flipped } }));
        let tampered; try { await ring.unlock(weak, arg.passphrase); } catch (e) { tampered = e.name; }
        localStorage.setItem(ring.PREFIX + arg.other, JSON.stringify({ ...record, address: arg.other }));
        let moved; try { await ring.unlock(arg.other, arg.passphrase); } catch (e) { moved = e.name; }
        const removed = [await ring.removeKey(address), await ring.removeKey(arg.other), await ring.removeKey(weak),
                         await ring.removeKey(address)];
        let gone; try { await ring.unlock(address, arg.passphrase); } catch (e) { gone = e.reason; }
        return { address, before, after, opened, reopened, tampered, moved, removed, gone, keys: (await ring.listKeys()).length };
    """, {"seed": old.seed.hex(), "weak": os.urandom(32).hex(), "passphrase": PASSPHRASE, "other": to_address(os.urandom(32))})
    assert later["address"] == to_address(old.pubkey)
    assert (later["before"]["t"], later["before"]["m"]) == (1, 8)
    assert (later["after"]["t"], later["after"]["m"]) == (3, 32768)
    assert later["opened"] == later["reopened"] == old.seed.hex()
    assert later["tampered"] == "WrongPassphrase"
    assert later["moved"] == "WrongPassphrase"
    assert later["removed"] == [True, True, True, False]
    assert later["gone"] == "unknown"
    assert later["keys"] == 2

    # nothing secret ever left the page: no request carried a seed, a passphrase or a file password
    sent = b"\n".join(browsing.sent())
    for secret in (key.seed.hex(), old.seed.hex(), ring["seed"], PASSPHRASE, FILE_PASSWORD, EXAMPLE_PASSWORD):
        assert secret.encode() not in sent, "a secret was sent to the node"


# --- 5. payment requests -----------------------------------------------------------------------------


def python_parse(text: str) -> dict | None:
    try:
        req = parse_request(text)
    except PaymentRequestError:
        return None
    return {"to": req.address, "chainId": req.chain_id, "classId": req.class_id,
            "amount": None if req.amount is None else str(req.amount), "ref": req.ref, "category": req.category}


def test_payment_requests_parse_and_format_as_in_python(page: Page) -> None:
    full = FULL_REQUEST
    base = full.split("&amount")[0]
    typo = full[:30] + ("a" if full[30] != "a" else "b") + full[31:]
    texts = [
        full, FORMAT_EXAMPLE, *(text for text, _ in MALFORMED_REQUESTS),
        "  " + full + "\n", "\u00a0" + full + "\u3000", "\x1c" + full + "\x85", "\ufeff" + full, "\u200b" + full,
        full + "#top", full.replace("incoop:", "INCOOP:"), full.replace("incoop:", "Incoop://"), typo,
        full.replace("incoop:", "incoop: "), full.replace("?", "\u00a0?"), base.replace("?", "?class=x&").replace("&class=welfare-2026", ""),
        base + "&ref=%EF%BB%BFx", base + "&ref=%ED%A0%80", base + "&ref=%C0%AF", base + "&ref=%F4%90%80%80",
        base + "&ref=%C2%85", base + "&ref=%E2%80%A8", base + "&ref=%F0%9F%98%80" * 32, base + "&ref=%F0%9F%98%80" * 33,
        base + "&ref=a=b", base + "&ref=a%3db", base + "&chain=x", base + "&amount=9223372036854775807",
        base + "&amount=9223372036854775808", base + "&amount=%2B5", base + "&amount=+5", base + "&ref=%", "incoop:",
    ]
    expected = [python_parse(text) for text in texts]
    assert sum(e is None for e in expected) > 40 and sum(e is not None for e in expected) > 10
    got = in_page(page, """
        const pr = await import('/piazza/js/payreq.js');
        return arg.map((text) => { try { const r = pr.parsePaymentRequest(text);
            if (codec.toHex(r.payee) !== codec.toHex(codec.parseAddress(r.to))) return 'payee differs';
            return { back: pr.formatPaymentRequest(r), fields: { to: r.to, chainId: r.chainId, classId: r.classId,
                     amount: r.amount === null ? null : r.amount.toString(), ref: r.ref, category: r.category } }; }
          catch (e) { return e.name === 'PaymentRequestError' && e.message ? null : 'odd: ' + e; } });
    """, texts)
    for text, want, have in zip(texts, expected, got, strict=True):
        assert (have and have["fields"]) == want, f"{text!r}: Python {want}, page {have}"
        if want is not None:
            assert have["back"] == format_request(parse_request(text))

    # formatting: the page writes what Python writes, and refuses what it refuses
    requests = [PaymentRequest(to_address(os.urandom(32)), "incoop-devnet", "welfare-2026", amount, ref, category)
                for amount, ref, category in [(None, None, None), (1, "order 42", None), (2**63 - 1, "caffè ☕ & 50% = 1+1", "food"),
                                              (2**53 + 1, "A-42 / May?#", "groceries"), (7, "r" * 128, "a" * 32), (None, "日本~._-", None)]]
    invalid = [PaymentRequest("", "c", "k"), PaymentRequest(" " + requests[0].address, "c", "k"),
               PaymentRequest(requests[0].address, "", "k"), PaymentRequest(requests[0].address, "c", "K"),
               PaymentRequest(requests[0].address, "c", "k", amount=0), PaymentRequest(requests[0].address, "c", "k", amount=2**63),
               PaymentRequest(requests[0].address, "c", "k", ref=""), PaymentRequest(requests[0].address, "c", "k", ref="è" * 65),
               PaymentRequest(requests[0].address, "c", "k", ref="a\nb"), PaymentRequest(requests[0].address, "c", "k", category="Food")]
    for req in invalid:
        with pytest.raises(PaymentRequestError):
            format_request(req)
    formatted = in_page(page, """
        const pr = await import('/piazza/js/payreq.js');
        const one = (r) => { try { return pr.formatPaymentRequest({ to: r[0], chainId: r[1], classId: r[2],
            amount: r[3] === null ? null : BigInt(r[3]), ref: r[4], category: r[5] }); } catch (e) { return e.name; } };
        const surrogate = one([arg.valid[0][0], 'c', 'k', null, '\\ud800', null]);
        const wrongTypes = [{ ...arg.valid[0], 3: true }, { ...arg.valid[0], 3: '5' }].map((r) => {
          try { return pr.formatPaymentRequest({ to: r[0], chainId: r[1], classId: r[2], amount: r[3] }); } catch (e) { return e.name; } });
        return { valid: arg.valid.map(one), invalid: arg.invalid.map(one), surrogate, wrongTypes };
    """, {"valid": [[r.address, r.chain_id, r.class_id, None if r.amount is None else str(r.amount), r.ref, r.category] for r in requests],
          "invalid": [[r.address, r.chain_id, r.class_id, None if r.amount is None else str(r.amount), r.ref, r.category] for r in invalid]})
    assert formatted["valid"] == [format_request(r) for r in requests]
    assert formatted["invalid"] == ["PaymentRequestError"] * len(invalid)
    assert formatted["surrogate"] == "PaymentRequestError" and formatted["wrongTypes"] == ["PaymentRequestError"] * 2

    # as a QR code (FORMAT.md §20.4): the page draws the request with uqr, in the version segno picks at
    # level M, and jsQR (what the camera scanner uses) reads the same text back from the picture
    uris = [format_request(r) for r in requests[:3]]
    scanned = in_page(page, """
        const { qrEncode, jsQR } = await import('/piazza/vendor/incoop-vendor.js');
        return arg.map((uri) => {
          const qr = qrEncode(uri, { ecc: 'M', boostEcc: true, border: 4 }), scale = 4, side = qr.size * scale;
          const canvas = document.createElement('canvas'); canvas.width = canvas.height = side;
          const g = canvas.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, side, side); g.fillStyle = '#000';
          qr.data.forEach((row, y) => row.forEach((dark, x) => { if (dark) g.fillRect(x * scale, y * scale, scale, scale); }));
          const found = jsQR(g.getImageData(0, 0, side, side).data, side, side);
          return [qr.version, found && found.data];
        });
    """, uris)
    for uri, (version, text) in zip(uris, scanned, strict=True):
        assert text == uri
        assert version == segno.make(uri, error="m", micro=False).version
