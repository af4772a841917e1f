from django.urls import path

from apps.accounts.api import RegisterView, TokenLoginView, TokenRefreshView
from apps.accounts.tokens_api import WsTicketView

urlpatterns = [
    path("register/", RegisterView.as_view(), name="api-register"),
    path("token/", TokenLoginView.as_view(), name="api-token"),
    path("token/refresh/", TokenRefreshView.as_view(), name="api-token-refresh"),
    path("ws-ticket/", WsTicketView.as_view(), name="api-ws-ticket"),
]
