"""Route declarations (node/routes/table.py): what they refuse to declare, what they derive, and that the
patterns the document states are exactly the rules the code applies.

The server's agreement with its document on a live node is
tests/functional/test_api_contract.py; this file checks the pieces without one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from identity.commitment import RecordError, parse_record
from node import vault_api
from node.api import create_app
from node.config import ApiConfig
from node.openapi import openapi_document, route_list
from node.routes.binding import serve
from node.routes.core import CORE
from node.routes.table import Refuse, RouteTable, json_reply
from node.routes.types import _CURSOR_PATTERN, MAX_HEIGHT, MAX_TX_INDEX, decimal_at_most
from node.vault_api import TEXT_PATTERN

ROOT = Path(__file__).resolve().parent.parent
A_PARTITA_IVA = "01234560017"


class IdPath(BaseModel):
    id: str


async def _handler(request: web.Request, path: IdPath) -> web.Response:
    return web.json_response({})


# --- the declaration ----------------------------------------------------------------------------


def test_a_handler_must_take_exactly_the_parts_its_route_declares() -> None:
    table = RouteTable("t")
    with pytest.raises(ValueError, match="the handler takes"):
        table.get("/v1/x", summary="x", replies=[json_reply(dict, "x")])(_handler)  # it takes a path it lacks
    with pytest.raises(ValueError, match="path parameters"):
        table.get("/v1/x/{other}", summary="x", path_params=IdPath, replies=[json_reply(dict, "x")])(_handler)
    table.get("/v1/x/{id}", summary="x", path_params=IdPath, replies=[json_reply(dict, "x")])(_handler)
    with pytest.raises(ValueError, match="declared twice"):
        table.get("/v1/x/{id}", summary="x", path_params=IdPath, replies=[json_reply(dict, "x")])(_handler)
    with pytest.raises(ValueError, match="refusal"):
        table.get("/v1/y/{id}", summary="y", path_params=IdPath, replies=[json_reply(dict, "y")],
                  refusals=[Refuse(200, ["OK"])])(_handler)


def test_a_route_is_served_once_and_a_template_never_swallows_a_fixed_path() -> None:
    app = create_app(ApiConfig())
    with pytest.raises(ValueError, match="served twice"):
        serve(app, [CORE[0]])
    late = RouteTable("late")

    async def late_handler(request: web.Request) -> web.Response:
        return web.json_response({})

    late.get("/v1/txs/pending", summary="a fixed path under the transaction template", replies=[json_reply(dict, "x")])(
        late_handler)
    with pytest.raises(ValueError, match="fixed path added later"):
        serve(app, [late])
    together = create_app(ApiConfig(), tables=[*CORE, late])
    patterns = [r.resource.get_info().get("pattern") for r in together.router.routes()
                if r.resource.canonical == "/v1/txs/{hash}"]
    assert patterns and all(not p.fullmatch("/v1/txs/pending") and not p.fullmatch("/v1/txs/batch") for p in patterns)
    assert all(p.fullmatch("/v1/txs/" + "ab" * 32) for p in patterns)


# --- the document -------------------------------------------------------------------------------


def test_the_document_has_every_route_served_and_no_other() -> None:
    app = create_app(ApiConfig())
    vault_api.add_routes(app)
    served = {(r.resource.canonical, r.method.lower()) for r in app.router.routes() if r.method != "HEAD"}
    document = openapi_document([*CORE, vault_api.routes], ApiConfig(max_batch_txs=77))
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served == documented
    batch = document["components"]["schemas"]["BatchSubmission"]["properties"]["txs"]
    assert batch["maxItems"] == 77, "the node's config bounds the batch in its document"
    assert "get" not in document["paths"]["/v1/txs/batch"]


def test_every_json_object_forbids_fields_it_does_not_declare() -> None:
    document = openapi_document([*CORE, vault_api.routes], ApiConfig())
    for name, schema in document["components"]["schemas"].items():
        if schema.get("type") == "object":
            assert schema.get("additionalProperties") is False, name


def test_the_route_list_in_the_contract_is_current() -> None:
    text = (ROOT / "docs" / "api-contract.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- routes: begin -->\n(.*?)<!-- routes: end -->", text, re.S)
    assert block is not None, "docs/api-contract.md keeps its route list between the markers"
    assert block[1] == route_list([*CORE, vault_api.routes]), "run: python -m node.openapi --vault --markdown"


# --- patterns are the code's rules ---------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10**20), st.integers(0, 3))
def test_decimal_at_most_is_exactly_the_bound(value: int, zeros: int) -> None:
    for maximum in (MAX_HEIGHT, MAX_TX_INDEX, 200, 1000, 10):
        text = "0" * zeros + str(value)
        fits = len(text) <= len(str(maximum))
        assert bool(re.fullmatch(decimal_at_most(maximum), text)) == (fits and value <= maximum), (maximum, text)


def test_the_history_cursor_pattern_refuses_what_the_store_cannot_hold() -> None:
    assert re.fullmatch(_CURSOR_PATTERN, f"{MAX_HEIGHT}:{MAX_TX_INDEX}")
    assert not re.fullmatch(_CURSOR_PATTERN, f"{MAX_HEIGHT + 1}:0")
    assert not re.fullmatch(_CURSOR_PATTERN, f"0:{MAX_TX_INDEX + 1}")


def test_no_white_space_above_the_range_the_text_pattern_lists() -> None:
    assert not [c for c in range(0x3001, sys.maxunicode + 1) if chr(c).isspace()]


_CHARS = st.characters(codec="utf-8") | st.sampled_from(" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2000\u2028\u3000\x00\x7f\x9f")


@settings(max_examples=500, deadline=None)
@given(st.text(_CHARS, min_size=1, max_size=12))
def test_the_record_text_pattern_is_the_record_rule(text: str) -> None:
    """A personal record's name is valid exactly when the document's pattern matches it (both within
    its length bounds): identity/commitment.py's rule, as vault_api.py states it."""
    try:
        parse_record({"kind": "company", "name": text, "tax_code": A_PARTITA_IVA})
        valid = True
    except RecordError as exc:
        assert exc.field == "record.name", exc
        valid = False
    assert bool(re.fullmatch(TEXT_PATTERN, text)) == valid, repr(text)
