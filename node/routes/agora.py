"""The agora (FORMAT.md §6.7): spaces, proposals with their supports and status, a post with its thread,
ballots with their counts once they may be shown, an identity's vote; and the texts of posts, which the
node keeps off chain (node/agora_texts.py, docs/agora.md).

Read from the state's `agora/` records (governance/records.py) and from the
node-local indexes node/agora_texts.py derives from the blocks (the
proposals of a space, the replies to a post). A post's text is shown only
while the post is visible: an erased post's text is kept by no node, a
hidden one's is withheld and the moderator's reason shown. A commit-then-
reveal ballot shows no counts before it is decided or failed, so that no
partial tally is read from the API either.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from governance import records as rec
from ledger.address import to_address
from node.agora_texts import K_PROPOSALS, K_REPLIES, MAX_TEXT_BYTES, AgoraTexts, TextRefused
from node.routes.context import NODE, NodeContext
from node.routes.pages import DEFAULT_LIMIT, NEXT, Limit, scan_page
from node.routes.render import Strict, hex_or_none
from node.routes.table import JSON, ApiError, Payload, Refuse, RouteTable, json_reply
from node.routes.types import (
    HEX_PATTERN,
    AddressText,
    Count,
    HashText,
    Height,
    IdentityIdParam,
    IdentityIdText,
    hex_param,
    hex_pattern,
)

routes = RouteTable("agora", "The agora: spaces, proposals and comments (their texts kept off chain), ballots")

MAX_THREAD = 500
"""Comments one answer carries with a post (depth first); `truncated` says when there were more."""

SpaceIdParam = hex_param(rec.ID_LEN, "a space id (16 bytes)")
PostIdParam = hex_param(rec.ID_LEN, "a post id (16 bytes)")
BallotIdParam = hex_param(rec.ID_LEN, "a ballot id (16 bytes)")
IdText = Annotated[str, Field(pattern=hex_pattern(rec.ID_LEN))]
NO_SPACE = Refuse(404, ["NOT_FOUND"], "no such space")
NO_POST = Refuse(404, ["NOT_FOUND"], "no such post")
NO_BALLOT = Refuse(404, ["NOT_FOUND"], "no such ballot")
TEXT_STATES = ("shown", "erased", "hidden", "missing")


# --- what the routes answer ------------------------------------------------------------------------


class SpaceJson(Strict):
    """A space (FORMAT.md §6.7): who takes part, who moderates, what proposals and ballots must reach."""

    id: IdText
    name: str
    eligibility: Annotated[str, Field(description='"": every active identity of the federation; else one attribute')]
    creator: AddressText
    moderators: list[AddressText]
    support_threshold: Count
    support_window_ms: Count
    quorum_permille: Annotated[int, Field(ge=0, le=1000)]
    pass_permille: Annotated[int, Field(ge=0, le=1000)]
    created_height: Height


class Spaces(Strict):
    spaces: list[SpaceJson]
    next: Annotated[IdText | None, Field(description=NEXT)]


class PostJson(Strict):
    """A proposal or a comment, with its text when it is visible and this node holds it."""

    id: IdText
    space: IdText
    kind: Literal[rec.PROPOSAL, rec.COMMENT]  # type: ignore[valid-type]
    parent: Annotated[IdText | None, Field(description="a comment's: the post it replies to")]
    author: Annotated[IdentityIdText, Field(description="the author's identity")]
    signer: Annotated[AddressText, Field(description="the key that posted it")]
    text_hash: Annotated[HashText, Field(description="SHA-256 of the text's UTF-8 bytes (on the chain)")]
    status: Literal[rec.POST_STATUSES]  # type: ignore[valid-type]
    text: Annotated[str | None, Field(description="null unless text_state is shown")]
    text_state: Annotated[Literal[TEXT_STATES], Field(  # type: ignore[valid-type]
        description="shown; erased (by its author: kept by no node); hidden (by a moderator: see reason); "
                    "missing (this node has not received it yet)")]
    reason: Annotated[str | None, Field(description="the moderator's reason, if hidden")]
    supports: Count
    support_until_ms: Annotated[Count | None, Field(description="a proposal takes supports until this block time")]
    ballot: Annotated[IdText | None, Field(description="a proposal's ballot, once opened")]
    created_height: Height


class ThreadPost(PostJson):
    depth: Annotated[int, Field(ge=1, description="1: a reply to the post asked for; 2: a reply to one; …")]


class Proposals(Strict):
    proposals: list[PostJson]
    next: Annotated[IdText | None, Field(description=NEXT)]


class Thread(Strict):
    post: PostJson
    comments: Annotated[list[ThreadPost], Field(description=f"depth first, replies in id order; at most {MAX_THREAD}")]
    truncated: Annotated[bool, Field(description="the thread has more comments than this answer carries")]


class Outcome(Strict):
    option: Annotated[int, Field(ge=0)]
    label: str


class BallotJson(Strict):
    """A ballot (FORMAT.md §6.7); a commit-then-reveal one shows counts only once decided or failed."""

    id: IdText
    space: IdText
    proposal: IdText
    opener: AddressText
    options: list[str]
    mode: Literal["public", "commit-reveal"]
    opens_ms: Count
    closes_ms: Count
    reveal_until_ms: Annotated[Count | None, Field(description="commit-reveal: reveals are taken until then")]
    quorum_permille: Annotated[int, Field(ge=0, le=1000)]
    pass_permille: Annotated[int, Field(ge=0, le=1000)]
    eligible: Annotated[Count, Field(description="the electorate, counted at opening (0 while scheduled)")]
    status: Literal[rec.BALLOT_STATUSES]  # type: ignore[valid-type]
    counts: Annotated[list[Count] | None, Field(description="per option; null for a commit-reveal ballot not "
                                                            "decided or failed yet")]
    cast: Annotated[Count | None, Field(description="the identities counted; null when counts is")]
    outcome: Annotated[Outcome | None, Field(description="the option decided, once decided")]
    created_height: Height


class VoteJson(Strict):
    ballot: IdText
    identity: IdentityIdText
    option: Annotated[int | None, Field(ge=0, description="null: committed, not revealed")]
    label: str | None
    committed: Annotated[bool, Field(description="a commit-reveal vote (its commitment is on the chain)")]
    signer: AddressText
    height: Height


class TextAccepted(Strict):
    post: IdText
    status: Annotated[Literal["stored", "pending"], Field(
        description="stored: the post is on the chain; pending: kept in memory until its transaction commits")]


# --- what the routes take ---------------------------------------------------------------------------


class SpacePath(BaseModel):
    id: SpaceIdParam  # type: ignore[valid-type]


class PostPath(BaseModel):
    id: PostIdParam  # type: ignore[valid-type]


class BallotPath(BaseModel):
    id: BallotIdParam  # type: ignore[valid-type]


class VotePath(BaseModel):
    id: BallotIdParam  # type: ignore[valid-type]
    identity: IdentityIdParam


class SpacesQuery(BaseModel):
    limit: Limit = DEFAULT_LIMIT  # type: ignore[valid-type]
    after: Annotated[SpaceIdParam | None, Field(description="the `next` of the previous page")] = None  # type: ignore[valid-type]


class ProposalsQuery(BaseModel):
    status: Annotated[Literal[rec.POST_STATUSES] | None, Field(  # type: ignore[valid-type]
        description="only proposals of this status")] = None
    limit: Limit = DEFAULT_LIMIT  # type: ignore[valid-type]
    after: Annotated[PostIdParam | None, Field(description="the `next` of the previous page")] = None  # type: ignore[valid-type]


class TextBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    post: Annotated[str, Field(pattern=hex_pattern(rec.ID_LEN), description="the post's id")]
    text: Annotated[str, Field(max_length=MAX_TEXT_BYTES, description=(
        f"the text; its SHA-256 (of the UTF-8 bytes, at most {MAX_TEXT_BYTES}) must be the post's text_hash"))]
    tx: Annotated[str | None, Field(pattern=HEX_PATTERN, max_length=2 * 65536, description=(
        "the post's signed transaction (lower-case hex), while it is pending: needed until it commits"))] = None


# --- rendering --------------------------------------------------------------------------------------


def render_space(space_id: bytes, space: rec.Space) -> dict:
    return {
        "id": space_id.hex(), "name": space.name, "eligibility": space.eligibility,
        "creator": to_address(space.creator), "moderators": [to_address(m) for m in space.moderators],
        "support_threshold": space.support_threshold, "support_window_ms": space.support_window_ms,
        "quorum_permille": space.quorum_permille, "pass_permille": space.pass_permille,
        "created_height": space.created_height,
    }


def render_post(texts: AgoraTexts, post_id: bytes, post: rec.Post) -> dict:
    text = texts.get(post_id) if post.status == rec.VISIBLE else None
    state = {rec.ERASED: "erased", rec.HIDDEN: "hidden"}.get(post.status) or ("shown" if text is not None else "missing")
    return {
        "id": post_id.hex(), "space": post.space_id.hex(), "kind": post.kind, "parent": hex_or_none(post.parent),
        "author": post.author.hex(), "signer": to_address(post.signer), "text_hash": post.text_hash.hex(),
        "status": post.status, "text": text, "text_state": state, "reason": post.reason or None,
        "supports": post.supports, "support_until_ms": post.support_until_ms if post.kind == rec.PROPOSAL else None,
        "ballot": hex_or_none(post.ballot_id), "created_height": post.created_height,
    }


def render_ballot(ballot_id: bytes, ballot: rec.Ballot) -> dict:
    shown = not ballot.secret or ballot.status in rec.FINAL
    outcome = None if ballot.outcome is None else {"option": ballot.outcome, "label": ballot.options[ballot.outcome]}
    return {
        "id": ballot_id.hex(), "space": ballot.space_id.hex(), "proposal": ballot.proposal_id.hex(),
        "opener": to_address(ballot.opener), "options": list(ballot.options),
        "mode": "commit-reveal" if ballot.secret else "public", "opens_ms": ballot.opens_ms,
        "closes_ms": ballot.closes_ms, "reveal_until_ms": ballot.reveal_until_ms or None,
        "quorum_permille": ballot.quorum_permille, "pass_permille": ballot.pass_permille,
        "eligible": ballot.eligible, "status": ballot.status,
        "counts": list(ballot.counts) if shown else None, "cast": ballot.cast if shown else None,
        "outcome": outcome, "created_height": ballot.created_height,
    }


def _texts(ctx: NodeContext) -> AgoraTexts:
    """The node's texts, caught up with the head, so that what was just committed is indexed."""
    if ctx.texts is None:
        raise ApiError(503, "UNAVAILABLE", "this node keeps no agora texts")
    ctx.texts.catch_up()
    return ctx.texts


def _post(ctx: NodeContext, post_id: bytes) -> rec.Post:
    post = rec.get_post(ctx.store.state, post_id)
    if post is None:
        raise ApiError(404, "NOT_FOUND", f"no post {post_id.hex()}")
    return post


# --- the routes ---------------------------------------------------------------------------------------


@routes.get("/v1/agora/spaces", summary="The agora's spaces, in id order", query=SpacesQuery,
            replies=[json_reply(Spaces, "one page")])
async def get_agora_spaces(request: web.Request, query: SpacesQuery) -> web.Response:
    ctx = request.app[NODE]
    after = rec.space_key(query.after) + b"\x00" if query.after else rec.PREFIX_SPACE

    def scan(state):
        for key, raw in state.range(after, rec.PREFIX_SPACE + b"\xff"):
            yield key[len(rec.PREFIX_SPACE):], rec.decode_space(raw)

    page, following = scan_page(ctx.store.state, scan, query.limit, lambda key: key[len(rec.PREFIX_SPACE):])
    return web.json_response({"spaces": [render_space(i, s) for i, s in page], "next": hex_or_none(following)})


@routes.get("/v1/agora/spaces/{id}", summary="One space", path_params=SpacePath,
            replies=[json_reply(SpaceJson, "the space")], refusals=[NO_SPACE])
async def get_agora_space(request: web.Request, path: SpacePath) -> web.Response:
    space = rec.get_space(request.app[NODE].store.state, path.id)
    if space is None:
        raise ApiError(404, "NOT_FOUND", f"no space {path.id.hex()}")
    return web.json_response(render_space(path.id, space))


@routes.get("/v1/agora/spaces/{id}/proposals", summary="A space's proposals with their supports and status, "
                                                        "in id order",
            description="A page reads at most a bounded number of records (docs/api-contract.md, Pages): follow "
                        "`next` until it is null.",
            path_params=SpacePath, query=ProposalsQuery, replies=[json_reply(Proposals, "one page")],
            refusals=[NO_SPACE])
async def get_agora_proposals(request: web.Request, path: SpacePath, query: ProposalsQuery) -> web.Response:
    ctx = request.app[NODE]
    if rec.get_space(ctx.store.state, path.id) is None:
        raise ApiError(404, "NOT_FOUND", f"no space {path.id.hex()}")
    texts = _texts(ctx)
    prefix = K_PROPOSALS[1:] + path.id  # the reader adds the node-local prefix
    start = prefix + query.after + b"\x00" if query.after else prefix

    def scan(reader):
        for key, _ in reader.range(start, prefix + b"\xff"):
            post_id = key[len(K_PROPOSALS) + rec.ID_LEN:]
            post = rec.get_post(ctx.store.state, post_id)
            if post is not None and (query.status is None or post.status == query.status):
                yield post_id, post

    page, following = scan_page(texts, scan, query.limit, lambda key: key[len(K_PROPOSALS) + rec.ID_LEN:])
    return web.json_response({"proposals": [render_post(texts, i, p) for i, p in page],
                              "next": hex_or_none(following)})


@routes.get("/v1/agora/posts/{id}", summary="A post with its thread of comments (texts when shown, erased and "
                                            "hidden marks)",
            path_params=PostPath, replies=[json_reply(Thread, "the post and its comments")], refusals=[NO_POST])
async def get_agora_post(request: web.Request, path: PostPath) -> web.Response:
    ctx = request.app[NODE]
    post = _post(ctx, path.id)
    texts = _texts(ctx)
    comments: list[dict] = []
    stack = [(reply, 1) for reply in reversed(texts.ids(K_REPLIES + path.id))]
    truncated = False
    while stack:
        if len(comments) == MAX_THREAD:
            truncated = True
            break
        post_id, depth = stack.pop()
        reply = rec.get_post(ctx.store.state, post_id)
        if reply is None:
            continue
        comments.append({**render_post(texts, post_id, reply), "depth": depth})
        stack.extend((child, depth + 1) for child in reversed(texts.ids(K_REPLIES + post_id, limit=MAX_THREAD)))
    return web.json_response({"post": render_post(texts, path.id, post), "comments": comments,
                              "truncated": truncated})


@routes.get("/v1/agora/ballots/{id}", summary="A ballot: options, window, quorum; counts and outcome once they "
                                              "may be shown",
            path_params=BallotPath, replies=[json_reply(BallotJson, "the ballot")], refusals=[NO_BALLOT])
async def get_agora_ballot(request: web.Request, path: BallotPath) -> web.Response:
    ballot = rec.get_ballot(request.app[NODE].store.state, path.id)
    if ballot is None:
        raise ApiError(404, "NOT_FOUND", f"no ballot {path.id.hex()}")
    return web.json_response(render_ballot(path.id, ballot))


@routes.get("/v1/agora/ballots/{id}/votes/{identity}", summary="An identity's vote in a ballot (whatever key cast it)",
            path_params=VotePath, replies=[json_reply(VoteJson, "the vote")],
            refusals=[Refuse(404, ["NOT_FOUND"], "no such ballot, or the identity has not voted in it")])
async def get_agora_vote(request: web.Request, path: VotePath) -> web.Response:
    state = request.app[NODE].store.state
    ballot = rec.get_ballot(state, path.id)
    if ballot is None:
        raise ApiError(404, "NOT_FOUND", f"no ballot {path.id.hex()}")
    vote = rec.get_vote(state, path.id, path.identity)
    if vote is None:
        raise ApiError(404, "NOT_FOUND", f"identity {path.identity.hex()} has not voted in ballot {path.id.hex()}")
    return web.json_response({
        "ballot": path.id.hex(), "identity": path.identity.hex(), "option": vote.option,
        "label": None if vote.option is None else ballot.options[vote.option],
        "committed": vote.commitment is not None, "signer": to_address(vote.signer), "height": vote.height,
    })


@routes.post("/v1/agora/texts", summary="Give the node a post's text (kept off chain; its SHA-256 is on it)",
             description="Taken if the text's SHA-256 is the text_hash of a post on the chain that is not erased, "
                         "or, with `tx`, of a post transaction pending in this node's mempool (kept in memory "
                         "until it commits; bounded per key and in all). The nodes pass it on to each other and "
                         "delete it when its author erases the post (docs/agora.md).",
             body=[Payload(JSON, '{"post": "<id>", "text": "…", "tx": "<hex>"?}', model=TextBody)],
             replies=[json_reply(TextAccepted, "kept", status=201)],
             refusals=[Refuse(400, ["BAD_REQUEST"], "not a text"),
                       Refuse(404, ["NOT_FOUND"], "no such post on the chain, nor its transaction pending here "
                                                  "(`tx` missing, not one, not this post's, or not pending)"),
                       Refuse(410, ["POST_ERASED"], "the post was erased by its author"),
                       Refuse(413, ["TEXT_TOO_LARGE"], f"more than {MAX_TEXT_BYTES} bytes"),
                       Refuse(422, ["HASH_MISMATCH"], "its SHA-256 is not the post's text_hash"),
                       Refuse(429, ["TEXT_QUOTA"], "this key has its most texts waiting for their posts"),
                       Refuse(503, ["TEXTS_FULL", "UNAVAILABLE"], "the node holds its most pending texts")])
async def post_agora_text(request: web.Request, body: TextBody) -> web.Response:
    ctx = request.app[NODE]
    texts = _texts(ctx)
    try:
        body.text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "BAD_REQUEST", "the text is not valid Unicode (a lone surrogate)") from None
    post_id = bytes.fromhex(body.post)
    try:
        status = texts.offer(post_id, body.text, bytes.fromhex(body.tx) if body.tx is not None else None)
    except TextRefused as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    return web.json_response({"post": body.post, "status": status}, status=201)
