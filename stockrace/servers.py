"""Small, safe speed-ups for the ASGI servers this project runs under.

Twisted (under daphne) parses every request's Content-Type header by building an
``email.message.EmailMessage``: about 5 % of the CPU of a bet request in daphne, for a header
that takes a handful of values (application/json, form posts). ``_parseContentType`` is a pure
function of the header's bytes, so its results are memoised (bounded, least recently used).
Nothing changes under other servers, which never load Twisted's HTTP module.
"""
from __future__ import annotations

import functools
import sys


def tune_twisted_http() -> bool:
    """Memoise twisted.web.http._parseContentType if daphne has loaded Twisted; True if done."""
    http = sys.modules.get("twisted.web.http")
    parse = getattr(http, "_parseContentType", None)
    if parse is None or hasattr(parse, "cache_info"):
        return False
    http._parseContentType = functools.lru_cache(maxsize=256)(parse)
    return True
