"""Cross-cutting HTTP endpoints: health and JSON error pages for the API."""
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

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
    if _is_api(request):
        return json_error_response(500, "server_error", "Something went wrong on our side; it has been logged.")
    from django.views.defaults import server_error as django_server_error

    return django_server_error(request, template_name="500.html")
