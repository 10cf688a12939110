"""The OpenAPI 3.1 document of a node's API, generated from the routes it serves (served at /v1/openapi.json).

Nothing here is written by hand per route: paths, methods, parameters with
their patterns and bounds, request bodies, answers and error codes all come
from the route declarations (node/routes/table.py) and the pydantic models
they name, so the document is the server's own contract. A node documents
the routes it actually serves: the vault's only where the vault is enabled.
tests/functional/test_api_contract.py holds the server to it with
schemathesis; docs/api-contract.md explains the conventions.

Besides each route's own refusals, the document lists those every route
shares, because the binding (node/routes/binding.py) and the error edge of
node/api.py give them whatever the handler: 400 for a parameter or body
that breaks its declaration, 408/413/415 for bodies, 503 when the node is
busy or stopping.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from node.routes.table import Refuse, Route, RouteTable, error_code_of

REF = "#/components/schemas/{model}"
TITLE = "incoop node API"
VERSION = "1"
DESCRIPTION = (
    "The HTTP API of an incoop node. Conventions (errors, hex, addresses, amounts, pagination): "
    "docs/api-contract.md in the repository. Every error is JSON {\"error\": {\"code\", \"message\"}}; "
    "each answer below lists the codes it may carry."
)
BUSY = Refuse(503, ["TIMEOUT", "STORE_FAILED", "TOO_MANY_CONNECTIONS"],
              "the node is busy or stopping (docs/api-limits.md): try again later, or ask another node")
BODY_REFUSALS = (
    Refuse(408, ["BODY_TIMEOUT"], "the body did not arrive in time"),
    Refuse(413, ["BODY_TOO_LARGE"], "the body is larger than the node takes"),
    Refuse(415, ["UNSUPPORTED_MEDIA_TYPE"], "a media type the route does not take"),
)


class SchemaGenerator(GenerateJsonSchema):
    """pydantic's JSON Schema (draft 2020-12, OpenAPI 3.1's dialect) without the generated titles."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def generate(self, schema: Any, mode: Any = "validation") -> Any:
        return _untitled(super().generate(schema, mode))


def _untitled(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untitled(v) for k, v in value.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(value, list):
        return [_untitled(v) for v in value]
    return value


def openapi_document(tables: Sequence[RouteTable], config: Any = None) -> dict[str, Any]:
    """The document of the routes in `tables`; `config` (the node's ApiConfig) supplies the limits
    that come from it (Payload.bounds)."""
    routes = [route for table in tables for route in table]
    schemas = _Schemas(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, schemas, config)
    security = {name: dict(scheme) for route in routes if route.access is not None
                for name, scheme in route.access.security_schemes.items()}
    components: dict[str, Any] = {"schemas": dict(sorted(schemas.defs.items()))}
    if security:
        components["securitySchemes"] = security
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "tags": [{"name": t.name, "description": t.description} for t in tables if t.routes],
        "paths": paths,
        "components": components,
    }


class _Schemas:
    """The JSON Schemas of every model the routes name, generated together so that they share
    components (a model named twice is one component)."""

    def __init__(self, routes: Iterable[Route]):
        inputs = []
        for route in routes:
            for reply in route.replies:
                if reply.model is not None:
                    inputs.append(((id(reply.model), "reply"), "validation", TypeAdapter(reply.model)))
            for payload in route.body:
                if payload.model is not None:
                    inputs.append(((id(payload.model), "body"), "validation", TypeAdapter(payload.model)))
        by_key, defs = TypeAdapter.json_schemas(inputs, ref_template=REF, schema_generator=SchemaGenerator)
        self.by_key = {key: schema for (key, _mode), schema in by_key.items()}
        self.defs: dict[str, Any] = _untitled(defs.get("$defs", {}))

    def reply(self, model: Any) -> dict[str, Any]:
        return self.by_key[(id(model), "reply")]

    def body(self, model: Any, bounds: dict[str, Any]) -> dict[str, Any]:
        schema = self.by_key[(id(model), "body")]
        if bounds:
            target = self.defs[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
            for name, extra in bounds.items():
                target["properties"][name].update(extra)
        return schema


def _operation(route: Route, schemas: _Schemas, config: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": route.operation_id, "summary": route.summary}
    if route.description:
        operation["description"] = route.description
    if route.tag:
        operation["tags"] = [route.tag]
    parameters = _parameters(route.path_params, "path") + _parameters(route.query, "query")
    if parameters:
        operation["parameters"] = parameters
    if route.body:
        content = {}
        for payload in route.body:
            if payload.model is not None:
                bounds = dict(payload.bounds(config)) if payload.bounds is not None and config is not None else {}
                schema = schemas.body(payload.model, bounds)
            else:
                schema = dict(payload.schema or {})
            content[payload.media_type] = {"schema": schema}
        operation["requestBody"] = {"required": True, "content": content}
        if any(p.description for p in route.body):
            operation["requestBody"]["description"] = "; ".join(
                f"{p.media_type}: {p.description}" for p in route.body if p.description)
    if route.access is not None:
        operation["security"] = [{name: [] for name in route.access.security_schemes}]
    operation["responses"] = _responses(route, schemas)
    return operation


def _parameters(model: type[BaseModel] | None, where: str) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF, schema_generator=SchemaGenerator)
    required = set(schema.get("required", ()))
    out = []
    for name, field_schema in schema["properties"].items():
        field_schema = _without_null(dict(field_schema))
        parameter = {"name": name, "in": where, "required": where == "path" or name in required}
        description = field_schema.pop("description", None)
        if description:
            parameter["description"] = description
        parameter["schema"] = field_schema
        out.append(parameter)
    return out


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without the `null` pydantic adds for `X | None = None`: a
    parameter is absent or a value, never null."""
    branches = schema.get("anyOf")
    if schema.get("default", 0) is None and branches and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        if len(rest) == 1:
            out = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
            return {**rest[0], **out}
    return schema


def refusals_of(route: Route) -> dict[int, Refuse]:
    """Every error answer of a route, merged by status: its own, its access check's, and those its
    parameters, its body and the error edge give."""
    found: list[Refuse] = []
    for model in (route.path_params, route.query):
        if model is not None:
            found.append(Refuse(400, ["BAD_REQUEST", *_field_codes(model)], "a parameter breaks its declaration"))
    if route.body:
        codes = [c for p in route.body if p.model is not None for c in _field_codes(p.model)]
        found.append(Refuse(400, ["BAD_REQUEST", *codes], "the body breaks its declaration"))
        found.extend(BODY_REFUSALS)
    if route.access is not None:
        found.extend(route.access.refusals)
    found.extend(route.refusals)
    found.append(BUSY)
    merged: dict[int, Refuse] = {}
    for refusal in found:
        before = merged.get(refusal.status)
        if before is None:
            merged[refusal.status] = Refuse(refusal.status, list(dict.fromkeys(refusal.codes)), refusal.why)
        else:
            whys = "; ".join(dict.fromkeys(w for w in (before.why, refusal.why) if w))
            merged[refusal.status] = Refuse(refusal.status, list(dict.fromkeys([*before.codes, *refusal.codes])), whys)
    return dict(sorted(merged.items()))


def _field_codes(model: type[BaseModel]) -> list[str]:
    return [code for f in model.model_fields.values() if (code := error_code_of(f)) is not None]


def _responses(route: Route, schemas: _Schemas) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for reply in route.replies:
        answer: dict[str, Any] = {"description": reply.description}
        if reply.media_type is not None:
            schema = schemas.reply(reply.model) if reply.model is not None else copy.deepcopy(dict(reply.schema or {}))
            answer["content"] = {reply.media_type: {"schema": schema}}
        if reply.headers:
            answer["headers"] = {h.name: {"description": h.description, "required": True, "schema": dict(h.schema)}
                                 for h in reply.headers}
        responses[str(reply.status)] = answer
    for status, refusal in refusals_of(route).items():
        responses[str(status)] = _error_response(refusal)
    return responses


def _error_response(refusal: Refuse) -> dict[str, Any]:
    codes = list(refusal.codes)
    description = ", ".join(codes) + (f": {refusal.why}" if refusal.why else "")
    return {
        "description": description,
        "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {"error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {"code": {"enum": codes}, "message": {"type": "string"}},
            }},
        }}},
    }


def route_list(tables: Sequence[RouteTable]) -> str:
    """The routes as a Markdown table (docs/api-contract.md carries it; a test keeps it current)."""
    lines = ["| method | path | what | answers |", "|---|---|---|---|"]
    for route in (route for table in tables for route in table):
        statuses = [*(reply.status for reply in route.replies), *refusals_of(route)]
        access = " (signed)" if route.access is not None else ""
        lines.append(f"| {route.method} | `{route.path}` | {route.summary}{access} | {' '.join(map(str, statuses))} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m node.openapi [--vault] [--markdown]`: the document (or its route list) a node serves,
    without a node; `--vault` as on a node whose vault is enabled."""
    import argparse
    import json

    from node import vault_api
    from node.config import ApiConfig
    from node.routes.core import CORE

    parser = argparse.ArgumentParser(prog="python -m node.openapi", description=main.__doc__)
    parser.add_argument("--vault", action="store_true", help="include the vault's routes")
    parser.add_argument("--markdown", action="store_true", help="print the route list of docs/api-contract.md")
    args = parser.parse_args(argv)
    tables = [*CORE, vault_api.routes] if args.vault else list(CORE)
    if args.markdown:
        print(route_list(tables), end="")
    else:
        print(json.dumps(openapi_document(tables, ApiConfig()), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
