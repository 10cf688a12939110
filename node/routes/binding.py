"""From declared routes to aiohttp: validation before the handler, and registration in an app.

Each route becomes one aiohttp handler that does, in order: the route's
access check (authentication), its path and query parameters, its access
check (authorisation), its body, then the handler with the parts it
declared. Any violation raises ApiError (400 with BAD_REQUEST or the
field's own code, 415 for a media type the route does not take), which the
error middleware of node/api.py turns into the JSON error; the handler
never sees a value its declaration does not allow.

Registration keeps the app's tables (the document is generated from them,
node/openapi.py) and keeps a template off a fixed path that would also
match it: `GET /v1/txs/batch` is 405 (the resource takes POST), not a
lookup of the transaction "batch".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from multidict import MultiMapping
from pydantic import BaseModel, ValidationError

from node.routes.table import ApiError, Handler, Route, RouteTable, error_code_of
from node.untrusted import shown


@dataclass
class Served:
    """The routes an app serves, and what was derived from them (kept in the app under SERVED)."""

    tables: list[RouteTable] = field(default_factory=list)
    document: dict | None = None  # node/routes/service.py fills it on first request

    def routes(self) -> list[Route]:
        return [route for table in self.tables for route in table]


SERVED = web.AppKey("served_routes", Served)


def serve(app: web.Application, tables: Sequence[RouteTable]) -> None:
    """Register the tables' routes in `app` (before it starts).

    A template never matches a fixed path of the same shape (`/v1/txs/{hash}`
    does not match `/v1/txs/batch`): such a path is its own resource, and a
    method it lacks is 405 with its own Allow, as the document says. A fixed
    path added after a template it would collide with is refused: serve the
    tables together.
    """
    served = app.get(SERVED)
    if served is None:
        served = app[SERVED] = Served()
    before = served.routes()
    routes = [route for table in tables for route in table]
    known = {(r.method, r.path) for r in before}
    fixed = {r.path for r in [*before, *routes] if "{" not in r.path}
    for route in before:
        if "{" in route.path and _collisions(route.path, fixed) != _collisions(route.path, {r.path for r in before}):
            raise ValueError(f"{route.path} is already served and would match a fixed path added later")
    for route in routes:
        if (route.method, route.path) in known:
            raise ValueError(f"{route.method} {route.path} is served twice")
        known.add((route.method, route.path))
        path = _router_path(route.path, fixed)
        if route.method == "GET":
            app.router.add_get(path, bind(route))  # and HEAD, as aiohttp does
        else:
            app.router.add_route(route.method, path, bind(route))
    served.tables.extend(tables)
    served.document = None


def _collisions(template: str, fixed: set[str]) -> dict[int, set[str]]:
    """For each placeholder of `template`, the words of fixed paths it would otherwise match there."""
    segments = template.split("/")
    found: dict[int, set[str]] = {}
    for path in fixed:
        words = path.split("/")
        if len(words) != len(segments):
            continue
        differing = [i for i, (a, b) in enumerate(zip(segments, words, strict=True)) if a != b]
        if not differing or not all(segments[i].startswith("{") for i in differing):
            continue
        if len(differing) > 1:
            raise ValueError(f"{template} and {path} overlap in more than one segment: declare them apart")
        found.setdefault(differing[0], set()).add(words[differing[0]])
    return found


def _router_path(template: str, fixed: set[str]) -> str:
    """The aiohttp path of a template, its placeholders kept off the fixed paths' words."""
    segments = template.split("/")
    for i, words in _collisions(template, fixed).items():
        name = segments[i][1:-1]
        excluded = "|".join(re.escape(w) for w in sorted(words))
        segments[i] = "{" + name + ":(?!(?:" + excluded + ")(?:/|$))[^/]+}"
    return "/".join(segments)


# --- one route's pipeline ------------------------------------------------------------------------


def bind(route: Route) -> Handler:
    """The aiohttp handler of a route: validate what it declares, then call its handler."""

    async def endpoint(request: web.Request) -> web.StreamResponse:
        parts: dict[str, Any] = {}
        principal = None
        if route.access is not None:
            principal = parts["principal"] = await route.access.authenticate(request)
        path = None
        if route.path_params is not None:
            path = parts["path"] = parse_params(route.path_params, request.match_info, "path parameter")
        if route.query is not None:
            parts["query"] = parse_query(route.query, request.query)
        if route.access is not None:
            route.access.authorize(request, principal, path)
        if route.body:
            parts["body"] = await parse_body(route, request)
        return await route.handler(request, **parts)

    endpoint.__name__ = route.operation_id
    return endpoint


def parse_params(model: type[BaseModel], values: Mapping[str, str], where: str) -> BaseModel:
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise violation(exc, model, f"invalid {where}") from None


def parse_query(model: type[BaseModel], query: MultiMapping[str]) -> BaseModel:
    """The declared query parameters (others are ignored); one given twice is refused."""
    values: dict[str, str] = {}
    for field_name, declared in model.model_fields.items():
        name = declared.alias or field_name
        given = query.getall(name, [])
        if len(given) > 1:
            raise ApiError(400, "BAD_REQUEST", f"query parameter {name} is given {len(given)} times")
        if given:
            values[name] = given[0]
    return parse_params(model, values, "query parameter")


async def parse_body(route: Route, request: web.Request) -> Any:
    ctype = request.content_type
    payload = route.payload(ctype)
    if payload is None:
        accepted = " or ".join(p.media_type for p in route.body)
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", f"send {accepted}, not {shown(ctype) or 'no content type'}")
    raw = await request.read()
    if payload.model is None:
        return raw
    try:
        return payload.model.model_validate_json(raw)
    except ValidationError as exc:
        raise violation(exc, payload.model, "invalid JSON request") from None


def _field_named(model: type[BaseModel], name: str) -> Any:
    return next((f for n, f in model.model_fields.items() if (f.alias or n) == name), None)


def violation(exc: ValidationError, model: type[BaseModel], what: str) -> ApiError:
    """The first error of a validation, as a 400: BAD_REQUEST, or the field's own code (ErrorCode) for a
    value its rule refuses."""
    first = exc.errors()[0]
    loc = first["loc"]
    declared = _field_named(model, str(loc[0])) if loc else None
    # the field's own code is for a value its rule refuses; a missing or mistyped one is BAD_REQUEST
    own = error_code_of(declared) if declared is not None and first["type"] == "value_error" else None
    code = own or "BAD_REQUEST"
    where = shown(".".join(str(p) for p in loc)) or "body"  # a key may be the caller's
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "string_pattern_mismatch":  # the pattern itself may be long: say what was expected
        description = getattr(declared, "description", None)
        message = f"not {description}" if description else "not of the form /v1/openapi.json gives"
    return ApiError(400, code, f"{what} ({where}): {message}")

