"""Files browsers ask for at fixed addresses: /favicon.ico (the admin and the API docs pages name
no icon, so without it every one of them logs a 404)."""
from django.conf import settings
from django.http import FileResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

FAVICON = settings.BASE_DIR / "static" / "icons" / "favicon.ico"


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    return FileResponse(FAVICON.open("rb"), content_type="image/x-icon")
