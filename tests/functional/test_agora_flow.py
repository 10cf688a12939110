"""The agora through `incoop agora …` on a three-validator federation (FORMAT.md §6.7, docs/agora.md).

Scenario (three validators and an observer started late; the genesis makes the federation's key the agora
admin; the demo wallet also holds MODERATOR and the three keys of MULTI):
1. The federation registers anna, marco and MULTI (one identity, three keys
   in the wallet); the comune attests anna and MULTI as residents of trento.
2. `incoop agora space create` (the admin) opens the Consulta di Trento
   (resident:trento, one support needed, quorum 50 %); marco, not a resident,
   cannot propose (NOT_SPACE_ELIGIBLE, one line); a stranger key cannot
   create a space (AGORA_NOT_ADMIN).
3. anna proposes through node 0 (the text goes with the transaction);
   MULTI's first key comments through node 0; then the observer starts,
   syncing the blocks from its peers: every node ends up holding both
   texts, all but node 0 fetching them from their peers (GET_TEXTS).
4. MULTI supports with its second key, and cannot support again with its
   third (ALREADY_SUPPORTED): one identity, one support.
5. The moderator opens a public ballot: MULTI votes no with key one, then
   yes with keys two and three; anna votes yes. The ballot counts 2 votes
   (yes 2), the vote route shows MULTI's last vote (yes, key three).
6. Erasure: MULTI erases the comment with its third key (any key of the
   author). On every node, afterwards: the comment's text is in no file of
   the node's home directory (LevelDB tables and logs included), in no raw
   block, in no API answer; the thread still lists the comment (erased,
   text null), the proposal's supports and the ballot's counts are
   unchanged; giving the text again is refused (410 POST_ERASED).
7. The moderator hides the proposal with a reason: the API withholds its
   text and shows the reason.
8. A commit-then-reveal ballot on a second proposal: anna and MULTI commit
   (the salt stays in the wallet folder); `tally` shows no counts before the
   closing; after it, both reveal with nothing typed but the ballot; at the
   end of the reveal window the ledger tallies: decided, counts shown.
9. Bad input: an unknown option, a malformed id, a text over 16 KiB: one
   line, non-zero exit, no transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keys.keystore import Keystore
from ledger.address import to_address
from node.devnet_layout import DEVNET_PASSWORD
from tests.functional.agora_setup import (
    ANNA_ID,
    MARCO_ID,
    MODERATOR,
    MULTI_ID,
    TRIO,
    post_text,
    register_body,
    with_agora,
)
from tests.functional.framework import Devnet, assert_api_error, incoop, make_devnet, wait_until
from tests.functional.market_setup import Signer
from tests.weak_kdf import TEST_KDF

PROPOSAL = "Più rastrelliere per le biciclette in piazza Dante"
COMMENT = "Io ci metterei anche una pompa per le gomme: segreto-7f3a9c-di-prova"
SECOND = "Apriamo la biblioteca anche la domenica"
TRIO_NAMES = ("tre-uno", "tre-due", "tre-tre")


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devnet]:
    devnet = make_devnet(tmp_path_factory.mktemp("agora-flow") / "devnet", validators=3, observers=1,
                         genesis_edit=with_agora)
    wallet = Keystore(devnet.layout.wallet_dir)
    for name, key in (*zip(TRIO_NAMES, TRIO, strict=True), ("moderatore", MODERATOR)):
        wallet.create(name, DEVNET_PASSWORD, key=key, kdf=TEST_KDF)
    try:
        devnet.start_all(devnet.validators)
        signer = Signer(devnet)
        signer.send_all([
            ("federation", "identity.register", register_body(ANNA_ID, (devnet.keys["anna"].pubkey,))),
            ("federation", "identity.register", register_body(MARCO_ID, (devnet.keys["marco"].pubkey,))),
            ("federation", "identity.register", register_body(MULTI_ID, tuple(k.pubkey for k in TRIO))),
        ])
        signer.send_all([("comune", "attest.issue", (i, "resident:trento", 0)) for i in (ANNA_ID, MULTI_ID)])
        yield devnet
    finally:
        devnet.cleanup()
        devnet.print_logs()


def agora(devnet: Devnet, *argv: str, node: int = 0) -> dict:
    return json.loads(incoop(devnet, "agora", *argv, "--json", node=node).stdout)


def refused(devnet: Devnet, *argv: str) -> str:
    return incoop(devnet, "agora", *argv, check=False).stderr


def files_holding(home: Path, needle: bytes) -> list[str]:
    """Every file under `home` whose bytes hold `needle` (LevelDB tables, logs, the node's own logs, …)."""
    return [str(p) for p in home.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_the_agora_through_the_cli(devnet: Devnet) -> None:
    # 2. a space, and who may not act
    space = agora(devnet, "space", "create", "--as", "federation", "--name", "Consulta di Trento",
                  "--eligibility", "resident:trento", "--moderator", "moderatore", "--supports", "1",
                  "--quorum", "50%")["space"]
    assert [s["name"] for s in agora(devnet, "space", "list")["spaces"]] == ["Consulta di Trento"]
    assert "NOT_SPACE_ELIGIBLE" in refused(devnet, "propose", space, "--as", "marco", "--text", "x")
    assert "AGORA_NOT_ADMIN" in refused(devnet, "space", "create", "--as", "anna", "--name", "mine")

    # 3. a proposal and a comment through node 0; every node gets both texts
    proposal = agora(devnet, "propose", space, "--as", "anna", "--text", PROPOSAL)["post"]
    comment = agora(devnet, "comment", proposal, "--as", TRIO_NAMES[0], "--text", COMMENT)["post"]
    devnet.observers[0].start()  # a node that joins later syncs the blocks, then asks its peers for the texts
    devnet.wait_height(devnet.api.status()["height"], nodes=devnet.nodes, timeout=30)
    for node in devnet.nodes:
        wait_until(lambda node=node: node.api.get(f"/v1/agora/posts/{proposal}")["comments"][0]["text"] == COMMENT
                   and node.api.get(f"/v1/agora/posts/{proposal}")["post"]["text"] == PROPOSAL,
                   timeout=15, what="the texts on every node")
    shown = agora(devnet, "show", proposal, node=2)
    assert shown["comments"][0]["author"] == MULTI_ID.hex() and shown["comments"][0]["depth"] == 1

    # 4. one identity, one support
    agora(devnet, "support", proposal, "--as", TRIO_NAMES[1])
    assert "ALREADY_SUPPORTED" in refused(devnet, "support", proposal, "--as", TRIO_NAMES[2])

    # 5. one identity with three keys votes once; the last vote counts
    ballot = agora(devnet, "ballot", proposal, "--as", "moderatore", "--closes", "+1h")["ballot"]
    agora(devnet, "vote", ballot, "no", "--as", TRIO_NAMES[0])
    agora(devnet, "vote", ballot, "yes", "--as", TRIO_NAMES[1])
    agora(devnet, "vote", ballot, "0", "--as", TRIO_NAMES[2])
    agora(devnet, "vote", ballot, "yes", "--as", "anna")
    counted = agora(devnet, "tally", ballot)
    assert counted["counts"] == [2, 0, 0] and counted["cast"] == 2 and counted["status"] == "open"
    vote = devnet.api.get(f"/v1/agora/ballots/{ballot}/votes/{MULTI_ID.hex()}")
    assert (vote["label"], vote["signer"]) == ("yes", to_address(TRIO[2].pubkey))

    # 6. erasure: the comment's text leaves every node
    before = devnet.api.get(f"/v1/agora/posts/{proposal}")
    needle = COMMENT.encode("utf-8")
    for node in devnet.nodes:  # the search below finds the text where it is: in every node's store, once the
        # node's catch-up has moved it there (a text that came before its block is held in memory until then)
        wait_until(lambda node=node: any("/data/" in path for path in files_holding(node.home, needle)), timeout=15,
                   what=f"the comment's text in {node.home}'s store")
    agora(devnet, "erase", comment, "--as", TRIO_NAMES[2])
    for node in devnet.nodes:
        wait_until(lambda node=node: node.api.get(f"/v1/agora/posts/{comment}")["post"]["status"] == "erased",
                   timeout=15, what="the erasure on every node")
    time.sleep(0.5)  # each node applies the erasure within a tick of its commit (node/agora_texts.py)
    height = devnet.api.status()["height"]
    for node in devnet.nodes:
        assert files_holding(node.home, needle) == [], f"the erased text is still on {node.home}"
        for h in range(1, height + 1):
            assert needle not in node.api.get_raw(f"/v1/blocks/{h}/raw")
        after = node.api.get(f"/v1/agora/posts/{proposal}")
        assert needle.decode() not in json.dumps(after, ensure_ascii=False)
        erased = after["comments"][0]
        assert (erased["id"], erased["status"], erased["text"], erased["text_state"]) == (comment, "erased", None,
                                                                                          "erased")
        assert after["post"]["supports"] == before["post"]["supports"] == 1
        assert node.api.get(f"/v1/agora/ballots/{ballot}")["counts"] == [2, 0, 0]
    again = incoop(devnet, "agora", "comment", proposal, "--as", "anna", "--text", "ok", check=True)
    assert again.returncode == 0  # the thread takes replies still
    assert_api_error(410, "POST_ERASED", lambda: post_text(devnet, bytes.fromhex(comment), COMMENT))

    # 7. hidden by a moderator: the reason, not the text
    agora(devnet, "hide", proposal, "--as", "moderatore", "--reason", "duplicate of an older proposal")
    hidden = devnet.api.get(f"/v1/agora/posts/{proposal}")["post"]
    assert (hidden["status"], hidden["text"], hidden["text_state"], hidden["reason"]) == (
        "hidden", None, "hidden", "duplicate of an older proposal")

    # 8. commit-then-reveal
    second = agora(devnet, "propose", space, "--as", "anna", "--text", SECOND)["post"]
    agora(devnet, "support", second, "--as", "anna")
    secret = agora(devnet, "ballot", second, "--as", "moderatore", "--closes", "+4s", "--reveal", "4s")["ballot"]
    agora(devnet, "commit", secret, "yes", "--as", "anna")
    agora(devnet, "commit", secret, "no", "--as", TRIO_NAMES[0])
    agora(devnet, "commit", secret, "yes", "--as", TRIO_NAMES[1])  # a new commitment replaces the first
    hidden_counts = agora(devnet, "tally", secret)
    assert hidden_counts["counts"] is None and hidden_counts["cast"] is None
    closes = hidden_counts["closes_ms"]
    wait_until(lambda: devnet.api.status()["block_time_ms"] >= closes, timeout=15, what="the closing")
    agora(devnet, "reveal", secret, "--as", "anna")
    agora(devnet, "reveal", secret, "--as", TRIO_NAMES[2])  # another key of the identity that committed
    assert agora(devnet, "tally", secret)["counts"] is None  # revealing: still no partial tally
    decided = wait_until(lambda: (b := agora(devnet, "tally", secret))["status"] in ("decided", "failed") and b,
                         timeout=20, what="the tally")
    assert (decided["status"], decided["counts"], decided["outcome"]["label"]) == ("decided", [2, 0, 0], "yes")
    assert "decided: yes" in incoop(devnet, "agora", "tally", secret).stdout

    # 9. bad input: one line, no transaction
    nonce = devnet.api.account(devnet.keys["anna"].pubkey)["pending_nonce"]
    assert "not an option" in refused(devnet, "vote", ballot, "maybe", "--as", "anna")
    assert "is not a post id" in refused(devnet, "support", "xyz", "--as", "anna")
    assert "16384" in refused(devnet, "propose", space, "--as", "anna", "--text", "x" * 17_000)
    assert devnet.api.account(devnet.keys["anna"].pubkey)["pending_nonce"] == nonce
