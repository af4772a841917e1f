from django.apps import AppConfig


class RacesConfig(AppConfig):
    name = "apps.races"
    label = "races"
    verbose_name = "Races"

    def ready(self):
        from apps.feed.selectors import active_symbol_sources

        if active_race_symbols not in active_symbol_sources:
            active_symbol_sources.append(active_race_symbols)


def active_race_symbols() -> set[str]:
    """Symbols of every race open for bets or running: the feed snapshots them every second
    (registered with apps.feed.selectors.active_symbol_sources above)."""
    from apps.races.models import Race, RaceEntry

    return set(RaceEntry.objects.filter(race__state__in=(Race.State.OPEN, Race.State.RUNNING))
               .values_list("stock__symbol", flat=True).distinct())
