from django.apps import AppConfig


class PointsConfig(AppConfig):
    name = "apps.points"
    label = "points"
    verbose_name = "Points"

    def ready(self):
        from apps.points import signals  # noqa: F401 - connects the daily bonus to user_logged_in
        from apps.accounts.services import on_user_created
        from apps.points.services import signup_bonus_grant

        if signup_bonus_grant not in on_user_created:
            on_user_created.append(signup_bonus_grant)
