"""Django's ASGI handler, serving each HTTP request with one trip to a pool of worker threads.

Django's own ASGIHandler runs every ``MiddlewareMixin`` middleware in async mode, and that mode
calls ``process_request`` and ``process_response`` through ``sync_to_async``: two trips between
the event loop and a thread per middleware, plus one for the view, one for the
``request_started`` signal and one to close the response; and each request gets a new thread of
its own (``ThreadSensitiveContext``), started and joined per request. Profiled on this stack, a
request that does no I/O at all cost 6.7–8.9 ms of CPU that way (docs/BENCHMARKS.md), against
1.3–2 ms through the WSGI path.

Every view and middleware of this project is synchronous, so this handler does what a threaded
WSGI server does, behind an ASGI front: the middleware chain is built in sync mode, and the
request is handled in one call on a long-lived worker thread — ``request_started``, the
middleware, the view and, for an ordinary (non-streaming) response, ``close()`` with its
``request_finished`` signal. A thread keeps its database connection between requests exactly as
under WSGI (``CONN_MAX_AGE``, or the psycopg pool). Reading the body and writing the response stay
on the event loop, and WebSockets never come here. An async view or an async-only middleware
still works: Django adapts it inside the chain, as it does under WSGI.

``HTTP_THREADS`` (a setting) sizes the pool: the number of requests one server process works on
at once. Each thread can hold a database connection.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponse
from django.urls import set_script_prefix


class ThreadPoolASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)  # the sync chain, as under WSGI
        self.executor = ThreadPoolExecutor(max_workers=settings.HTTP_THREADS, thread_name_prefix="http")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await self._in_thread(self.respond, scope, body_file)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client went away while we sent
            if response.streaming:
                await self._in_thread(response.close)
        finally:
            body_file.close()

    def _in_thread(self, func, *args):
        """Run ``func`` on a worker thread, in a copy of the caller's context variables."""
        call = functools.partial(contextvars.copy_context().run, func, *args)
        return asyncio.get_running_loop().run_in_executor(self.executor, call)

    def respond(self, scope, body_file) -> HttpResponse:
        """The whole of a request's synchronous work, on one worker thread."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            response = error_response
        else:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            # The body is in memory: close now, on this thread, so that request_finished
            # (close_old_connections) sees this thread's database connection.
            response.close()
        return response


def get_asgi_application() -> ThreadPoolASGIHandler:
    """Like django.core.asgi.get_asgi_application: set Django up, then return the handler."""
    import django

    django.setup(set_prefix=False)
    return ThreadPoolASGIHandler()
