"""A route declared once: method and path, parameters, body, answers, refusals, access and handler.

Every HTTP route of a node is one `Route` in a `RouteTable`. From the
declaration alone come three things that used to be written separately
(issue 13): the aiohttp routing (node/routes/binding.py), the validation of
the path, query and body (a 400 with the JSON error on any violation, before
the handler runs) and the OpenAPI 3.1 document served at /v1/openapi.json
(node/openapi.py). docs/api-contract.md explains the conventions they share.

A route file (node/routes/*.py today; a chain module's own file, such as
market/ or governance/, tomorrow) makes one table and fills it with the
decorators:

    routes = RouteTable("credits", "Credit classes, their books and holders")

    @routes.get("/v1/classes/{id}", summary="One credit class", path=ClassPath,
                replies=[json_reply(CreditClass, "the class")],
                refusals=[Refuse(404, ["NOT_FOUND"], "no such class")])
    async def get_class(request: web.Request, path: ClassPath) -> web.Response: ...

and `create_app(config, tables=[..., routes])` serves it. A handler is
called with the request and, by keyword, the parts its route declares:
`path` and `query` (pydantic models, validated), `body` (the JSON body's
model, or the raw bytes of a binary body) and `principal` (what the route's
`Access` authenticated). The declaration checks at import time that the
handler takes exactly those, so the two cannot drift.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, get_args

from aiohttp import web
from pydantic import BaseModel

JSON = "application/json"
MSGPACK = "application/msgpack"
TEXT = "text/plain"

Handler = Callable[..., Awaitable[web.StreamResponse]]
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class ApiError(Exception):
    """A request the caller got wrong (or a resource that is not there): status, code, one-line message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ErrorCode:
    """Metadata for a parameter or body field (`Annotated[..., ErrorCode("INVALID_ADDRESS")]`): a
    value that violates it is answered 400 with this code instead of BAD_REQUEST."""

    code: str


def error_code_of(declared: Any) -> str | None:
    """The ErrorCode of a pydantic field (FieldInfo), looking inside `X | None` and other wrappers."""
    found = [m.code for m in getattr(declared, "metadata", ()) if isinstance(m, ErrorCode)]
    pending = [getattr(declared, "annotation", None)]
    while pending and not found:
        annotation = pending.pop()
        found = [m for m in getattr(annotation, "__metadata__", ()) if isinstance(m, ErrorCode)]
        found = [m.code for m in found]
        pending.extend(get_args(annotation))
    return found[0] if found else None


@dataclass(frozen=True)
class Refuse:
    """An error answer a route may give: its status, the codes it carries, and when."""

    status: int
    codes: Sequence[str]
    why: str = ""


@dataclass(frozen=True)
class ReplyHeader:
    """A header a successful answer carries (documented, and checked by the conformance test)."""

    name: str
    description: str
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class Reply:
    """A successful answer: status, description, media type and the schema of its body.

    For JSON, `model` is a pydantic model (or any type pydantic can describe)
    whose JSON Schema is the body's; it documents what the handler renders,
    it is not used to render it. Other media types give `schema` directly;
    `media_type` None is an answer without a body.
    """

    status: int
    description: str
    media_type: str | None = JSON
    model: Any = None
    schema: Mapping[str, Any] | None = None
    headers: Sequence[ReplyHeader] = ()


def json_reply(model: Any, description: str, status: int = 200, headers: Sequence[ReplyHeader] = ()) -> Reply:
    return Reply(status, description, JSON, model=model, headers=headers)


def raw_reply(media_type: str, description: str, schema: Mapping[str, Any], status: int = 200) -> Reply:
    return Reply(status, description, media_type, schema=schema)


def no_content(description: str, status: int = 204) -> Reply:
    return Reply(status, description, None)


@dataclass(frozen=True)
class Payload:
    """One media type a request body may come in.

    With `model`, the body is JSON and is validated into that pydantic model
    (extra fields are refused when the model forbids them, and so the document
    says); without, the handler gets the raw bytes, described by `schema`.
    `bounds(config)` adds limits that come from the node's config to the
    model's properties in the document (the handler enforces them).
    """

    media_type: str
    description: str = ""
    model: type[BaseModel] | None = None
    schema: Mapping[str, Any] | None = None
    bounds: Callable[[Any], Mapping[str, Mapping[str, Any]]] | None = None


class Access(Protocol):
    """Who may call a route: authenticated first (before anything else of the request is read),
    authorised once the path parameters are known (FORMAT.md §19.3 orders the vault's checks so)."""

    security_schemes: Mapping[str, Mapping[str, Any]]
    refusals: Sequence[Refuse]

    async def authenticate(self, request: web.Request) -> Any: ...

    def authorize(self, request: web.Request, principal: Any, path: BaseModel | None) -> None: ...


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    replies: Sequence[Reply]
    description: str = ""
    path_params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: Sequence[Payload] = ()
    refusals: Sequence[Refuse] = ()
    access: Access | None = None
    tag: str = ""

    @property
    def operation_id(self) -> str:
        return self.handler.__name__

    def parts(self) -> set[str]:
        """The keyword arguments the handler gets."""
        given = {"path": self.path_params, "query": self.query, "body": self.body or None, "principal": self.access}
        return {name for name, declared in given.items() if declared is not None}

    def payload(self, media_type: str) -> Payload | None:
        return next((p for p in self.body if p.media_type == media_type), None)


@dataclass
class RouteTable:
    """The routes of one file (one chain module, or one part of the node), in declaration order."""

    name: str
    description: str = ""
    routes: list[Route] = field(default_factory=list)

    def __iter__(self) -> Iterator[Route]:
        return iter(self.routes)

    def route(self, method: str, path: str, *, summary: str, replies: Sequence[Reply], **declared: Any
              ) -> Callable[[Handler], Handler]:
        """Declare a route; the decorated coroutine is its handler (returned unchanged)."""

        def declare(handler: Handler) -> Handler:
            route = Route(method.upper(), path, handler, summary, tuple(replies), tag=self.name, **declared)
            _check(route)
            if any((r.method, r.path) == (route.method, route.path) for r in self.routes):
                raise ValueError(f"{route.method} {path} is declared twice in {self.name}")
            self.routes.append(route)
            return handler

        return declare

    def get(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **declared)

    def post(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **declared)

    def delete(self, path: str, **declared: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **declared)


def _check(route: Route) -> None:
    """Refuse, at import time, a declaration whose handler or path does not match its parts."""
    where = f"{route.method} {route.path}"
    if route.method not in _METHODS:
        raise ValueError(f"{where}: unknown method")
    if not route.path.startswith("/"):
        raise ValueError(f"{where}: a path starts with /")
    placeholders = _PLACEHOLDER.findall(route.path)
    declared = sorted(route.path_params.model_fields) if route.path_params is not None else []
    if sorted(placeholders) != declared:
        raise ValueError(f"{where}: path parameters {placeholders} but the model declares {declared}")
    if not route.replies or any(r.status >= 400 for r in route.replies):
        raise ValueError(f"{where}: declare the successful replies (errors are refusals)")
    if any(r.status < 400 for r in route.refusals):
        raise ValueError(f"{where}: a refusal has a 4xx or 5xx status")
    if len({p.media_type for p in route.body}) != len(route.body):
        raise ValueError(f"{where}: a media type is declared twice")
    parameters = list(inspect.signature(route.handler).parameters)
    if not parameters or set(parameters[1:]) != route.parts():
        raise ValueError(f"{where}: the handler takes (request, {', '.join(sorted(route.parts()))}), "
                         f"not ({', '.join(parameters)})")
