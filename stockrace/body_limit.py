"""A cap on HTTP request bodies, in front of every HTTP route of the ASGI app (413 past it).

Django's ASGI handler reads a whole body into a spooled temporary file before any view runs,
and DATA_UPLOAD_MAX_MEMORY_SIZE only applies when a view reads it: without nginx a client could
make a server process spool gigabytes. Here a declared ``Content-Length`` over
``HTTP_MAX_BODY_BYTES`` is answered 413 before a byte of the body is read; a body without one
(chunked) is counted as it arrives, and the app behind sees the client "go away" once it passes
the cap, while this wrapper answers 413 in the API's error shape.
"""
from __future__ import annotations

import json

from apps.core.api import error_body


def _too_large(limit: int) -> tuple[dict, dict]:
    body = json.dumps(error_body("too_large", f"The request body is over the limit of {limit} bytes.")).encode()
    start = {"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]}
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    def __init__(self, app, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit:
                    return await self._refuse(send)
                break
        seen = 0
        over = False
        started = False

        async def counted_receive():
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, tracked_send)
        if over and not started:
            await self._refuse(send)

    async def _refuse(self, send) -> None:
        start, body = _too_large(self.limit)
        await send(start)
        await send(body)
