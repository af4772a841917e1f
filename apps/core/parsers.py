"""The API's JSON parser: DRF's, on the bounded loader of apps/core/inputs.py."""
from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from apps.core.inputs import InvalidJSON, loads_json


class BoundedJSONParser(JSONParser):
    """Depth-limited strict JSON with no NUL or control characters in strings (DEFAULT_PARSER_CLASSES)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return loads_json(stream.read() if stream is not None else b"")
        except InvalidJSON as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
