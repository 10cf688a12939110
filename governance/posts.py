"""Proposals, comments and supports: `agora.propose`, `agora.comment`, `agora.erase`, `agora.hide`,
`agora.support` (FORMAT.md §6.7).

A post's text is personal content, so the chain does not hold it: the
author's transaction carries the SHA-256 of the text (the author signs it),
and the nodes keep the text itself off chain (a later part of issue 15).
Erasure by the author and hiding by a moderator, with a reason everyone
sees, change only the record's status: the hash stays, so whoever kept the
text of a decided proposal can still show it is the one that was decided,
and the thread keeps its shape (a reply's parent is still there).

A support is an eligible identity's, once per proposal whatever keys it
has, within the space's window from the proposal's creation; the count
reaching the space's threshold makes the proposal a candidate for a ballot
(governance/ballots.py).
"""

from __future__ import annotations

from typing import NamedTuple

from governance import records as rec
from governance.common import (
    eligible_identity,
    fixed_bytes,
    is_moderator,
    load_space,
    record_id,
    signer_identity,
)
from governance.records import COMMENT, ERASED, HIDDEN, PROPOSAL, VISIBLE, Post
from ledger import fields
from ledger.encoding import encode
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType


def load_post(ctx: ExecContext, post_id: bytes) -> Post:
    post = rec.get_post(ctx.state, post_id)
    if post is None:
        raise TxError(Code.UNKNOWN_POST)
    return post


# --- agora.propose / agora.comment ---------------------------------------------------------


class ProposeBody(NamedTuple):
    post_id: bytes
    space_id: bytes
    text_hash: bytes


class CommentBody(NamedTuple):
    post_id: bytes
    parent_id: bytes
    text_hash: bytes


def parse_propose(body: tuple) -> ProposeBody:
    post_id, space_id, text_hash = fields.expect_fields(body, ProposeBody._fields)
    return ProposeBody(record_id(post_id, "post_id"), record_id(space_id, "space_id"),
                       fixed_bytes(text_hash, "text_hash", rec.HASH_LEN))


def parse_comment(body: tuple) -> CommentBody:
    post_id, parent_id, text_hash = fields.expect_fields(body, CommentBody._fields)
    return CommentBody(record_id(post_id, "post_id"), record_id(parent_id, "parent_id"),
                       fixed_bytes(text_hash, "text_hash", rec.HASH_LEN))


def _new_post(ctx: ExecContext, post_id: bytes) -> None:
    if ctx.state.get(rec.post_key(post_id)) is not None:
        raise TxError(Code.POST_EXISTS)


def execute_propose(ctx: ExecContext, body: ProposeBody) -> None:
    _new_post(ctx, body.post_id)
    space = load_space(ctx, body.space_id)
    author = eligible_identity(ctx, space)
    until = min(ctx.time_ms + space.support_window_ms, fields.MAX_AMOUNT)
    post = Post(body.space_id, PROPOSAL, None, author, ctx.signer, body.text_hash, VISIBLE, "", 0, until, None,
                ctx.height)
    ctx.state.put(rec.post_key(body.post_id), post.encode())


def execute_comment(ctx: ExecContext, body: CommentBody) -> None:
    _new_post(ctx, body.post_id)
    parent = load_post(ctx, body.parent_id)
    if parent.status != VISIBLE:
        raise TxError(Code.POST_NOT_VISIBLE, f"the post replied to is {parent.status}")
    space = load_space(ctx, parent.space_id)
    author = eligible_identity(ctx, space)
    post = Post(parent.space_id, COMMENT, body.parent_id, author, ctx.signer, body.text_hash, VISIBLE, "", 0, 0, None,
                ctx.height)
    ctx.state.put(rec.post_key(body.post_id), post.encode())


# --- agora.erase / agora.hide --------------------------------------------------------------


class EraseBody(NamedTuple):
    post_id: bytes


class HideBody(NamedTuple):
    post_id: bytes
    reason: str


def parse_erase(body: tuple) -> EraseBody:
    (post_id,) = fields.expect_fields(body, EraseBody._fields)
    return EraseBody(record_id(post_id, "post_id"))


def parse_hide(body: tuple) -> HideBody:
    post_id, reason = fields.expect_fields(body, HideBody._fields)
    return HideBody(record_id(post_id, "post_id"), fields.text(reason, "reason", rec.MAX_REASON, least=1))


def execute_erase(ctx: ExecContext, body: EraseBody) -> None:
    """The author's right to erase (a hidden post too): whatever keys it has now, the author's identity
    decides, and no eligibility is asked of it."""
    post = load_post(ctx, body.post_id)
    if signer_identity(ctx) != post.author:
        raise TxError(Code.NOT_POST_AUTHOR)
    if post.status == ERASED:
        raise TxError(Code.POST_NOT_VISIBLE, "the post is erased already")
    ctx.state.put(rec.post_key(body.post_id), post._replace(status=ERASED).encode())


def execute_hide(ctx: ExecContext, body: HideBody) -> None:
    post = load_post(ctx, body.post_id)
    space = load_space(ctx, post.space_id)
    if not is_moderator(space, ctx.signer):
        raise TxError(Code.NOT_MODERATOR)
    if post.status != VISIBLE:
        raise TxError(Code.POST_NOT_VISIBLE, f"the post is {post.status}")
    ctx.state.put(rec.post_key(body.post_id), post._replace(status=HIDDEN, reason=body.reason).encode())


# --- agora.support -------------------------------------------------------------------------


class SupportBody(NamedTuple):
    post_id: bytes


def parse_support(body: tuple) -> SupportBody:
    (post_id,) = fields.expect_fields(body, SupportBody._fields)
    return SupportBody(record_id(post_id, "post_id"))


def execute_support(ctx: ExecContext, body: SupportBody) -> None:
    post = load_post(ctx, body.post_id)
    if post.kind != PROPOSAL:
        raise TxError(Code.NOT_A_PROPOSAL)
    if post.status != VISIBLE:
        raise TxError(Code.POST_NOT_VISIBLE, f"the proposal is {post.status}")
    if ctx.time_ms >= post.support_until_ms:
        raise TxError(Code.SUPPORT_WINDOW_CLOSED, f"supports were taken until {post.support_until_ms}")
    identity_id = eligible_identity(ctx, load_space(ctx, post.space_id))
    key = rec.support_key(body.post_id, identity_id)
    if ctx.state.get(key) is not None:
        raise TxError(Code.ALREADY_SUPPORTED)
    ctx.state.put(key, encode((ctx.signer, ctx.height)))
    ctx.state.put(rec.post_key(body.post_id), post._replace(supports=post.supports + 1).encode())


PROPOSE = TxType("agora.propose", parse_propose, execute_propose)
COMMENT_TYPE = TxType("agora.comment", parse_comment, execute_comment)
ERASE = TxType("agora.erase", parse_erase, execute_erase)
HIDE = TxType("agora.hide", parse_hide, execute_hide)
SUPPORT = TxType("agora.support", parse_support, execute_support)
TYPES = (PROPOSE, COMMENT_TYPE, ERASE, HIDE, SUPPORT)
