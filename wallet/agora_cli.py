"""`incoop agora …`: the agora from the command line (FORMAT.md §6.7, docs/agora.md).

An agora admin creates spaces (`space create`); eligible identities propose,
comment and support; a moderator (or the proposal's author) opens a ballot
on a proposal with enough supports; each identity votes once whatever keys
it has (a later vote replaces the earlier one). A commit-then-reveal ballot
takes a commitment while open: `commit` draws the salt and keeps it, with
the option, in the wallet folder (agora-votes.json, readable by its owner
only), so that `reveal` after the closing needs nothing typed. The text of
a proposal or comment goes to the node with its transaction (POST
/v1/agora/texts) and stays off chain: the chain holds its SHA-256; `erase`
deletes it from every node.

Every signing command takes `--as KEY`, waits for the block and prints the
result (or fails in one line with the ledger's code); a new record's id is
drawn at random and printed (`--id` gives one, to retry safely).

Participatory budgets (FORMAT.md §6.7.1): an agora admin or a moderator
opens one (`budget open`, paying the amount into its fund), authors submit
their proposals as projects (`project`), each identity selects projects that
fit the budget (`select`; empty to withdraw). What the wallet can check
before signing (the windows, a project not in the budget, a selection over
the budget, an amount above it) fails in one line and spends no nonce.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from cli.common import CliError, default_wallet_dir, emit, format_amount, parse_amount
from governance import budget_records as brec
from governance import records as rec
from identity.records import is_attribute
from ledger.address import to_address
from ledger.crypto import SigningKey, sha256
from wallet.cli import (
    EXPIRY_WINDOW,
    _Classes,
    _client,
    _guard,
    _next_nonce,
    _refused,
    add_command,
    command_group,
)
from wallet.client import NodeClient, NodeError
from wallet.market_args import (
    new_id,
    parse_duration,
    parse_id,
    parse_when,
    show_duration,
    show_time,
    signer,
    submit,
    wallet_names,
    who,
)
from wallet.txbuild import build_and_sign, parse_address

VOTES_FILE = "agora-votes.json"
"""In the wallet folder: the option and salt of each commitment not revealed yet (docs/agora.md)."""
DEFAULT_OPTIONS = "yes,no,abstain"


def _text(text: str, option: str) -> str:
    data = text.encode("utf-8", "surrogatepass")
    if not text.strip() or len(data) > 16 * 1024:
        raise CliError(f"{option} must be 1 to 16384 bytes of text")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise CliError(f"{option} is not valid text") from None
    return text


def _identity_of(client: NodeClient, key: SigningKey) -> bytes:
    identity = client.account(to_address(key.pubkey)).get("identity")
    if not identity:
        raise CliError(f"key {to_address(key.pubkey)} is bound to no identity: only an identity takes part")
    return bytes.fromhex(identity)


def _permille(text: str, option: str) -> int:
    """A share as per mille: 500, or 50%."""
    value = text.strip()
    try:
        number = int(value[:-1]) * 10 if value.endswith("%") else int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= 1000:
        raise CliError(f"{option} must be 0 to 1000 (per mille) or 0% to 100%, not {text!r}")
    return number


# --- spaces -------------------------------------------------------------------------------------------


def cmd_space_create(args: argparse.Namespace) -> int:
    if not 1 <= len(args.name.encode()) <= rec.MAX_NAME:
        raise CliError(f"--name must be 1 to {rec.MAX_NAME} bytes")
    if args.eligibility and not is_attribute(args.eligibility):
        raise CliError("--eligibility must be one attribute such as resident:trento or member:coop-x "
                       "(leave it out for the whole federation)")
    client = _client(args)
    moderators = tuple(sorted({parse_address(_address(args, m), "--moderator") for m in args.moderator}))
    space_id = new_id(args.id, "space")
    body = (space_id, args.name, args.eligibility, moderators, args.supports,
            parse_duration(args.support_window, "--support-window"), _permille(args.quorum, "--quorum"),
            _permille(args.pass_share, "--pass"))
    who = args.eligibility or "the whole federation"
    submit(args, client, signer(args), "agora.space", body, {"space": space_id.hex()},
           f"space {space_id.hex()} created: {args.name} ({who})")
    return 0


def _address(args: argparse.Namespace, text: str) -> str:
    """A wallet key's name or an address, as an address."""
    by_name = {name: address for address, name in wallet_names(args).items()}
    return by_name.get(text, text)


def _space_line(space: dict) -> str:
    who = space["eligibility"] or "the whole federation"
    return (f"{space['id']}  {space['name']}  ({who}; {space['support_threshold']} supports within "
            f"{show_duration(space['support_window_ms'])}, quorum {space['quorum_permille']}‰, "
            f"pass {space['pass_permille']}‰)")


def cmd_space_list(args: argparse.Namespace) -> int:
    client = _client(args)
    spaces: list[dict] = []
    after = None
    while True:
        page = client.agora_spaces(limit=200, after=after)
        spaces += page["spaces"]
        after = page["next"]
        if after is None:
            break
    emit(args.json, {"spaces": spaces}, "\n".join(_space_line(s) for s in spaces) or "no spaces")
    return 0


def _post_line(post: dict, indent: str = "") -> str:
    text = post["text"] if post["text_state"] == "shown" else {
        "erased": "[erased by its author]", "missing": "[text not received by this node yet]",
        "hidden": f"[hidden by a moderator: {post['reason']}]"}[post["text_state"]]
    extra = f"  {post['supports']} supports" if post["kind"] == "proposal" else ""
    ballot = f"  ballot {post['ballot']}" if post.get("ballot") else ""
    return f"{indent}{post['id']}  {text}{extra}{ballot}"


def cmd_space_show(args: argparse.Namespace) -> int:
    client = _client(args)
    space_id = parse_id(args.space, "space")
    space = client.agora_space(space_id)
    proposals: list[dict] = []
    after = None
    while len(proposals) < args.limit:
        page = client.agora_proposals(space_id, limit=min(200, args.limit - len(proposals)), after=after)
        proposals += page["proposals"]
        after = page["next"]
        if after is None:
            break
    lines = [_space_line(space), f"  moderators: {', '.join(space['moderators']) or '-'}",
             f"  proposals ({len(proposals)}):"] + [_post_line(p, "    ") for p in proposals]
    emit(args.json, {"space": space, "proposals": proposals}, "\n".join(lines))
    return 0


# --- posts ---------------------------------------------------------------------------------------------


def _post(args: argparse.Namespace, type_: str, body_of, text: str, what: str) -> int:
    """Sign the post, submit it, give the node its text while it is pending, then wait for the block."""
    client = _client(args)
    key = signer(args)
    post_id = new_id(args.id, "post")
    status = client.status()
    nonce = _next_nonce(client, to_address(key.pubkey))
    tx = build_and_sign(key, status["chain_id"], type_, nonce, status["height"] + EXPIRY_WINDOW, body_of(post_id))
    try:
        client.submit_tx(tx.raw)
    except NodeError as exc:
        raise _refused(tx, exc) from None
    client.agora_text(post_id, text, tx.raw)
    out: dict[str, Any] = {"post": post_id.hex(), "text_hash": sha256(text.encode()).hex(), "hash": tx.hash.hex()}
    if args.no_wait:
        emit(args.json, {**out, "status": "pending"}, f"{what} {post_id.hex()} submitted (pending) {tx.hash.hex()}")
        return 0
    record = client.wait_for_tx(tx.hash.hex(), timeout=args.timeout)
    result = record.get("result") or record.get("error") or {}
    if record["status"] != "committed" or result.get("code") != "OK":
        raise CliError(f"transaction {tx.hash.hex()} {record['status']}: {result.get('code', '?')}: "
                       f"{result.get('message', '')}")
    emit(args.json, {**out, "status": "committed", "height": record["height"]},
         f"{what} {post_id.hex()} posted\n  committed {tx.hash.hex()} at height {record['height']}")
    return 0


def cmd_propose(args: argparse.Namespace) -> int:
    space_id = parse_id(args.space, "space")
    text = _text(args.text, "--text")
    return _post(args, "agora.propose", lambda post_id: (post_id, space_id, sha256(text.encode())), text, "proposal")


def cmd_comment(args: argparse.Namespace) -> int:
    parent = parse_id(args.post, "post")
    text = _text(args.text, "--text")
    return _post(args, "agora.comment", lambda post_id: (post_id, parent, sha256(text.encode())), text, "comment")


def cmd_show(args: argparse.Namespace) -> int:
    thread = _client(args).agora_post(parse_id(args.post, "post"))
    lines = [_post_line(thread["post"])] + [_post_line(c, "  " * c["depth"]) for c in thread["comments"]]
    if thread["truncated"]:
        lines.append("  … (more comments than one answer carries)")
    emit(args.json, thread, "\n".join(lines))
    return 0


def _simple(args: argparse.Namespace, type_: str, body: tuple, data: dict, text: str) -> int:
    submit(args, _client(args), signer(args), type_, body, data, text)
    return 0


def cmd_support(args: argparse.Namespace) -> int:
    post_id = parse_id(args.post, "post")
    return _simple(args, "agora.support", (post_id,), {"post": post_id.hex()}, f"proposal {post_id.hex()} supported")


def cmd_erase(args: argparse.Namespace) -> int:
    post_id = parse_id(args.post, "post")
    return _simple(args, "agora.erase", (post_id,), {"post": post_id.hex()},
                   f"post {post_id.hex()} erased: every node deletes its text")


def cmd_hide(args: argparse.Namespace) -> int:
    post_id = parse_id(args.post, "post")
    if not 1 <= len(args.reason.encode()) <= rec.MAX_REASON:
        raise CliError(f"--reason must be 1 to {rec.MAX_REASON} bytes")
    return _simple(args, "agora.hide", (post_id, args.reason), {"post": post_id.hex()},
                   f"post {post_id.hex()} hidden: {args.reason}")


# --- ballots ------------------------------------------------------------------------------------------


def cmd_ballot(args: argparse.Namespace) -> int:
    proposal = parse_id(args.proposal, "proposal")
    options = tuple(o.strip() for o in args.options.split(","))
    if not rec.MIN_OPTIONS <= len(options) <= rec.MAX_OPTIONS or len(set(options)) != len(options) or any(
            not 1 <= len(o.encode()) <= rec.MAX_OPTION for o in options):
        raise CliError(f"--options must be {rec.MIN_OPTIONS} to {rec.MAX_OPTIONS} distinct labels of 1 to "
                       f"{rec.MAX_OPTION} bytes, separated by commas")
    opens = parse_when(args.opens, "--opens") if args.opens else 0
    closes = parse_when(args.closes, "--closes")
    if closes <= opens:
        raise CliError("--closes must be after --opens")
    reveal = closes + parse_duration(args.reveal, "--reveal") if args.reveal else 0
    ballot_id = new_id(args.id, "ballot")
    mode = "commit-then-reveal" if reveal else "public"
    return _simple(args, "agora.ballot", (ballot_id, proposal, options, opens, closes, reveal),
                   {"ballot": ballot_id.hex()},
                   f"ballot {ballot_id.hex()} on {proposal.hex()} ({mode}: {', '.join(options)}), closing "
                   f"{show_time(closes)}")


def _option(ballot: dict, text: str) -> int:
    if text in ballot["options"]:
        return ballot["options"].index(text)
    if text.isdigit() and int(text) < len(ballot["options"]):
        return int(text)
    raise CliError(f"{text!r} is not an option of this ballot: {', '.join(ballot['options'])}")


def cmd_vote(args: argparse.Namespace) -> int:
    client = _client(args)
    ballot_id = parse_id(args.ballot, "ballot")
    ballot = client.agora_ballot(ballot_id)
    option = _option(ballot, args.option)
    if ballot["mode"] != "public":
        raise CliError("the ballot is commit-then-reveal: use `incoop agora commit`, then `reveal` after the closing")
    submit(args, client, signer(args), "agora.vote", (ballot_id, option), {"ballot": ballot_id.hex(), "option": option},
           f"voted {ballot['options'][option]} in ballot {ballot_id.hex()} (a later vote replaces it)")
    return 0


def _votes_path(args: argparse.Namespace) -> Path:
    return Path(args.wallet_dir or default_wallet_dir()) / VOTES_FILE


def _load_votes(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None


def _save_votes(path: Path, votes: dict) -> None:
    """Written to a private temporary file first, then renamed: a crash leaves the old file or the new."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(votes, out, indent=1, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def cmd_commit(args: argparse.Namespace) -> int:
    client = _client(args)
    ballot_id = parse_id(args.ballot, "ballot")
    ballot = client.agora_ballot(ballot_id)
    option = _option(ballot, args.option)
    if ballot["mode"] != "commit-reveal":
        raise CliError("the ballot is public: use `incoop agora vote`")
    key = signer(args)
    identity = _identity_of(client, key)
    salt = os.urandom(rec.SALT_LEN)
    path = _votes_path(args)
    votes = _load_votes(path)
    votes[f"{ballot_id.hex()}:{identity.hex()}"] = {"option": option, "salt": salt.hex()}
    _save_votes(path, votes)  # kept before the commitment is sent: a lost salt could never be revealed
    commitment = rec.vote_commitment(ballot_id, identity, option, salt)
    submit(args, client, key, "agora.commit", (ballot_id, commitment), {"ballot": ballot_id.hex(), "option": option},
           f"committed to {ballot['options'][option]} in ballot {ballot_id.hex()}; reveal after "
           f"{show_time(ballot['closes_ms'])} with `incoop agora reveal {ballot_id.hex()}` (salt kept in {path})")
    return 0


def cmd_reveal(args: argparse.Namespace) -> int:
    client = _client(args)
    ballot_id = parse_id(args.ballot, "ballot")
    ballot = client.agora_ballot(ballot_id)
    key = signer(args)
    identity = _identity_of(client, key)
    path = _votes_path(args)
    votes = _load_votes(path)
    kept = votes.get(f"{ballot_id.hex()}:{identity.hex()}")
    if kept is None:
        raise CliError(f"no commitment of this identity in ballot {ballot_id.hex()} is kept in {path}")
    option = int(kept["option"])
    submit(args, client, key, "agora.reveal", (ballot_id, option, bytes.fromhex(kept["salt"])),
           {"ballot": ballot_id.hex(), "option": option},
           f"revealed {ballot['options'][option]} in ballot {ballot_id.hex()}")
    votes.pop(f"{ballot_id.hex()}:{identity.hex()}", None)
    _save_votes(path, votes)
    return 0


def cmd_tally(args: argparse.Namespace) -> int:
    ballot = _client(args).agora_ballot(parse_id(args.ballot, "ballot"))
    lines = [f"ballot {ballot['id']} on proposal {ballot['proposal']}: {ballot['status']} ({ballot['mode']})",
             (f"  votes from {show_time(ballot['opens_ms'])} until {show_time(ballot['closes_ms'])}" if ballot["opens_ms"]
              else f"  votes until {show_time(ballot['closes_ms'])}")
             + (f", reveals until {show_time(ballot['reveal_until_ms'])}" if ballot["reveal_until_ms"] else ""),
             f"  electorate {ballot['eligible']}, quorum {ballot['quorum_permille']}‰, "
             f"pass {ballot['pass_permille']}‰"]
    if ballot["counts"] is None:
        lines.append("  counts: not shown before the tally (commit-then-reveal)")
    else:
        lines += [f"  {label}: {count}" for label, count in zip(ballot["options"], ballot["counts"], strict=True)]
        lines.append(f"  cast: {ballot['cast']}")
    if ballot["outcome"] is not None:
        lines.append(f"  decided: {ballot['outcome']['label']}")
    elif ballot["status"] == "failed":
        lines.append("  failed: no option passed (quorum not met, a tie, or below the share to pass)")
    emit(args.json, ballot, "\n".join(lines))
    return 0


# --- participatory budgets (FORMAT.md §6.7.1) ------------------------------------------------------------


def _decimals(client: NodeClient, class_id: str) -> int:
    return int(_Classes(client).require(class_id)["decimals"])


def cmd_budget_open(args: argparse.Namespace) -> int:
    client = _client(args)
    space_id = parse_id(args.space, "space")
    class_id = args.class_id
    decimals = _decimals(client, class_id)
    amount = parse_amount(args.amount, decimals)
    if amount <= 0:
        raise CliError("--amount must be more than 0")
    submit_until = parse_when(args.submit_until, "--submit-until")
    closes = parse_when(args.closes, "--closes")
    if closes <= submit_until:
        raise CliError("--closes must be after --submit-until")
    if submit_until <= int(client.status()["block_time_ms"]):
        raise CliError("--submit-until must be after the head block's time")
    client.agora_space(space_id)  # a NOT_FOUND here is one line, before signing
    budget_id = new_id(args.id, "budget")
    submit(args, client, signer(args), "agora.budget", (budget_id, space_id, class_id, amount, submit_until, closes),
           {"budget": budget_id.hex()},
           f"budget {budget_id.hex()} opened: {format_amount(amount, decimals)} {class_id} locked in its fund; "
           f"projects until {show_time(submit_until)}, selections until {show_time(closes)}")
    return 0


def _budget_line(budget: dict, decimals: int) -> str:
    return (f"{budget['id']}  {format_amount(budget['amount'], decimals)} {budget['class_id']}  {budget['phase']}  "
            f"{budget['project_count']} projects, {budget['selectors']} selecting")


def cmd_budget_list(args: argparse.Namespace) -> int:
    client = _client(args)
    space_id = parse_id(args.space, "space")
    budgets: list[dict] = []
    after = None
    while True:
        page = client.agora_budgets(space_id, status=args.status, limit=200, after=after)
        budgets += page["budgets"]
        after = page["next"]
        if after is None:
            break
    classes = _Classes(client)
    lines = [_budget_line(b, int((classes.get(b["class_id"]) or {"decimals": 0})["decimals"])) for b in budgets]
    emit(args.json, {"budgets": budgets}, "\n".join(lines) or "no budgets")
    return 0


def cmd_budget_show(args: argparse.Namespace) -> int:
    client = _client(args)
    budget = client.agora_budget(parse_id(args.budget, "budget"))
    decimals = int((_Classes(client).get(budget["class_id"]) or {"decimals": 0})["decimals"])

    def money(value: int) -> str:
        return f"{format_amount(value, decimals)} {budget['class_id']}"

    names = wallet_names(args)
    bar = budget["bar"]
    width = 30
    filled = width * bar["allocated"] // bar["amount"] if bar["amount"] else 0
    allocated = "projected with the selections so far" if budget["status"] == brec.OPEN else "paid out"
    lines = [f"budget {budget['id']} in space {budget['space']}: {budget['phase']}",
             f"  {money(budget['amount'])} from {who(budget['funder'], names)}; projects until "
             f"{show_time(budget['submit_until_ms'])}, selections until {show_time(budget['closes_ms'])}",
             f"  [{'#' * filled}{'.' * (width - filled)}] {money(bar['allocated'])} {allocated}, "
             f"{money(bar['left'])} left",
             f"  {budget['selectors']} identities selecting; projects ({budget['project_count']}):"]
    for p in budget["projects"]:
        status = p["status"] if p["projected"] is None else f"{p['status']}, would be {p['projected']}"
        text = p["text"] if p["text"] is not None else "[text not shown]"
        lines.append(f"    {p['post']}  {money(p['amount'])}  {p['selections']} selections  ({status})  to "
                     f"{names.get(p['owner'], p['owner'])}  {text}")
    emit(args.json, budget, "\n".join(lines))
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    client = _client(args)
    budget_id = parse_id(args.budget, "budget")
    post_id = parse_id(args.proposal, "proposal")
    budget = client.agora_budget(budget_id)
    decimals = _decimals(client, budget["class_id"])
    amount = parse_amount(args.amount, decimals)
    if amount <= 0:
        raise CliError("--amount must be more than 0")
    if budget["phase"] != "submitting":
        raise CliError(f"budget {budget_id.hex()} takes no projects now ({budget['phase']}): BUDGET_WINDOW")
    if amount > budget["amount"]:
        raise CliError(f"--amount {format_amount(amount, decimals)} is more than the budget's "
                       f"{format_amount(budget['amount'], decimals)}: OVER_BUDGET")
    if any(p["post"] == post_id.hex() for p in budget["projects"]):
        raise CliError(f"proposal {post_id.hex()} is already a project of budget {budget_id.hex()}: PROJECT_EXISTS")
    owner = parse_address(_address(args, args.owner), "--owner")
    submit(args, client, signer(args), "agora.project", (budget_id, post_id, owner, amount),
           {"budget": budget_id.hex(), "project": post_id.hex()},
           f"proposal {post_id.hex()} submitted to budget {budget_id.hex()} asking "
           f"{format_amount(amount, decimals)} {budget['class_id']} for {to_address(owner)}")
    return 0


def cmd_select(args: argparse.Namespace) -> int:
    client = _client(args)
    budget_id = parse_id(args.budget, "budget")
    chosen = sorted({parse_id(p, "project") for p in args.projects})
    budget = client.agora_budget(budget_id)
    if budget["phase"] != "selecting":
        raise CliError(f"budget {budget_id.hex()} takes no selections now ({budget['phase']}): BUDGET_WINDOW")
    amounts = {p["post"]: p["amount"] for p in budget["projects"]}
    unknown = [p.hex() for p in chosen if p.hex() not in amounts]
    if unknown:
        raise CliError(f"not a project of budget {budget_id.hex()}: {', '.join(unknown)}: UNKNOWN_PROJECT")
    if len(chosen) > brec.MAX_PROJECTS:
        raise CliError(f"at most {brec.MAX_PROJECTS} projects")
    decimals = _decimals(client, budget["class_id"])
    total = sum(amounts[p.hex()] for p in chosen)
    if total > budget["amount"]:
        raise CliError(f"the projects add up to {format_amount(total, decimals)}, more than the budget's "
                       f"{format_amount(budget['amount'], decimals)} {budget['class_id']}: OVER_BUDGET")
    done = (f"selected {len(chosen)} projects of budget {budget_id.hex()} ({format_amount(total, decimals)} "
            f"{budget['class_id']}; a later selection replaces it)" if chosen
            else f"selection in budget {budget_id.hex()} withdrawn")
    submit(args, client, signer(args), "agora.select", (budget_id, tuple(chosen)),
           {"budget": budget_id.hex(), "projects": [p.hex() for p in chosen], "total": total}, done)
    return 0


@_guard
def _run(args: argparse.Namespace) -> int:
    return args.agora_func(args)


def register(sub: argparse._SubParsersAction) -> None:
    """Add `agora` to the `incoop` parser."""
    asub, common = command_group(sub, "agora")

    def command(parent, name: str, help_text: str, func, signs: bool = True) -> argparse.ArgumentParser:
        p = add_command(parent, common, name, help_text, _run, signs)
        p.set_defaults(agora_func=func)
        return p

    space = asub.add_parser("space", help="create, list and show spaces")
    ssub = space.add_subparsers(dest="space_command", metavar="SPACE_COMMAND")
    ssub.required = True
    p = command(ssub, "create", "an agora admin creates a space: who takes part, who moderates", cmd_space_create)
    p.add_argument("--name", required=True, help=f"1 to {rec.MAX_NAME} bytes")
    p.add_argument("--eligibility", default="", metavar="ATTRIBUTE",
                   help="one attribute, e.g. resident:trento (default: the whole federation)")
    p.add_argument("--moderator", action="append", default=[], metavar="KEY|ADDRESS", help="repeatable")
    p.add_argument("--supports", type=int, default=0, help="supports a proposal needs for a ballot (default 0)")
    p.add_argument("--support-window", default="30d", metavar="DURATION", help="default 30d")
    p.add_argument("--quorum", default="0", metavar="PERMILLE|N%", help="share of the electorate counted (default 0)")
    p.add_argument("--pass", dest="pass_share", default="500", metavar="PERMILLE|N%",
                   help="share of the decisive votes an option must pass (default 500: more than half)")
    p.add_argument("--id", metavar="HEX", help="the space's id (default: drawn at random)")
    command(ssub, "list", "the agora's spaces", cmd_space_list, signs=False)
    p = command(ssub, "show", "a space and its proposals", cmd_space_show, signs=False)
    p.add_argument("space", metavar="SPACE")
    p.add_argument("--limit", type=int, default=200, help="how many proposals (default 200)")

    p = command(asub, "propose", "propose in a space (the text goes to the node, its hash on the chain)", cmd_propose)
    p.add_argument("space", metavar="SPACE")
    p.add_argument("--text", required=True, help="up to 16384 bytes")
    p.add_argument("--id", metavar="HEX", help="the post's id (default: drawn at random)")
    p = command(asub, "comment", "reply to a proposal or a comment", cmd_comment)
    p.add_argument("post", metavar="POST")
    p.add_argument("--text", required=True, help="up to 16384 bytes")
    p.add_argument("--id", metavar="HEX", help="the post's id (default: drawn at random)")
    p = command(asub, "show", "a post with its thread", cmd_show, signs=False)
    p.add_argument("post", metavar="POST")
    command(asub, "support", "support a proposal (once per identity)", cmd_support).add_argument("post", metavar="POST")
    command(asub, "erase", "erase your post: its text is deleted from every node", cmd_erase).add_argument(
        "post", metavar="POST")
    p = command(asub, "hide", "a moderator hides a post, with a reason everyone sees", cmd_hide)
    p.add_argument("post", metavar="POST")
    p.add_argument("--reason", required=True, help=f"1 to {rec.MAX_REASON} bytes")

    p = command(asub, "ballot", "open a ballot on a proposal with enough supports", cmd_ballot)
    p.add_argument("proposal", metavar="PROPOSAL")
    p.add_argument("--options", default=DEFAULT_OPTIONS, help=f"comma-separated (default {DEFAULT_OPTIONS})")
    p.add_argument("--opens", metavar="WHEN", help="block time it opens (default: now)")
    p.add_argument("--closes", required=True, metavar="WHEN", help="e.g. +7d, an ISO date-time, or ms")
    p.add_argument("--reveal", metavar="DURATION", help="commit-then-reveal: how long reveals are taken after "
                                                        "the closing (default: a public ballot)")
    p.add_argument("--id", metavar="HEX", help="the ballot's id (default: drawn at random)")
    p = command(asub, "vote", "vote in a public ballot (a later vote replaces it)", cmd_vote)
    p.add_argument("ballot", metavar="BALLOT")
    p.add_argument("option", metavar="OPTION", help="its label or its number (0 …)")
    p = command(asub, "commit", "commit to an option of a commit-then-reveal ballot (the salt stays in the wallet)",
                cmd_commit)
    p.add_argument("ballot", metavar="BALLOT")
    p.add_argument("option", metavar="OPTION", help="its label or its number (0 …)")
    command(asub, "reveal", "reveal your committed vote after the closing", cmd_reveal).add_argument(
        "ballot", metavar="BALLOT")
    command(asub, "tally", "a ballot's status, counts and outcome", cmd_tally, signs=False).add_argument(
        "ballot", metavar="BALLOT")

    budget = asub.add_parser("budget", help="participatory budgets: open, list and show")
    bsub = budget.add_subparsers(dest="budget_command", metavar="BUDGET_COMMAND")
    bsub.required = True
    p = command(bsub, "open", "an agora admin or a moderator opens a budget in a space, paying its amount into "
                              "the fund", cmd_budget_open)
    p.add_argument("space", metavar="SPACE")
    p.add_argument("--class", dest="class_id", required=True, help="the credit class (transferable)")
    p.add_argument("--amount", required=True, help="e.g. 500.00")
    p.add_argument("--submit-until", required=True, metavar="WHEN", help="projects are taken until then, e.g. +3d")
    p.add_argument("--closes", required=True, metavar="WHEN", help="selections are taken until then, e.g. +14d")
    p.add_argument("--id", metavar="HEX", help="the budget's id (default: drawn at random)")
    p = command(bsub, "list", "a space's budgets", cmd_budget_list, signs=False)
    p.add_argument("space", metavar="SPACE")
    p.add_argument("--status", choices=brec.BUDGET_STATUSES)
    command(bsub, "show", "a budget: its projects, selections and bar", cmd_budget_show, signs=False).add_argument(
        "budget", metavar="BUDGET")

    p = command(asub, "project", "submit your proposal as a project of a budget", cmd_project)
    p.add_argument("budget", metavar="BUDGET")
    p.add_argument("proposal", metavar="PROPOSAL")
    p.add_argument("--owner", required=True, metavar="KEY|ADDRESS", help="the account paid if it is funded")
    p.add_argument("--amount", required=True, help="what it asks, e.g. 300.00")
    p = command(asub, "select", "select projects of a budget (none: withdraw; a later selection replaces it)",
                cmd_select)
    p.add_argument("budget", metavar="BUDGET")
    p.add_argument("projects", metavar="PROJECT", nargs="*")
