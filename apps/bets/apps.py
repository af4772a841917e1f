from django.apps import AppConfig


class BetsConfig(AppConfig):
    name = "apps.bets"
    label = "bets"
    verbose_name = "Bets"
