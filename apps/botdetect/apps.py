from django.apps import AppConfig


class BotdetectConfig(AppConfig):
    name = "apps.botdetect"
    label = "botdetect"
    verbose_name = "Bot detection"
