from django.apps import AppConfig


class BadgesConfig(AppConfig):
    name = "apps.badges"
    label = "badges"
    verbose_name = "Badges"
