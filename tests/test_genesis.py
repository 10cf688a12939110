"""Genesis documents (FORMAT.md §14): a mistake is named before any node starts; the hash and state are
deterministic; the JSON is read strictly, so that two readers of one file agree on its validity and hash;
each module owns its section and the document names the modules it was written for."""

from __future__ import annotations

import json

import pytest

from genesis.document import (
    GenesisError,
    RulesMismatch,
    document_model,
    load_genesis,
    modules_json,
    parse_genesis,
)
from genesis.rules import MODULES, RULES
from identity.module import MODULE as IDENTITY
from ledger import chain, credits
from ledger.address import to_address
from ledger.credit_txs import MODULE as CREDITS
from ledger.crypto import SigningKey
from ledger.encoding import encode
from ledger.errors import Code, TxError
from ledger.evidence import MODULE as EVIDENCE
from ledger.merkle import full_root
from ledger.rules import ChainRules, Module, RulesError
from ledger.state import DictState
from node.cli import main

V = to_address(SigningKey(bytes([1]) * 32).pubkey)
ISSUER = to_address(SigningKey(bytes([2]) * 32).pubkey)
ANNA = to_address(SigningKey(bytes([3]) * 32).pubkey)
REGISTRAR = to_address(SigningKey(bytes([4]) * 32).pubkey)


def document(**changes) -> dict:
    doc = {
        "chain_id": "test-chain",
        "genesis_time_ms": 1_700_000_000_000,
        "modules": [["credits", 1], ["identity", 1], ["evidence", 1], ["market", 1], ["gas", 1], ["agora", 1],
                    ["federation", 1]],
        "validators": [{"name": "v0", "pubkey": V}],
        "credits": {
            "issuers": [{"name": "fed", "account": ISSUER}],
            "classes": [{"id": "eur", "name": "Euro credits", "issuer": ISSUER, "decimals": 2}],
            "balances": [{"account": ANNA, "class": "eur", "amount": 500}],
        },
    }
    doc.update(changes)
    return doc


def credits_section(**changes) -> dict:
    return {**document()["credits"], **changes}


def at(doc: dict, path: str, value) -> dict:
    """The document with the value at a dotted path (list indexes as numbers) replaced."""
    doc = json.loads(json.dumps(doc))
    *parents, last = path.split(".")
    target = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return doc


def refused(text: str, rules: ChainRules = RULES) -> str:
    with pytest.raises(GenesisError) as caught:
        parse_genesis(text, rules)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    return message


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
        ({"credits": credits_section(balances=[{"account": ANNA, "class": "nope", "amount": 1}])}, "unknown class"),
        ({"credits": credits_section(balances=[{"account": ANNA, "class": "eur", "amount": 0}])}, "amount"),
        ({"credits": credits_section(balances=[{"account": ANNA, "class": "eur", "amount": 2**63}])}, "amount"),
        ({"credits": credits_section(classes=[{"id": "eur", "name": "E", "issuer": ANNA, "decimals": 2}])},
         "not among the issuers"),
        ({"surprise": 1}, "surprise"),
        ({"credits": credits_section(issuers=[{"name": "a", "account": ISSUER}, {"name": "b", "account": ISSUER}])},
         "appears twice"),
    ],
)
def test_invalid_genesis_is_refused_with_the_field_named(changes, message):
    with pytest.raises(GenesisError, match=message):
        parse_genesis(json.dumps(document(**changes)))


# --- the JSON rules (FORMAT.md §14): strict types, every key specified, null only where said ------


@pytest.mark.parametrize(("path", "value", "where"), [
    ("genesis_time_ms", True, "genesis_time_ms"),
    ("genesis_time_ms", 1767225600000.0, "genesis_time_ms"),
    ("genesis_time_ms", 1e12, "genesis_time_ms"),
    ("genesis_time_ms", "1767225600000", "genesis_time_ms"),
    ("genesis_time_ms", None, "genesis_time_ms"),
    ("params", {"max_block_txs": 10000.0}, "params.max_block_txs"),
    ("params", {"max_nonce_gap": False}, "params.max_nonce_gap"),
    ("params", {"max_tx_bytes": "16384"}, "params.max_tx_bytes"),
    ("credits.balances.0.amount", "500", "credits.balances.0.amount"),
    ("credits.balances.0.amount", 500.0, "credits.balances.0.amount"),
    ("credits.balances.0.amount", True, "credits.balances.0.amount"),
    ("credits.classes.0.decimals", True, "credits.classes.0.decimals"),
    ("credits.classes.0.valid_until_ms", "0", "credits.classes.0.valid_until_ms"),
    ("modules", [["credits", True], ["identity", 1], ["evidence", 1], ["market", 1], ["gas", 1], ["agora", 1],
      ["federation", 1]],
     "modules.0.1"),
    ("modules", [["credits", 1.0], ["identity", 1], ["evidence", 1], ["market", 1], ["gas", 1], ["agora", 1],
      ["federation", 1]],
     "modules.0.1"),
    ("modules", [["credits", 1, 0], ["identity", 1], ["evidence", 1], ["market", 1], ["gas", 1], ["agora", 1],
      ["federation", 1]],
     "modules.0"),
    ("modules", "credits", "modules"),
    ("chain_id", 7, "chain_id"),
    ("validators.0.name", 7, "validators.0.name"),
    ("validators.0.api", None, "validators.0.api"),
    ("credits.classes.0.eligibility", "member:x", "credits.classes.0.eligibility"),
])
def test_a_value_of_the_wrong_json_type_is_refused_naming_its_field(path, value, where):
    """No coercion: true, 10000.0 and "10000" are not integers; a number is not a text."""
    message = refused(json.dumps(at(document(), path, value)))
    assert message.startswith(f"invalid genesis ({where}): "), message


@pytest.mark.parametrize("path", ["observers", "validators", "params", "credits", "identity", "credits.balances",
                                  "credits.classes.0.categories", "params.max_block_txs"])
def test_null_is_refused_where_the_field_does_not_say_or_null(path):
    message = refused(json.dumps(at(document(observers=[], identity={}, params={"max_block_txs": 10}), path, None)))
    assert message.startswith(f"invalid genesis ({path}): ") and "null" in message, message


def test_null_is_a_value_only_of_description_hash_and_means_no_hash():
    with_null = parse_genesis(json.dumps(at(document(), "credits.classes.0.description_hash", None)))
    assert with_null.hash() == parse_genesis(json.dumps(document())).hash()


@pytest.mark.parametrize(("doc", "where"), [
    (document(surprise=1), "surprise"),
    (document(params={"max_block_txs": 10, "max_blocks": 1}), "params.max_blocks"),
    (at(document(), "validators.0.weight", 1), "validators.0.weight"),
    (at(document(), "credits.classes.0.color", "red"), "credits.classes.0.color"),
    (at(document(), "credits.treasury", []), "credits.treasury"),
    (document(identity={"registrars": [], "notaries": []}), "identity.notaries"),
    (document(evidence={}), "evidence"),  # a listed module with no genesis section has no key
    (document(budget={}), "budget"),  # a module this document does not list
    (document(agora={"admins": [], "mayors": []}), "agora.mayors"),
    (document(market={"arbiters": [], "judges": []}), "market.judges"),
    (document(registrars=[{"name": "r", "account": REGISTRAR}]), "registrars"),  # the old flat form
])
def test_an_unknown_key_at_any_level_is_refused_by_name(doc, where):
    assert refused(json.dumps(doc)) == f"invalid genesis ({where}): unknown key (FORMAT.md §14 names every key)"


def test_a_key_twice_in_one_object_is_refused():
    """JSON leaves repeated keys to the reader; two readers would keep different values."""
    text = json.dumps(document())
    twice = text.replace('"chain_id": "test-chain"', '"chain_id": "test-chain", "chain_id": "other-chain"')
    assert refused(twice) == "invalid genesis (chain_id): the key appears twice in one object"
    nested = text.replace('"decimals": 2', '"decimals": 2, "decimals": 3')
    assert refused(nested) == "invalid genesis (decimals): the key appears twice in one object"


@pytest.mark.parametrize(("text", "words"), [
    ('{"chain_id": NaN}', "NaN is not JSON"),
    ('{"chain_id": Infinity}', "Infinity is not JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"chain_id": "x",}', "not JSON"),
    ("", "not JSON"),
    ("[" * 100_000, "not JSON"),
])
def test_what_is_not_a_json_object_is_refused(text, words):
    assert words in refused(text)


def test_a_text_with_a_lone_surrogate_is_refused():
    text = json.dumps(document()).replace('"v0"', '"v\\ud800"')
    assert refused(text).startswith("invalid genesis")


def test_a_file_that_is_not_utf8_or_starts_with_a_byte_order_mark_is_refused(tmp_path):
    path = tmp_path / "genesis.json"
    path.write_bytes(json.dumps(document()).replace("Euro credits", "Euro cr\xe9dits").encode("latin-1"))
    with pytest.raises(GenesisError, match="not UTF-8"):
        load_genesis(path)
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(document()).encode())
    with pytest.raises(GenesisError, match="not JSON"):
        load_genesis(path)


def test_absent_optional_keys_are_their_defaults_in_the_hash():
    """A key left out and the key with its default value are the same document."""
    short = document()
    spelled_out = document(
        params={"max_block_txs": 5000, "max_block_bytes": 8 * 1024 * 1024, "max_tx_bytes": 16 * 1024,
                "max_nonce_gap": 256, "recovery_delay_blocks": 100, "max_due_per_block": 1000,
                "timeout_propose_ms": 1000, "timeout_prevote_ms": 500, "timeout_precommit_ms": 500,
                "timeout_delta_ms": 500, "timeout_max_ms": 10_000},
        observers=[],
        validators=[{"name": "v0", "pubkey": V, "api": "", "p2p": ""}],
        identity={"registrars": [], "attesters": []},
    )
    spelled_out["credits"]["classes"][0].update(
        kind="community", eligibility=[], transferability="p2p", categories=[], valid_from_ms=0, valid_until_ms=0,
        holder_cap=0, budget=0, description_hash=None)
    assert parse_genesis(json.dumps(short)).hash() == parse_genesis(json.dumps(spelled_out)).hash()
    no_credits = {k: v for k, v in document().items() if k != "credits"}
    assert parse_genesis(json.dumps(no_credits)).hash() == parse_genesis(json.dumps(
        document(credits={"issuers": [], "classes": [], "balances": []}))).hash()


def test_a_document_without_timeouts_keeps_its_hash_and_its_six_parameters():
    """The round timeouts became parameters after chains were made: at their defaults they are not in the
    canonical form (FORMAT.md §14.3) nor in `sys/params` (§9), so an existing document keeps its hash and
    its genesis state root; one non-default timeout writes all five."""
    old = parse_genesis(json.dumps(document()))
    params = old.canonical_tuple()[3]
    assert params == (5000, 8 * 1024 * 1024, 16 * 1024, 256, 100, 1000)
    assert DictState(old.initial_state()).get(chain.KEY_PARAMS) == encode(params)
    fast = parse_genesis(json.dumps(document(params={"timeout_precommit_ms": 300})))
    assert fast.canonical_tuple()[3] == (5000, 8 * 1024 * 1024, 16 * 1024, 256, 100, 1000, 1000, 500, 300, 500, 10_000)
    stored = chain.get_params(DictState(fast.initial_state()))
    assert stored.timeout_ms(2, 0) == 300 and stored.timeout_ms(2, 3) == 1800 and stored.timeout_ms(0, 30) == 10_000
    assert fast.hash() != old.hash()


@pytest.mark.parametrize(("params", "words"), [
    ({"timeout_propose_ms": 9}, "params.timeout_propose_ms"),
    ({"timeout_prevote_ms": 600_001}, "params.timeout_prevote_ms"),
    ({"timeout_delta_ms": 0}, "params.timeout_delta_ms"),  # timeouts that never grow could stall the chain for good
    ({"timeout_max_ms": 999}, "params.timeout_max_ms"),
    ({"timeout_max_ms": 2000, "timeout_propose_ms": 3000}, "timeout_propose_ms exceeds timeout_max_ms"),
    ({"timeout_precommit_ms": 500.0}, "params.timeout_precommit_ms"),
])
def test_timeouts_out_of_their_ranges_are_refused_by_name(params, words):
    assert words in refused(json.dumps(document(params=params)))


@pytest.mark.parametrize("missing", ["chain_id", "genesis_time_ms", "validators"])
def test_a_required_key_left_out_is_named(missing):
    doc = {k: v for k, v in document().items() if k != missing}
    assert refused(json.dumps(doc)) == f"invalid genesis ({missing}): required"


def test_a_document_without_a_module_list_is_refused_with_the_list_to_write():
    doc = {k: v for k, v in document().items() if k != "modules"}
    assert refused(json.dumps(doc)) == ('invalid genesis (modules): required: the chain\'s modules and versions, for '
                                        'this program [["credits", 1], ["identity", 1], ["evidence", 1], '
                                        '["market", 1], ["gas", 1], ["agora", 1], ["federation", 1]]')


# --- addresses follow §5; names count bytes ---------------------------------------------------------


def test_a_padded_address_is_the_address_it_pads():
    """§5 strips surrounding white space: the document means the same keys, and has the same hash."""
    padded = at(at(at(document(), "validators.0.pubkey", f"  {V}\n"), "credits.issuers.0.account", f"\t{ISSUER}"),
                "credits.classes.0.issuer", f"{ISSUER} ")
    padded = at(padded, "credits.balances.0.account", f"\r\n{ANNA}\t")
    genesis = parse_genesis(json.dumps(padded))
    assert genesis.hash() == parse_genesis(json.dumps(document())).hash()
    assert genesis.initial_state() == parse_genesis(json.dumps(document())).initial_state()
    assert json.loads(genesis.to_json())["credits"]["balances"][0]["account"] == ANNA, "written back canonical"


def test_a_padded_address_is_compared_as_its_key():
    twice = document(credits=credits_section(issuers=[{"name": "a", "account": ISSUER},
                                                      {"name": "b", "account": f" {ISSUER} "}]))
    assert "appears twice" in refused(json.dumps(twice))
    validator_twice = document(validators=[{"name": "a", "pubkey": V}, {"name": "b", "pubkey": f"{V}\n"}])
    assert "a validator key appears twice" in refused(json.dumps(validator_twice))
    observer_too = document(observers=[{"name": "o", "pubkey": f"\t{V}"}])
    assert "also a validator key" in refused(json.dumps(observer_too))


@pytest.mark.parametrize("space", ["\u00a0", "\u2003", "\u200b"])
def test_only_the_white_space_of_section_5_is_stripped(space):
    assert "validators.0.pubkey" in refused(json.dumps(at(document(), "validators.0.pubkey", space + V)))


@pytest.mark.parametrize("path", ["validators.0.name", "credits.classes.0.name", "credits.issuers.0.name",
                                  "identity.registrars.0.name", "identity.attesters.0.name", "observers.0.name"])
def test_every_name_is_1_to_64_bytes_of_utf8_not_characters(path):
    doc = document(observers=[{"name": "o", "pubkey": to_address(bytes(32))}],
                   identity={"registrars": [{"name": "r", "account": REGISTRAR}],
                             "attesters": [{"name": "a", "account": REGISTRAR, "attributes": ["member:*"]}]})
    parse_genesis(json.dumps(at(doc, path, "é" * 32)))  # 32 characters, 64 bytes
    for name in ("é" * 32 + "x", "x" * 65, ""):  # 33 characters and 65 bytes; 65; nothing
        message = refused(json.dumps(at(doc, path, name)))
        assert message.startswith("invalid genesis (credits.classes.0)" if "classes" in path else f"invalid genesis ({path})")
        assert "1 to 64 bytes" in message, message


def test_a_genesis_class_and_a_create_class_body_obey_the_one_rule():
    """Name, window and vouchers: the genesis document and the transaction agree (one function checks both)."""
    body = ["eur", "Euro credits", 2, "community", (), "p2p", (), 0, 0, 0, 0, None, 0, 0]
    for field, index, value, words in (("name", 1, "", "name must be a string of 1 to 64 bytes"),
                                       ("valid_until_ms", 8, 5, "valid_until_ms must be after valid_from_ms"),
                                       ("voucher_cap", 13, 100, "voucher_cap needs a face_value (it caps a payment "
                                                                "of several vouchers)")):
        doc = at(at(document(), "credits.classes.0.valid_from_ms", 5), f"credits.classes.0.{field}", value)
        assert refused(json.dumps(doc)) == f"invalid genesis (credits.classes.0): class 'eur': {words}"
        tx_body = list(body)
        tx_body[7], tx_body[index] = 5, value
        with pytest.raises(TxError) as caught:
            RULES.parse("credits.create_class", tuple(tx_body))
        assert (caught.value.code, caught.value.message) == (Code.MALFORMED, words)


# --- the module list and the sections ----------------------------------------------------------------


def test_the_canonical_form_names_each_module_with_its_section_in_module_order():
    genesis = parse_genesis(json.dumps(document(identity={"registrars": [{"name": "r", "account": REGISTRAR}]})))
    listed = genesis.canonical_tuple()[6]
    assert [(name, version) for name, version, _ in listed] == list(RULES.identity)
    assert listed[0][2] == genesis.section("credits").canonical()
    assert listed[1][2] == ((("r", SigningKey(bytes([4]) * 32).pubkey),), ())
    assert listed[2][2] is None, "evidence has no genesis section"
    assert listed[3][2] == ((),), "market: no arbiters"
    assert listed[4][2] is None, "gas has no genesis section"
    assert listed[5][2] == ((),), "agora: no admins"
    assert listed[6][2] is None, "federation has no genesis section"
    assert list(json.loads(genesis.to_json())) == ["chain_id", "genesis_time_ms", "modules", "params", "validators",
                                                   "observers", "credits", "identity", "market", "agora"]


def test_a_document_for_other_rules_is_refused_naming_both_lists():
    doc = document(modules=[["credits", 1], ["identity", 2], ["evidence", 1], ["market", 1], ["gas", 1],
                            ["agora", 1], ["federation", 1]])
    with pytest.raises(RulesMismatch) as caught:
        parse_genesis(json.dumps(doc))
    assert str(caught.value) == ("the genesis names the modules [credits 1, identity 2, evidence 1, market 1, gas 1, "
                                 "agora 1, federation 1], this program's rules are [credits 1, identity 1, evidence 1, "
                                 "market 1, gas 1, agora 1, federation 1]: it cannot follow this chain")


def test_the_module_list_is_in_the_hash():
    """Another program (evidence version 2) reads the same sections yet follows another chain."""
    bumped = ChainRules((CREDITS, IDENTITY, Module("evidence", 2, tx_types=EVIDENCE.tx_types,
                                                   prefixes=EVIDENCE.prefixes), *MODULES[3:]))
    ours = parse_genesis(json.dumps(document()))
    theirs = parse_genesis(json.dumps(document(modules=[["credits", 1], ["identity", 1], ["evidence", 2],
                                                        ["market", 1], ["gas", 1], ["agora", 1], ["federation", 1]])), bumped)
    assert theirs.initial_state() == ours.initial_state()
    assert theirs.hash() != ours.hash()
    with pytest.raises(RulesMismatch):
        parse_genesis(json.dumps(document()), bumped)


def test_rules_without_a_module_have_no_section_for_it():
    """A chain of credits and evidence only: identity's key is unknown there, and its canonical entry absent."""
    alone = ChainRules((CREDITS, EVIDENCE))
    doc = document(modules=modules_json(alone))
    genesis = parse_genesis(json.dumps(doc), alone)
    assert [entry[0] for entry in genesis.canonical_tuple()[6]] == ["credits", "evidence"]
    assert refused(json.dumps({**doc, "identity": {}}), alone).startswith("invalid genesis (identity): unknown key")


def test_a_module_named_like_a_core_key_cannot_compose_a_document():
    clash = ChainRules((*MODULES, Module("params", 1, genesis=CREDITS.genesis)))
    with pytest.raises(RulesError, match="'params'"):
        document_model(clash)


# --- the commands ----------------------------------------------------------------------------------


def test_genesis_new_and_validate_commands(tmp_path, capsys):
    out = tmp_path / "genesis.json"
    status = main([
        "genesis", "new", "--chain-id", "coop-fed", "--time-ms", "1",
        "--validator", f"coop1={V},http://127.0.0.1:8700", "--issuer", f"fed={ISSUER}",
        "--class", f"eur:Euro:{ISSUER}:2", "--balance", f"{ANNA}:eur:1000", "--registrar", f"reg={REGISTRAR}",
        "--arbiter", f"Camera arbitrale={REGISTRAR}", "--out", str(out), "--json",
    ])
    assert status == 0
    written = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text())["modules"] == modules_json(RULES), "the program's own list"
    assert main(["genesis", "validate", str(out), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["hash"] == written["hash"] and shown["modules"] == [["credits", 1], ["identity", 1], ["evidence", 1],
                                                                              ["market", 1], ["gas", 1], ["agora", 1], ["federation", 1]]
    assert shown["credits"] == {"issuers": 1, "classes": 1, "balances": 1}
    assert shown["identity"] == {"registrars": 1, "attesters": 0}
    assert shown["market"] == {"arbiters": 1}
    # refusing to overwrite, and a bad address, are one-line errors
    assert main(["genesis", "new", "--chain-id", "x", "--validator", f"a={V}", "--out", str(out)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["genesis", "new", "--chain-id", "x", "--validator", "a=icnope", "--out", str(tmp_path / "g2")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("incoop: invalid genesis") and len(err.strip().splitlines()) == 1
