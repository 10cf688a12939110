"""FORMAT.md's worked examples, recomputed from the same fixed inputs: any drift fails.

FORMAT.md is what an auditor writes an independent verifier from, so its
example bytes must be exactly what the code produces. Every example there is
a fenced block whose first line is `example: NAME`, followed by `field: value`
lines (long hex values continue on lines indented by two spaces); the genesis
document is a ```json fence preceded by `<!-- example-json: NAME -->`.

To regenerate the blocks after an intended format change:

    python tests/test_format_examples.py           (prints every block, in order)
    python tests/test_format_examples.py --write   (replaces them in FORMAT.md, in place)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from genesis.document import modules_json, parse_genesis, people_json
from genesis.rules import RULES
from ledger import chain
from ledger.address import to_address
from ledger.block import PRECOMMIT, Certificate, encode_raw_block, sign_precommit, vote_payload
from ledger.crypto import DOMAIN_TX, DOMAIN_VOTE, SigningKey, sha256, signing_message
from ledger.encoding import encode
from ledger.merkle import StateTree, inner_hash, leaf_hash, list_root, node_key, verify_proof
from ledger.state import DictState
from ledger.tx import sign_tx
from tests.chain_source import Replica

FORMAT_MD = Path(__file__).resolve().parent.parent / "FORMAT.md"

# --- the fixed inputs ------------------------------------------------------------

CHAIN_ID = "incoop-example"
GENESIS_TIME_MS = 1767225600000  # 2026-01-01T00:00:00Z
BLOCK1_TIME_MS = GENESIS_TIME_MS + 5000
YEAR_END_MS = 1798761600000  # 2027-01-01T00:00:00Z: the classes' validity ends
CLASS_ID = "meal-2026"

ALICE = SigningKey(bytes([0x01]) * 32)  # issuer of the class, pays bob
BOB = SigningKey(bytes([0x02]) * 32)
VALIDATORS = [SigningKey(bytes([seed]) * 32) for seed in (0x03, 0x04, 0x05, 0x06)]
REGISTRAR = SigningKey(bytes([0x07]) * 32)
OBSERVER = SigningKey(bytes([0x08]) * 32)
ATTESTER = SigningKey(bytes([0x09]) * 32)
ARBITER = SigningKey(bytes([0x0A]) * 32)
AGORA_ADMIN = SigningKey(bytes([0x0B]) * 32)

ENCODED_VALUE = [1, -1, 300, 70000, "héllo", b"\x00\xff", True, None, [], 2**64 - 1, -(2**63)]


def genesis_document() -> dict:
    return {
        "chain_id": CHAIN_ID,
        "genesis_time_ms": GENESIS_TIME_MS,
        "modules": modules_json(RULES),
        "params": {"max_block_txs": 5000, "max_block_bytes": 8388608, "max_tx_bytes": 16384, "max_nonce_gap": 256,
                   "recovery_delay_blocks": 100},
        "validators": [
            {"name": f"validator-{i + 1}", "pubkey": to_address(key.pubkey), "api": "", "p2p": ""}
            for i, key in enumerate(VALIDATORS)
        ],
        "observers": [{"name": "Observer One", "pubkey": to_address(OBSERVER.pubkey), "p2p": ""}],
        "credits": {
            "issuers": [{"name": "Comune di Esempio", "account": to_address(ALICE.pubkey)}],
            "classes": [
                {"id": CLASS_ID, "name": "Meal credits 2026", "issuer": to_address(ALICE.pubkey), "decimals": 2,
                 "kind": "community", "eligibility": [], "transferability": "p2p",
                 "categories": ["groceries", "meals"], "valid_from_ms": GENESIS_TIME_MS,
                 "valid_until_ms": YEAR_END_MS, "holder_cap": 0, "budget": 1000000, "description_hash": None,
                 "face_value": 0, "voucher_cap": 0},
                {"id": "welfare-2026", "name": "Welfare plan 2026", "issuer": to_address(ALICE.pubkey), "decimals": 2,
                 "kind": "welfare", "eligibility": ["employee:coop-esempio"], "transferability": "spend_only",
                 "categories": ["education", "health", "sport"], "valid_from_ms": GENESIS_TIME_MS,
                 "valid_until_ms": YEAR_END_MS, "holder_cap": 100000, "budget": 5000000,
                 "description_hash": sha256(b"Welfare plan 2026 regulations").hex(),
                 "face_value": 0, "voucher_cap": 0},
            ],
            "balances": [{"account": to_address(ALICE.pubkey), "class": CLASS_ID, "amount": 5000}],
        },
        "identity": {
            "registrars": [{"name": "Registrar One", "account": to_address(REGISTRAR.pubkey)}],
            "attesters": [
                {"name": "Cooperativa Esempio", "account": to_address(ATTESTER.pubkey),
                 "attributes": ["member:coop-esempio", "employee:coop-esempio", "resident:*"]},
            ],
        },
        "market": {"arbiters": [{"name": "Camera arbitrale", "account": to_address(ARBITER.pubkey)}]},
        "agora": {"admins": [{"name": "Agora della federazione", "account": to_address(AGORA_ADMIN.pubkey)}]},
    }


# --- rendering helpers -------------------------------------------------------------


def render_value(value) -> str:
    """A language-neutral notation: integers, "strings", h'hex' bytes, true/false/nil, [arrays]."""
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "nil"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    return "[" + ", ".join(render_value(v) for v in value) + "]"


def _memory_tree(items: dict[bytes, bytes]) -> tuple[StateTree, dict[bytes, bytes], bytes]:
    nodes: dict[bytes, bytes] = {}
    tree = StateTree(nodes.get)
    root, writes = tree.update(sorted(items.items()))
    nodes.update({k: v for k, v in writes.items() if v is not None})
    return tree, nodes, root


# --- the examples --------------------------------------------------------------------


def _encoded_value() -> list[tuple[str, str]]:
    return [("value", render_value(ENCODED_VALUE)), ("encoding", encode(ENCODED_VALUE).hex())]


def _signing_message() -> list[tuple[str, str]]:
    payload = bytes([1, 2, 3])
    return [
        ("domain", DOMAIN_TX),
        ("chain-id", CHAIN_ID),
        ("payload", payload.hex()),
        ("message", signing_message(DOMAIN_TX, CHAIN_ID, payload).hex()),
    ]


def _address() -> list[tuple[str, str]]:
    pubkey = ALICE.pubkey
    checksum = sha256(b"incoop/address/v1" + pubkey)[:4]
    return [
        ("seed", ALICE.seed.hex()),
        ("public-key", pubkey.hex()),
        ("checksum", checksum.hex()),
        ("address", to_address(pubkey)),
    ]


def example_tx():
    body = (CLASS_ID, BOB.pubkey, 1250, "lunch")
    return sign_tx(ALICE, CHAIN_ID, "credits.transfer", 0, 1000, body)


def _transaction() -> list[tuple[str, str]]:
    tx = example_tx()
    return [
        ("signer-seed", ALICE.seed.hex()),
        ("unsigned", render_value(tx.unsigned())),
        ("unsigned-encoding", encode(tx.unsigned()).hex()),
        ("signing-message", tx.signing_bytes().hex()),
        ("signature", tx.signature.hex()),
        ("wire", tx.raw.hex()),
        ("tx-hash", tx.hash.hex()),
    ]


TREE_ITEMS = {
    b"acct/" + ALICE.pubkey: encode((1,)),
    b"bal/" + ALICE.pubkey + CLASS_ID.encode(): encode(3750),
    b"bal/" + BOB.pubkey + CLASS_ID.encode(): encode(1250),
}
ABSENT_KEY = b"acct/" + BOB.pubkey


def _state_tree() -> list[tuple[str, str]]:
    tree, nodes, root = _memory_tree(TREE_ITEMS)
    out: list[tuple[str, str]] = []
    for i, (key, value) in enumerate(sorted(TREE_ITEMS.items())):
        kh, vh = sha256(key), sha256(value)
        out += [
            (f"key-{i}", key.hex()),
            (f"value-{i}", value.hex()),
            (f"key-hash-{i}", kh.hex()),
            (f"value-hash-{i}", vh.hex()),
            (f"leaf-{i}", leaf_hash(kh, vh).hex()),
        ]
    # a stored record is what its hash is taken over (FORMAT.md §15): 0x00||kh||vh for a leaf,
    # 0x01||left||right for an inner node, so the root's record shows the child hashes
    record = nodes[node_key(0, 0)]
    left_hash, right_hash = record[1:33], record[33:65]
    assert sha256(nodes[node_key(1, 0)]) == left_hash and sha256(nodes[node_key(1, 1)]) == right_hash
    assert inner_hash(left_hash, right_hash) == sha256(record) == root
    out += [("root-left", left_hash.hex()), ("root-right", right_hash.hex()), ("state-root", root.hex())]
    proved_key = sorted(TREE_ITEMS)[0]
    siblings, terminal = tree.prove(proved_key)
    assert verify_proof(root, proved_key, TREE_ITEMS[proved_key], siblings, terminal)
    out += [("proof-key", proved_key.hex())]
    out += [(f"proof-sibling-{d}", s.hex()) for d, s in enumerate(siblings)]
    siblings, terminal = tree.prove(ABSENT_KEY)
    assert verify_proof(root, ABSENT_KEY, None, siblings, terminal)
    out += [("absent-key", ABSENT_KEY.hex()), ("absent-key-hash", sha256(ABSENT_KEY).hex())]
    out += [(f"absent-sibling-{d}", s.hex()) for d, s in enumerate(siblings)]
    if terminal is None:
        out += [("absent-terminal", "empty")]
    else:
        out += [("absent-terminal-key-hash", terminal[0].hex()), ("absent-terminal-value-hash", terminal[1].hex())]
    return out


LIST_ITEMS = [sha256(bytes([i])) for i in range(3)]


def _list_root() -> list[tuple[str, str]]:
    leaves = [sha256(b"\x00" + item) for item in LIST_ITEMS]
    left = inner_hash(leaves[0], leaves[1])
    root = inner_hash(left, leaves[2])
    assert root == list_root(LIST_ITEMS)
    out = [(f"item-{i}", item.hex()) for i, item in enumerate(LIST_ITEMS)]
    out += [(f"leaf-{i}", leaf.hex()) for i, leaf in enumerate(leaves)]
    out += [("inner-0-1", left.hex()), ("list-root", root.hex()), ("empty-list-root", list_root([]).hex())]
    return out


def example_genesis():
    return parse_genesis(json.dumps(genesis_document()))


def _genesis() -> list[tuple[str, str]]:
    genesis = example_genesis()
    state = genesis.initial_state()
    out = [("canonical", encode(genesis.canonical_tuple()).hex()), ("genesis-hash", genesis.hash().hex())]
    for i, (key, value) in enumerate(sorted(state.items())):
        out += [(f"state-key-{i}", key.hex()), (f"state-value-{i}", value.hex())]
    _, _, root = _memory_tree(state)
    out += [("genesis-state-root", root.hex())]
    return out


def _params_with_a_timeout() -> list[tuple[str, str]]:
    """`sys/params` of the example chain after a set-param of timeout_propose_ms to 2500 (FORMAT.md §9)."""
    voted = chain.get_params(DictState(example_genesis().initial_state()))._replace(timeout_propose_ms=2500)
    return [("value", render_value(list(voted.canonical()))), ("encoding", voted.encode().hex())]


def example_block1():
    """Block 1 on the example genesis: alice's transfer, built and re-applied (tests/chain_source.py)."""
    genesis = example_genesis()
    proposer = chain.proposer(chain.get_validators(DictState(genesis.initial_state())), 1, 0)
    block, outcome, rejected = Replica(genesis, proposer).propose([example_tx()], BLOCK1_TIME_MS)
    assert not rejected
    assert Replica(genesis, proposer).apply(block).state_root == outcome.state_root
    return block, outcome


def _block() -> list[tuple[str, str]]:
    block, outcome = example_block1()
    h = block.header
    out = [
        ("version", str(h.version)),
        ("chain-id", h.chain_id),
        ("height", str(h.height)),
        ("time-ms", str(h.time_ms)),
        ("prev-hash", h.prev_hash.hex()),
        ("tx-root", h.tx_root.hex()),
        ("results-root", h.results_root.hex()),
        ("state-root", h.state_root.hex()),
        ("proposer", h.proposer.hex()),
        ("validators-hash", h.validators_hash.hex()),
        ("header-encoding", h.encode().hex()),
        ("block-hash", h.hash().hex()),
        ("results", render_value(list(block.results))),
        ("block-encoding", block.encode().hex()),
    ]
    for i, (key, value) in enumerate(sorted(outcome.state_changes.items())):
        out += [(f"changed-key-{i}", key.hex()), (f"changed-value-{i}", "deleted" if value is None else value.hex())]
    return out


def example_certificate(block) -> Certificate:
    block_hash = block.hash()
    signers = sorted(VALIDATORS[:3], key=lambda k: k.pubkey)  # quorum(4) = 3
    sigs = tuple((k.pubkey, sign_precommit(k, CHAIN_ID, 1, 0, block_hash)) for k in signers)
    return Certificate(1, 0, block_hash, sigs)


def _certificate() -> list[tuple[str, str]]:
    block, _ = example_block1()
    cert = example_certificate(block)
    payload = vote_payload(PRECOMMIT, 1, 0, block.hash())
    out = [
        ("validators", str(len(VALIDATORS))),
        ("quorum", str(chain.quorum(len(VALIDATORS)))),
        ("precommit", render_value((PRECOMMIT, 1, 0, block.hash()))),
        ("precommit-encoding", payload.hex()),
        ("signing-message", signing_message(DOMAIN_VOTE, CHAIN_ID, payload).hex()),
    ]
    for i, (validator, signature) in enumerate(cert.signatures):
        out += [(f"validator-{i}", validator.hex()), (f"signature-{i}", signature.hex())]
    out += [("certificate-encoding", cert.encode().hex()), ("raw-block", encode_raw_block(block, cert).hex())]
    return out


EXAMPLES = {
    "encoded-value": _encoded_value,
    "signing-message": _signing_message,
    "address": _address,
    "transaction": _transaction,
    "state-tree": _state_tree,
    "list-root": _list_root,
    "genesis": _genesis,
    "params-with-a-timeout": _params_with_a_timeout,
    "block": _block,
    "certificate": _certificate,
}

JSON_EXAMPLES = {"genesis-document": genesis_document}


# --- FORMAT.md parsing -----------------------------------------------------------------

_HEX = re.compile(r"[0-9a-f]+")
_WRAP = 64


def render_block(name: str, fields: list[tuple[str, str]]) -> str:
    lines = ["```text", f"example: {name}"]
    for key, value in fields:
        if _HEX.fullmatch(value) and len(value) > _WRAP:
            lines.append(f"{key}:")
            lines += [f"  {value[i:i + _WRAP]}" for i in range(0, len(value), _WRAP)]
        else:
            lines.append(f"{key}: {value}")
    lines.append("```")
    return "\n".join(lines)


def parse_examples(text: str) -> tuple[dict[str, list[tuple[str, str]]], dict[str, object]]:
    blocks: dict[str, list[tuple[str, str]]] = {}
    for body in re.findall(r"```text\n(example: .*?)```", text, flags=re.S):
        lines = body.rstrip("\n").split("\n")
        name = lines[0].removeprefix("example: ").strip()
        assert name not in blocks, f"example {name} appears twice"
        fields: list[list[str]] = []
        for line in lines[1:]:
            if line.startswith("  "):
                fields[-1][1] += line.strip()
            else:
                key, _, value = line.partition(":")
                fields.append([key.strip(), value.strip()])
        blocks[name] = [(k, v) for k, v in fields]
    jsons = {
        name: json.loads(body)
        for name, body in re.findall(r"<!-- example-json: (\S+) -->\s*```json\n(.*?)```", text, flags=re.S)
    }
    return blocks, jsons


@pytest.fixture(scope="module")
def documented():
    return parse_examples(FORMAT_MD.read_text(encoding="utf-8"))


def test_format_md_holds_every_example_and_no_unknown_one(documented):
    blocks, jsons = documented
    assert sorted(blocks) == sorted(EXAMPLES)
    assert sorted(jsons) == sorted(JSON_EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_documented_example_equals_what_the_code_computes(documented, name):
    blocks, _ = documented
    assert blocks.get(name) == EXAMPLES[name](), f"FORMAT.md example {name} drifted from the code"


@pytest.mark.parametrize("name", sorted(JSON_EXAMPLES))
def test_documented_json_example_equals_the_input_used(documented, name):
    _, jsons = documented
    assert jsons.get(name) == JSON_EXAMPLES[name]()


def render_json(name: str, value: object) -> str:
    return f"<!-- example-json: {name} -->\n```json\n" + people_json(value) + "\n```"


def rewrite(text: str) -> str:
    """FORMAT.md with every example block replaced by what the code computes now (the prose untouched)."""
    def block(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        return render_block(name, EXAMPLES[name]())

    text = re.sub(r"```text\nexample: (.*?)\n.*?```", block, text, flags=re.S)
    return re.sub(r"<!-- example-json: (\S+) -->\s*```json\n.*?```",
                  lambda m: render_json(m.group(1), JSON_EXAMPLES[m.group(1)]()), text, flags=re.S)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write"]:
        FORMAT_MD.write_text(rewrite(FORMAT_MD.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        for example_name, compute in EXAMPLES.items():
            print(render_block(example_name, compute()))
            print()
        for example_name, compute in JSON_EXAMPLES.items():
            print(render_json(example_name, compute()) + "\n")
