"""The one place that checks text coming from a client before anything reads it.

PostgreSQL refuses a NUL character in any text (psycopg raises before the query is sent), and
a lone UTF-16 surrogate cannot be encoded for it at all: either one reaching a query used to
answer 500. ``InputGuardMiddleware`` (first in MIDDLEWARE) refuses a request whose path or query
string holds such a character, for every page and API view at once; ``loads_json`` is the JSON
parser of the API (``apps.core.parsers.BoundedJSONParser``) and of the lean routes, with the same text rule and
a depth limit. ``whole_number`` reads an id from a query parameter by the same rule everywhere
(``"²".isdigit()`` is true in Python, and ``int("²")`` raises).
"""
from __future__ import annotations

import re

import orjson
from django.http import HttpResponse, JsonResponse

# NUL and the other C0 controls but tab, LF and CR; DEL; lone surrogates (Python keeps them in
# str when a client escapes one in JSON or a server decodes bytes with surrogateescape).
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
MAX_JSON_DEPTH = 32  # our request bodies are at most three levels deep
_WHOLE = re.compile(r"[0-9]{1,18}")


def bad_text(value: str) -> str | None:
    """Why ``value`` cannot be accepted as text, or None when it can."""
    found = _BAD_TEXT.search(value)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "must not contain NUL characters"
    if "\ud800" <= char <= "\udfff":
        return "must be valid Unicode text"
    return "must not contain control characters"


def whole_number(value: str) -> int | None:
    """A non-negative id written with ASCII digits (at most 18 of them), else None."""
    return int(value) if _WHOLE.fullmatch(value) else None


class InvalidJSON(ValueError):
    pass


def _check_tree(value, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise InvalidJSON(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        if (why := bad_text(value)) is not None:
            raise InvalidJSON(f"a string {why}")
    elif isinstance(value, dict):
        for key, item in value.items():
            if (why := bad_text(key)) is not None:
                raise InvalidJSON(f"a key {why}")
            _check_tree(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_tree(item, depth + 1)


def loads_json(body: bytes | str):
    """Parse a request body: strict JSON (no NaN), at most MAX_JSON_DEPTH levels, no NUL or control
    characters in strings. orjson refuses more than 1,024 levels itself, without recursing in
    Python, so a 3,000-deep body is refused before any of it is built. Raises InvalidJSON."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(str(exc)) from None
    _check_tree(value, 1)
    return value


def _refusal(request, field: str | None, why: str) -> HttpResponse:
    from apps.core.api import error_body  # DRF's views import the parser module, which imports this one

    message = f"{field or 'The path'} {why}."
    if request.path_info.startswith("/api/"):
        return JsonResponse(error_body("invalid", message, {field: [why]} if field else {}), status=400)
    return HttpResponse(f"Bad request: {message}\n", status=400, content_type="text/plain; charset=utf-8")


class InputGuardMiddleware:
    """Refuses (400, in the error shape under /api/) a path or query parameter that is not text."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (why := bad_text(request.path_info)) is not None:
            return _refusal(request, None, why)
        for key, values in request.GET.lists():
            if (why := bad_text(key)) is not None:
                return _refusal(request, "A query parameter's name", why)
            for value in values:
                if (why := bad_text(value)) is not None:
                    return _refusal(request, key[:40], why)
        return self.get_response(request)
