"""Token login that also grants the daily login bonus (settings SIMPLE_JWT["TOKEN_OBTAIN_SERIALIZER"])."""
from __future__ import annotations

import logging

from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from apps.points.services import daily_bonus_grant

log = logging.getLogger(__name__)


class TokenObtainPairWithBonusSerializer(TokenObtainPairSerializer):
    def validate(self, attrs):
        data = super().validate(attrs)  # raises on bad credentials: no bonus for a failed login
        try:
            daily_bonus_grant(user_id=self.user.pk)
        except Exception:  # noqa: BLE001 - the player still gets their tokens
            log.exception("daily bonus not granted to user %s", self.user.pk)
        return data
