"""Player, staff and house accounts."""
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    # House bettors keep the lobby lively; they never appear on leaderboards.
    is_house = models.BooleanField(default=False, db_index=True)
    # Set by bot detection: the player can still play, but earns nothing that counts.
    is_shadow_restricted = models.BooleanField(default=False, db_index=True)

    class Meta:
        db_table = "accounts_user"

    def __str__(self) -> str:
        return self.username
