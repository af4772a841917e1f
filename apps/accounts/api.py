"""Account API: registration and token login, both held to the fair-play limits.

Registration counts against the sign-up limit per address and per network (the page's limit too:
apps.accounts.throttles) and is refused for a blocked device or network. Token login is locked
out after repeated failures like the login pages (apps.accounts.lockout).
"""
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.views import TokenObtainPairView
from rest_framework_simplejwt.views import TokenRefreshView as SimpleJWTRefreshView

from apps.accounts.lockout import locked_out_error, login_succeeded
from apps.accounts.serializers import RegisterSerializer, UserSerializer
from apps.accounts.services import SignupRefused, signup_allowed, user_logged_in_from, user_register
from apps.accounts.throttles import signup_check
from apps.core.api import ApiError
from apps.core.net import request_client_address
from apps.core.observe import client_info_from_request


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []  # no CSRF needed to create an account from a mobile client
    throttle_classes: list = []  # the sign-up limit below is shared with the page

    @extend_schema(request=RegisterSerializer, responses={
        201: UserSerializer,
        400: OpenApiResponse(description="Invalid username, password or email (the error shape)"),
        403: OpenApiResponse(description="Sign-ups from this device or network are closed"),
        429: OpenApiResponse(description="Too many sign-ups from this address or network; Retry-After says when"),
    })
    def post(self, request):
        info = client_info_from_request(request, via="api")
        signup_check(info.address)
        try:
            signup_allowed(info)
        except SignupRefused as exc:
            raise ApiError(str(exc), code="signup_blocked", status_code=403)
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = user_register(**data.validated_data, client=info)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


_ACCESS_MINUTES = int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() // 60)
_REFRESH_DAYS = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].days
TOKEN_PAIR = inline_serializer("TokenPair", fields={
    "access": serializers.CharField(help_text=f"Access token (JWT), valid {_ACCESS_MINUTES} minutes."),
    "refresh": serializers.CharField(help_text=f"Refresh token (JWT), valid {_REFRESH_DAYS} days."),
})


class TokenLoginView(TokenObtainPairView):
    """simplejwt's token pair, refused with 429 while the username is locked out from this address."""

    @extend_schema(responses={
        200: OpenApiResponse(TOKEN_PAIR, description="A JWT pair: send `access` as `Authorization: Bearer <access>`; "
                                                     "exchange `refresh` at /api/v1/auth/token/refresh/ for a new one."),
        401: OpenApiResponse(description="Wrong username or password (the error shape)"),
        429: OpenApiResponse(description="Locked out after repeated failures; Retry-After says when"),
    })
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise InvalidToken(exc.args[0])
        except Exception:
            # axes marks the DRF request it was handed when this failure locked the pair out, or
            # when it refused an attempt already locked out.
            if getattr(request, "axes_locked_out", False):
                username = request.data.get("username") if hasattr(request.data, "get") else None
                raise locked_out_error(username=username, address=request_client_address(request))
            raise
        login_succeeded(request=request, user=serializer.user)
        user_logged_in_from(user=serializer.user, info=client_info_from_request(request, via="api"))
        return Response(serializer.validated_data, status=status.HTTP_200_OK)


class TokenRefreshView(SimpleJWTRefreshView):
    """simplejwt's refresh (rotating: the old refresh token is blacklisted), with its refusal documented."""

    @extend_schema(responses={
        200: OpenApiResponse(TOKEN_PAIR, description="A new JWT pair; the refresh token sent is no longer valid."),
        401: OpenApiResponse(description="The refresh token is not valid, has expired, was already used or was "
                                         "revoked by a password change (`token_not_valid`)"),
    })
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
