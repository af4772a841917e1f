from django.urls import path
from rest_framework_simplejwt.views import TokenRefreshView

from apps.accounts.api import RegisterView, TokenLoginView

urlpatterns = [
    path("register/", RegisterView.as_view(), name="api-register"),
    path("token/", TokenLoginView.as_view(), name="api-token"),
    path("token/refresh/", TokenRefreshView.as_view(), name="api-token-refresh"),
]
