from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.views import healthz, livez, websocket_docs

admin.site.site_header = "StockRace staff"
admin.site.site_title = "StockRace staff"

# Each app owns its API routes in apps/<app>/api_urls.py, mounted under /api/v1/.
api_v1 = [
    path("auth/", include("apps.accounts.api_urls")),
    path("", include("apps.market.api_urls")),
    path("", include("apps.races.api_urls")),
    path("", include("apps.bets.api_urls")),
    path("", include("apps.points.api_urls")),
    path("", include("apps.leaderboards.api_urls")),
    path("", include("apps.badges.api_urls")),
    path("", include("apps.markets.api_urls")),
    path("", include("apps.botdetect.api_urls")),  # staff only: the fair-play review queue
    path("", include("apps.trading.api_urls")),
    path("", include("apps.web.api_urls")),  # the watchlist
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),  # the process answers; nothing else checked
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/websockets/", websocket_docs, name="api-docs-websockets"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("apps.accounts.urls")),
    path("", include("apps.trading.urls")),
    path("", include("apps.markets.urls")),
    path("", include("apps.web.urls")),
]

handler404 = "apps.core.views.not_found"
handler500 = "apps.core.views.server_error"
