"""Staff form: create a race from chosen stocks (or a theme), a duration and a start."""
from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings

from apps.market.models import Stock
from apps.races.models import Race
from apps.races.services import MAX_STOCKS, MIN_STOCKS
from apps.races.themes import SECTOR_PREFIX, THEME_CUSTOM, THEME_TECH, THEME_TOP_GAINERS, sectors


class RaceCreateForm(forms.Form):
    title = forms.CharField(max_length=120, required=False, help_text="Left empty: named after the theme.")
    theme = forms.ChoiceField(help_text="Custom: the stocks below. Any other theme picks the stocks itself.")
    stocks = forms.ModelMultipleChoiceField(queryset=Stock.objects.filter(is_active=True), required=False,
                                            widget=forms.SelectMultiple(attrs={"size": 12}),
                                            help_text=f"{MIN_STOCKS} to {MAX_STOCKS} stocks (custom races).")
    stock_count = forms.IntegerField(min_value=MIN_STOCKS, max_value=MAX_STOCKS, initial=5,
                                     help_text="How many stocks a theme picks.")
    duration = forms.ChoiceField(choices=Race.Duration.choices)
    starts_at = forms.DateTimeField(help_text="UTC, e.g. 2026-11-23 14:30:00.")
    betting_window_seconds = forms.IntegerField(min_value=0, initial=settings.RACE_BETTING_WINDOW_SECONDS)
    session = forms.ChoiceField(
        choices=[("auto", "Full day: the New York session when the start is on a trading day before the open"),
                 ("align", "Full day: the next New York regular session (09:30–16:00)"),
                 ("demo", "Full day: 6 h 30 min from the start (demo)")],
        initial="auto")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["theme"].choices = [(THEME_CUSTOM, "Custom picks"), (THEME_TECH, "Tech only"),
                                        (THEME_TOP_GAINERS, "Top gainers yesterday")] + [
            (f"{SECTOR_PREFIX}{s}", f"Sector: {s}") for s in sectors()]

    def clean(self):
        data = super().clean()
        if data.get("theme") == THEME_CUSTOM:
            count = len(data.get("stocks") or [])
            if not MIN_STOCKS <= count <= MAX_STOCKS:
                self.add_error("stocks", f"Choose {MIN_STOCKS} to {MAX_STOCKS} stocks for a custom race.")
        return data

    def create_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "theme": data["theme"], "duration": data["duration"], "starts_at": data["starts_at"],
            "title": data["title"], "stock_count": data["stock_count"],
            "picks": [s.symbol for s in data["stocks"]] if data["theme"] == THEME_CUSTOM else None,
            "betting_window": timedelta(seconds=data["betting_window_seconds"]),
            "session_aligned": {"auto": None, "align": True, "demo": False}[data["session"]],
        }
