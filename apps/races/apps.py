from django.apps import AppConfig


class RacesConfig(AppConfig):
    name = "apps.races"
    label = "races"
    verbose_name = "Races"

    def ready(self):
        from apps.feed.selectors import active_symbol_sources
        from apps.races.selectors import active_race_symbols

        if active_race_symbols not in active_symbol_sources:
            active_symbol_sources.append(active_race_symbols)
