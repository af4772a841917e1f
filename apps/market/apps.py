from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "apps.market"
    label = "market"
    verbose_name = "Market data"

    def ready(self):
        from apps.core.health import CHECKS
        from apps.market.health import market_data_check

        CHECKS.setdefault("market_data", market_data_check)
