from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from apps.accounts.api import RegisterView

urlpatterns = [
    path("register/", RegisterView.as_view(), name="api-register"),
    path("token/", TokenObtainPairView.as_view(), name="api-token"),
    path("token/refresh/", TokenRefreshView.as_view(), name="api-token-refresh"),
]
