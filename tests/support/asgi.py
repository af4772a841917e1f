"""HTTP through an ASGI application in this process (no server): the scope the servers build,
the request body in one message, the whole answer read back."""
from __future__ import annotations

import asyncio

from asgiref.testing import ApplicationCommunicator


def http_scope(method: str, path: str, *, body: bytes = b"", headers=(), client=("127.0.0.1", 5000),
               query_string: bytes = b"") -> dict:
    has_body = bool(body) or method in ("POST", "PUT", "PATCH")
    headers_for_body = [*([(b"content-length", str(len(body)).encode())] if has_body else []), *headers]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query_string, "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), *headers_for_body],
            "client": client, "server": ("127.0.0.1", 8000)}


async def asgi_request(app, method: str, path: str, *, body: bytes = b"", headers=(), client=("127.0.0.1", 5000),
                       query_string: bytes = b"", timeout: float = 20) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one request to ``app``."""
    communicator = ApplicationCommunicator(app, http_scope(method, path, body=body, headers=list(headers),
                                                           client=client, query_string=query_string))
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout)
    assert start["type"] == "http.response.start", start
    content = b""
    while True:
        message = await communicator.receive_output(timeout)
        content += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout)
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, content


def asgi_call(app, method: str, path: str, **kwargs) -> tuple[int, dict[str, str], bytes]:
    """``asgi_request`` on an event loop of its own, from synchronous test code."""
    return asyncio.run(asgi_request(app, method, path, **kwargs))


def count_lean_answers(monkeypatch, route_class) -> list:
    """Record each request a lean route (an apps.core.lean.LeanRoute class) answers: the returned
    list gets the path's groups of each, so a test can tell whether the lean route engaged."""
    calls: list = []
    original = route_class.handle

    def counted(self, request):
        calls.append(request.args)
        return original(self, request)

    monkeypatch.setattr(route_class, "handle", counted)
    return calls
