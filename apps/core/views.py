"""Cross-cutting HTTP endpoints: health and JSON error pages for the API."""
import sys

from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from apps.core import unavailable
from apps.core.api import json_error_response
from apps.core.health import public_health, system_health


@never_cache
@require_safe  # GET and HEAD: load balancers and uptime checks often probe with HEAD
def healthz(request):
    """Every component and its state; the details (errors, lags) for signed-in staff only."""
    report = system_health()
    status = 200 if not report["failing"] else 503
    if not (request.user.is_authenticated and request.user.is_staff):
        report = public_health(report)
    return JsonResponse(report, status=status)


@never_cache
@require_safe
def livez(request):
    """200 as soon as the process serves requests, checking nothing else (/healthz checks the
    database, Redis, the broker, beat and the feed). What tests and benches wait for before they
    send traffic: quiet, where a probe of /healthz logs a 503 on every start without beat or feed."""
    return HttpResponse("ok\n", content_type="text/plain")


@require_safe
def websocket_docs(request):
    """docs/WEBSOCKETS.md, served beside the REST docs."""
    from django.conf import settings
    from django.http import HttpResponse
    from django.utils.html import escape

    text = (settings.BASE_DIR / "docs" / "WEBSOCKETS.md").read_text(encoding="utf-8")
    return HttpResponse("<!doctype html><meta charset=utf-8><title>StockRace WebSocket API</title>"
                        f"<pre style='white-space:pre-wrap;max-width:70em;margin:2em auto'>{escape(text)}</pre>")


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return json_error_response(404, "not_found", f"Nothing at {request.path}.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception, template_name="404.html")


def server_error(request):
    """handler500, called while Django handles the exception (a view's or a middleware's): a Redis
    or database outage is answered 503 with Retry-After (apps/core/unavailable.py), the rest 500."""
    if unavailable.is_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    if _is_api(request):
        return json_error_response(500, "server_error", "Something went wrong on our side; it has been logged.")
    from django.views.defaults import server_error as django_server_error

    return django_server_error(request, template_name="500.html")


def service_unavailable(request):
    """503 with Retry-After: the error shape under /api/, a page (templates/503.html) elsewhere.
    The page needs nothing the outage took away: no database, no session, no context processors."""
    from django.http import HttpResponse
    from django.template import loader

    name, value = unavailable.retry_after_header()
    if _is_api(request):
        return json_error_response(503, unavailable.CODE, unavailable.MESSAGE, headers={name: value})
    page = loader.get_template("503.html").render({"retry_after": unavailable.RETRY_AFTER_SECONDS})
    return HttpResponse(page, status=503, headers={name: value})
