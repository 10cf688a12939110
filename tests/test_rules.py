"""The chain's rules as one explicit list of modules (ledger/rules.py, genesis/rules.py).

- modules that collide do not compose: a type, a result code or a state-key
  prefix claimed twice is refused when the list is built;
- every program takes its rules from the one list: the node's mempool and
  consensus, the auditor, the exporter, the wallet's builder, the benchmarks;
- a process that imports nothing but the transition and the list computes
  the same state root as one that imported everything, and a list without a
  module refuses that module's transactions instead of computing another root.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import pytest

from genesis.rules import MODULES, RULES
from identity.module import MODULE as IDENTITY
from ledger.credit_txs import MODULE as CREDITS
from ledger.errors import Code, TxError
from ledger.evidence import MODULE as EVIDENCE
from ledger.handlers import TxType
from ledger.rules import ChainRules, Module, RulesError


def test_the_list_is_credits_identity_evidence_market_gas_agora_and_names_every_type_once():
    assert [m.name for m in MODULES] == ["credits", "identity", "evidence", "market", "gas", "agora"]
    assert RULES.identity == (("credits", 1), ("identity", 1), ("evidence", 1), ("market", 1), ("gas", 1),
                              ("agora", 1))
    names = [t.name for m in MODULES for t in m.tx_types]
    assert sorted(names) == list(RULES.type_names) and len(set(names)) == len(names)
    assert all(RULES.module_of(t.name) == m.name for m in MODULES for t in m.tx_types)


def test_the_list_identity_changes_with_any_version():
    bumped = ChainRules((CREDITS, IDENTITY, Module("evidence", 2, tx_types=EVIDENCE.tx_types,
                                                   prefixes=EVIDENCE.prefixes)))
    assert bumped.digest != RULES.digest


@pytest.mark.parametrize(("extra", "message"), [
    (Module("credits", 1), "listed twice"),
    (Module("copycat", 1, tx_types=(TxType("credits.transfer", lambda b: b, lambda c, b: None),)), "declared by"),
    (Module("copycat", 1, prefixes=(b"bal/x",)), "overlap"),
    (Module("copycat", 1, prefixes=(b"ba",)), "overlap"),
    (Module("copycat", 1, codes=(Code.NOT_ISSUER,)), "introduced by"),
    (Module("copycat", 1, codes=(Code.MALFORMED,)), "not an execution result"),
])
def test_modules_that_collide_do_not_compose(extra, message):
    with pytest.raises(RulesError, match=message):
        ChainRules((*MODULES, extra))


def test_an_unknown_type_is_unknown_type():
    with pytest.raises(TxError) as caught:
        RULES.parse("budget.select", ())
    assert caught.value.code == Code.UNKNOWN_TYPE


def test_without_the_identity_module_spending_is_unguarded_and_nothing_is_attested():
    from ledger.state import DictState

    alone = ChainRules((CREDITS, EVIDENCE))
    assert alone.spend_guards == () and alone.attribute_sources == () and alone.registrar_sources == ()
    assert not alone.holds_attribute(DictState(), bytes(32), "member:x", 1)
    assert "identity.register" not in alone.type_names


def test_every_program_takes_its_rules_from_the_one_list():
    """Each place that executes or checks transactions is handed RULES explicitly."""
    from node import server
    from node.audit import export_cli, verify_cli
    from node.bench import chain, scale
    from wallet import txbuild

    for module in (server, verify_cli, export_cli, chain, scale):
        assert "RULES" in inspect.getsource(module), module.__name__
    assert inspect.signature(txbuild.check_body).parameters["rules"].default is RULES
    from node.consensus import blocks
    assert inspect.getsource(blocks).count("ctx.mempool.rules") == 2, "blocks are built and checked with its rules"


REGISTER_PROBE = textwrap.dedent("""
    import json, sys
    from genesis.document import parse_genesis
    from genesis.rules import RULES
    from ledger.block import decode_raw_block
    from ledger.merkle import StateTree
    from ledger.state import DictState
    from ledger.transition import ChainHead, apply_block
    doc, raws = json.loads(sys.stdin.read())
    g = parse_genesis(json.dumps(doc))
    state = DictState(g.initial_state()); nodes = {}; tree = StateTree(nodes.get)
    root, writes = tree.update(sorted(state.items.items())); nodes.update(writes)
    head = ChainHead(0, g.hash(), root, g.genesis_time_ms)
    for raw in raws:
        block, _ = decode_raw_block(bytes.fromhex(raw))
        out = apply_block(RULES, state, tree, head, block, g.chain_id)
        state.apply(out.state_changes)
        nodes.update({k: v for k, v in out.tree_writes.items() if v is not None})
        head = ChainHead(block.header.height, block.hash(), out.state_root, block.header.time_ms)
    print(head.state_root.hex(), sorted(m for m in sys.modules if m.split(".")[0] in ("identity", "node")))
""")


def _register_body(key) -> tuple:
    return (bytes(range(16)), "person", bytes(32), bytes(32), (key.pubkey,))


def test_a_process_that_imports_only_the_transition_and_the_list_computes_the_same_root():
    """The failure this list prevents: a process that forgot `import identity` computed another root."""
    import json

    from ledger.block import Certificate, encode_raw_block
    from tests.identity_chain import KEYS, REGISTRAR, Chain, genesis_document

    c = Chain()
    block = c.block([c.tx(REGISTRAR, "identity.register", _register_body(KEYS[5]))])
    assert block.results == (0,)
    raws = [encode_raw_block(block, Certificate(1, 0, block.hash(), ())).hex()]
    proc = subprocess.run([sys.executable, "-c", REGISTER_PROBE], input=json.dumps([genesis_document(), raws]),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    root, imported = proc.stdout.split(" ", 1)
    assert root == c.head.state_root.hex()
    assert "identity.module" in imported and "'node" not in imported, "the list itself brought the identity module"


def test_rules_without_a_module_refuse_its_transactions_rather_than_compute_another_root():
    from ledger.state import DictState
    from ledger.transition import BlockInvalid, apply_block
    from tests.identity_chain import CHAIN_ID, KEYS, REGISTRAR, Chain

    c = Chain()
    before, state_before, nodes_before = c.head, DictState(dict(c.state.items)), dict(c.nodes)
    block = c.block([c.tx(REGISTRAR, "identity.register", _register_body(KEYS[5]))])
    from ledger.merkle import StateTree

    with pytest.raises(BlockInvalid, match="unknown transaction type"):
        apply_block(ChainRules((CREDITS, EVIDENCE)), state_before, StateTree(nodes_before.get), before, block, CHAIN_ID)


def test_a_node_serves_the_routes_of_the_modules_in_its_rules():
    from node.routes import identities
    from node.routes.core import CORE, NODE_TABLES, tables_for

    assert identities.routes in CORE and CORE[: len(NODE_TABLES)] == NODE_TABLES
    assert identities.routes not in tables_for(ChainRules((CREDITS, EVIDENCE)))
