"""The OpenAPI schema's error answers: the one error envelope (apps.core.api) as a component,
and the 4xx (and 503) answers every operation can give, added by a drf-spectacular postprocessing hook
(SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]) so that no view has to list them.

What each operation may answer, and why:

- 400 — always: hostile or malformed input (a NUL in a query parameter, bad JSON, a field that
  does not validate) is refused before or by the view (apps.core.inputs, the serializers);
- 401 — when the operation accepts credentials: a bad or expired bearer token is refused
  (``token_not_valid``) even where signing in is optional, and a missing one where it is needed;
- 403 — when it accepts credentials: permission denied, or a cookie-authenticated write
  without its CSRF token;
- 404 — when its path has parameters (an unknown id or symbol) or its list is paginated
  (a page past the end);
- 413, 415 — when it takes a body: too large for the server's cap, or not JSON/form data;
- 429 — always: the per-address and per-player rate limits (Retry-After says when);
- 503 — always: Redis or the database out of reach for a moment (a restart, a failover), code
  ``unavailable``, with Retry-After (apps/core/unavailable.py).

A 4xx a view documents itself keeps its description and gets the envelope as its content. A
view that wants to describe one of its refusals names ``ErrorSerializer`` — every app the same
one, the component "Error" — or builds the answer with ``error_response``:

    @extend_schema(responses={409: error_response("Race already started.", "race_started")})

The envelope is defined once, ``ERROR_SCHEMA``: ``ErrorSerializer`` is only its name for
drf-spectacular (``ErrorSchema`` maps it), so no app keeps a second copy of its own.
"""
from __future__ import annotations

import copy

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

ERROR_SCHEMA_NAME = "Error"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}
ERROR_SCHEMA = {
    "type": "object",
    "description": "Every refusal has this shape.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string",
                         "description": "Machine-readable, e.g. invalid, not_found, not_authenticated, "
                                        "token_not_valid, throttled, unavailable."},
                "message": {"type": "string", "description": "One sentence a player or developer can act on."},
                "fields": {"type": "object", "description": "Per input field, its messages (may be empty).",
                           "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
            "required": ["code", "message", "fields"],
        },
    },
    "required": ["error"],
    "example": {"error": {"code": "invalid", "message": "stake: Stake at least 1 point.",
                          "fields": {"stake": ["Stake at least 1 point."]}}},
}


class ErrorSerializer(serializers.Serializer):
    """Every refusal: {"error": {"code", "message", "fields"}} (apps/core/api.py renders it). In the
    schema it is the component "Error", ``ERROR_SCHEMA``; it never renders anything itself."""


class ErrorSchema(OpenApiSerializerExtension):
    """drf-spectacular maps ErrorSerializer to ERROR_SCHEMA under the name "Error"."""

    target_class = ErrorSerializer

    def get_name(self, auto_schema, direction):
        return ERROR_SCHEMA_NAME

    def map_serializer(self, auto_schema, direction):
        return copy.deepcopy(ERROR_SCHEMA)


def error_response(description: str, *codes: str) -> OpenApiResponse:
    """A refusal a view documents: the envelope, its description and the codes it may carry."""
    return OpenApiResponse(ErrorSerializer, description=f"{description} Codes: {', '.join(codes)}." if codes
                           else description)


DESCRIPTIONS = {
    "400": "The request is not valid (the error envelope; `fields` names what to fix).",
    "401": "Not signed in, or the bearer token is not valid or has expired (`token_not_valid`).",
    "403": "Not allowed (or a cookie-authenticated write without its CSRF token).",
    "404": "No such resource (or page).",
    "413": "The request body is too large.",
    "415": "The request body is not JSON (or form data).",
    "429": "Too many requests: the `Retry-After` header says in how many seconds to try again.",
    "503": "Unavailable for a moment (`unavailable`: Redis or the database is restarting); try again after "
           "`Retry-After` seconds.",
}
BODY_METHODS = {"post", "put", "patch"}
METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}


def _error_content() -> dict:
    return {"application/json": {"schema": ERROR_REF}}


def _accepts_credentials(operation: dict) -> bool:
    # drf-spectacular lists the view's authentication schemes; [] or only {} means none.
    return any(requirement for requirement in operation.get("security", []))


def _paginated(operation: dict) -> bool:
    return any(p.get("name") == "page" and p.get("in") == "query" for p in operation.get("parameters", []))


def error_codes_for(path: str, method: str, operation: dict) -> list[str]:
    """The error statuses an operation can answer besides the ones it documents (see module doc)."""
    codes = ["400", "429", "503"]
    if _accepts_credentials(operation):
        codes += ["401", "403"]
    if "{" in path or _paginated(operation):
        codes.append("404")
    if method in BODY_METHODS or "requestBody" in operation:
        codes += ["413", "415"]
    return sorted(codes)


def add_error_responses(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS entry: the Error component and every operation's error answers."""
    # A view naming ErrorSerializer produced the same component already (ErrorSchema).
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = copy.deepcopy(ERROR_SCHEMA)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, response in responses.items():
                if (code.startswith("4") or code == "503") and not response.get("content"):
                    response["content"] = _error_content()
            for code in error_codes_for(path, method, operation):
                responses.setdefault(code, {"description": DESCRIPTIONS[code], "content": _error_content()})
            for code in ("429", "503"):
                if code in responses:
                    responses[code].setdefault("headers", {"Retry-After": {
                        "schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}})
    return result
