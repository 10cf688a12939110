"""`agora.space`: an agora admin opens a space, saying who takes part and who moderates (FORMAT.md §6.7).

A space is the federation's (every active identity) or one community's: the
identities attested with one exact attribute, such as `member:coop-x`,
`resident:trento` or `employee:acme`. One exact attribute and not a pattern,
so that the number of identities who may take part is one counter read
(identity/records.py `idcount/`) when a ballot opens. The space also fixes
what its proposals and ballots must reach: the supports that make a
proposal a candidate for a ballot, within how long, and the quorum and the
share that pass a ballot.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from governance import records as rec
from governance.common import permille, record_id
from identity.records import is_attribute
from ledger import accounts, fields
from ledger.errors import Code, TxError
from ledger.handlers import ExecContext, TxType


class SpaceBody(NamedTuple):
    space_id: bytes
    name: str
    eligibility: str
    moderators: tuple[bytes, ...]
    support_threshold: int
    support_window_ms: int
    quorum_permille: int
    pass_permille: int


def _moderators(value: Any) -> tuple[bytes, ...]:
    if type(value) is not tuple or len(value) > rec.MAX_MODERATORS:
        raise TxError(Code.MALFORMED, f"moderators must be an array of at most {rec.MAX_MODERATORS} keys")
    keys = tuple(fields.pubkey(k, f"moderators[{i}]") for i, k in enumerate(value))
    if list(keys) != sorted(set(keys)):
        raise TxError(Code.MALFORMED, "moderators must be in ascending byte order, each once")
    return keys


def parse_space(body: tuple) -> SpaceBody:
    space_id, name, eligibility, moderators, threshold, window, quorum, pass_share = fields.expect_fields(
        body, SpaceBody._fields)
    if eligibility != "" and not is_attribute(eligibility):
        raise TxError(Code.MALFORMED, "eligibility must be \"\" (the whole federation) or one attribute "
                                      "[a-z0-9-]+:[a-z0-9+._-]+ of at most 64 bytes")
    return SpaceBody(record_id(space_id, "space_id"), fields.text(name, "name", rec.MAX_NAME, least=1), eligibility,
                     _moderators(moderators), fields.uint(threshold, "support_threshold"),
                     fields.uint(window, "support_window_ms"), permille(quorum, "quorum_permille"),
                     permille(pass_share, "pass_permille"))


def execute_space(ctx: ExecContext, body: SpaceBody) -> None:
    if not rec.is_admin(ctx.state, ctx.signer):
        raise TxError(Code.AGORA_NOT_ADMIN)
    if ctx.state.get(rec.space_key(body.space_id)) is not None:
        raise TxError(Code.SPACE_EXISTS)
    space = rec.Space(ctx.signer, body.name, body.eligibility, body.moderators, body.support_threshold,
                      body.support_window_ms, body.quorum_permille, body.pass_permille, ctx.height)
    ctx.state.put(rec.space_key(body.space_id), space.encode())
    for moderator in body.moderators:  # a moderator signs hides: a key the chain knows (FORMAT.md §8.1)
        accounts.ensure_known(ctx.state, moderator)


SPACE = TxType("agora.space", parse_space, execute_space, lambda b: b.moderators)
