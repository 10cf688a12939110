"""Reviews and provider ratings: market.review, market.erase_review (FORMAT.md §6.5.5).

Only the buyer of a completed order (confirmed, released, or decided by
the arbiter) reviews it, once: so a provider's rating counts real
purchases only, one vote each. The rating aggregate
`[count, sum]` is kept on review, so that reading it is one get.

The text is the author's personal data: its author may erase it (GDPR art.
17) at any time; the rating stays counted, since the purchase it rates
happened and the aggregate must keep adding up (the auditor checks it).
"""

from __future__ import annotations

from typing import NamedTuple

from ledger import fields
from ledger.encoding import encode
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType
from market.listings import record_id
from market.orders import load_order
from market.records import (
    COMPLETED,
    Rating,
    Review,
    get_rating,
    get_review,
    rating_key,
    review_key,
)

MAX_TEXT = 280
RATINGS = range(1, 6)


class ReviewBody(NamedTuple):
    order_id: bytes
    rating: int
    text: str


def _parse_review(body: tuple) -> ReviewBody:
    order_id, rating, text = fields.expect_fields(body, ReviewBody._fields)
    if type(rating) is not int or rating not in RATINGS:
        raise TxError(Code.MALFORMED, "rating must be an integer from 1 to 5")
    return ReviewBody(record_id(order_id, "order_id"), rating, fields.text(text, "text", MAX_TEXT))


def _execute_review(ctx: ExecContext, body: ReviewBody) -> None:
    order = load_order(ctx, body.order_id)
    if ctx.signer != order.buyer:
        raise TxError(Code.NOT_ORDER_PARTY, "only the order's buyer reviews it")
    if order.status not in COMPLETED:
        raise TxError(Code.WRONG_ORDER_STATUS, f"the order is {order.status}; a review needs it "
                                               f"{', '.join(COMPLETED)}")
    if get_review(ctx.state, order.provider, body.order_id) is not None:
        raise TxError(Code.REVIEW_EXISTS)
    rating = get_rating(ctx.state, order.provider)
    ctx.state.put(review_key(order.provider, body.order_id), Review(body.rating, body.text).encode())
    ctx.state.put(rating_key(order.provider), encode(tuple(Rating(rating.count + 1, rating.sum + body.rating))))


class EraseBody(NamedTuple):
    order_id: bytes


def _parse_erase(body: tuple) -> EraseBody:
    (order_id,) = fields.expect_fields(body, EraseBody._fields)
    return EraseBody(record_id(order_id, "order_id"))


def _execute_erase(ctx: ExecContext, body: EraseBody) -> None:
    order = load_order(ctx, body.order_id)
    if ctx.signer != order.buyer:
        raise TxError(Code.NOT_ORDER_PARTY, "only the review's author erases it")
    review = get_review(ctx.state, order.provider, body.order_id)
    if review is None:
        raise TxError(Code.UNKNOWN_REVIEW)
    if review.text is None:
        raise TxError(Code.ALREADY_ERASED, "the review's text was already erased")
    ctx.state.put(review_key(order.provider, body.order_id), review._replace(text=None).encode())


REVIEW = TxType("market.review", _parse_review, _execute_review)
ERASE_REVIEW = TxType("market.erase_review", _parse_erase, _execute_erase)
TYPES = (REVIEW, ERASE_REVIEW)
