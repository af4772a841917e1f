"""Small, safe speed-ups and limits for the ASGI servers this project runs under.

Twisted (under daphne) parses every request's Content-Type header by building an
``email.message.EmailMessage``: about 5 % of the CPU of a bet request in daphne, for a header
that takes a handful of values (application/json, form posts). ``_parseContentType`` is a pure
function of the header's bytes, so its results are memoised (bounded, least recently used).
Twisted also parses every form or multipart POST body into ``request.args``, which daphne never
reads (Django parses the body itself), and answers a multipart body it cannot parse with a bare
400 (no body, no Content-Type) before the application sees it: daphne's requests skip that
(Twisted's own ``parsePOSTFormSubmission`` switch), so Django answers such a body in the error
shape. Nothing changes under other servers, which never load Twisted's HTTP module.
"""
from __future__ import annotations

import functools
import sys


def tune_twisted_http() -> bool:
    """Memoise twisted.web.http._parseContentType and stop daphne's requests parsing form bodies,
    if daphne has loaded Twisted; True if done."""
    http = sys.modules.get("twisted.web.http")
    parse = getattr(http, "_parseContentType", None)
    if parse is None or hasattr(parse, "cache_info"):
        return False
    http._parseContentType = functools.lru_cache(maxsize=256)(parse)
    request = getattr(sys.modules.get("daphne.http_protocol"), "WebRequest", None)
    if request is not None:
        original = request.__init__

        @functools.wraps(original)
        def init_without_form_parsing(self, *args, **kwargs):
            original(self, *args, **kwargs)
            self._parsePOSTFormSubmission = False  # read by Request.requestReceived (Twisted is pinned)

        request.__init__ = init_without_form_parsing
    return True


def limit_daphne_websockets(*, max_message: int, max_frame: int) -> bool:
    """Cap the size of a client's WebSocket message and frame under daphne (True if done).

    autobahn (daphne's WebSocket protocol) checks a frame's announced length against these
    limits as soon as the frame header arrives, and fails the connection (close code 1009,
    then a drop) without reading the payload; Channels' consumers would otherwise get the
    whole message in memory first. daphne sets the options from its command line (1 MiB
    unless told) when its server starts, after the application is imported: the factory's
    ``setProtocolOptions`` is wrapped so that the smaller of the two limits holds whatever
    the command line says. Relies on autobahn's option names (Twisted and autobahn are pinned).
    """
    ws = sys.modules.get("daphne.ws_protocol")
    factory = getattr(ws, "WebSocketFactory", None)
    if factory is None:
        return False
    original = getattr(factory.setProtocolOptions, "__wrapped__", factory.setProtocolOptions)

    @functools.wraps(original)
    def set_protocol_options(self, *args, **options):
        for name, limit in (("maxMessagePayloadSize", max_message), ("maxFramePayloadSize", max_frame)):
            given = options.get(name) or 0
            options[name] = limit if given <= 0 else min(given, limit)
        return original(self, *args, **options)

    factory.setProtocolOptions = set_protocol_options
    return True
