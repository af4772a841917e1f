"""Account API: registration (tokens come from simplejwt's views)."""
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.accounts.serializers import RegisterSerializer, UserSerializer
from apps.accounts.services import user_register


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []  # no CSRF needed to create an account from a mobile client
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "register"

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer})
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = user_register(**data.validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)
