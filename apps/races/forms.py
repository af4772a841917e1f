"""Staff form: create a race from chosen stocks (or a theme), a duration and a start.

Times are read and shown in the staff member's own time zone (the browser's, sent in a hidden
field); a start in the past, or too soon to leave the betting window, is refused, and so are
stocks the market-data feed does not carry.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.utils import timezone as dj_timezone

from apps.core.redis import redis_now
from apps.core.timezones import zone_named
from apps.market.models import Stock
from apps.races.models import Race, RaceEntry
from apps.races.services import MAX_STOCKS, MIN_STOCKS, race_window
from apps.races.themes import (SECTOR_PREFIX, THEME_CUSTOM, THEME_TECH, THEME_TOP_GAINERS, no_feed_message, sectors,
                               unquoted_symbols)

MIN_BETTING_WINDOW_SECONDS = 60
SESSION_ALIGNED = {"auto": None, "align": True, "demo": False}


staff_zone = zone_named  # the zone the browser reported in the form's hidden field, or UTC


def _span(delta: timedelta) -> str:
    """45 seconds, 1 minute, 5 minutes."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = round(seconds / 60)
    return f"{minutes} minutes"


class RaceCreateForm(forms.Form):
    title = forms.CharField(max_length=120, required=False, help_text="Left empty: named after the theme.")
    theme = forms.ChoiceField(help_text="Custom: the stocks below. Any other theme picks the stocks itself, "
                                        "among those with a live quote.")
    stocks = forms.ModelMultipleChoiceField(
        queryset=Stock.objects.filter(is_active=True), required=False,
        widget=AutocompleteSelectMultiple(RaceEntry._meta.get_field("stock"), admin.site),
        help_text=f"{MIN_STOCKS} to {MAX_STOCKS} stocks (custom races): type a symbol or a name to search. "
                  "Only stocks with a live quote can race.")
    stock_count = forms.IntegerField(min_value=MIN_STOCKS, max_value=MAX_STOCKS, initial=5,
                                     help_text="How many stocks a theme picks.")
    duration = forms.ChoiceField(choices=Race.Duration.choices)
    start_in_minutes = forms.IntegerField(
        required=False, min_value=1, max_value=7 * 24 * 60, label="Start in (minutes)",
        help_text="Start this many minutes from now; or leave it empty and give a start time below.")
    starts_at = forms.DateTimeField(
        required=False, label="Or start at", input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                                                             "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 60}, format="%Y-%m-%dT%H:%M"),
        help_text="In your time zone.")
    betting_window_seconds = forms.IntegerField(
        min_value=MIN_BETTING_WINDOW_SECONDS, initial=settings.RACE_BETTING_WINDOW_SECONDS,
        label="Betting window (seconds)", help_text="Betting opens this long before the start.")
    session = forms.ChoiceField(
        choices=[("auto", "Full day: the New York session when the start is on a trading day before the open"),
                 ("align", "Full day: the next New York regular session (09:30–16:00)"),
                 ("demo", "Full day: 6 h 30 min from the start (demo)")],
        initial="auto")
    # Filled in by the page's script from the browser (Intl.DateTimeFormat); UTC without it.
    tz = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, now: datetime | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = now
        self.fields["theme"].choices = [(THEME_CUSTOM, "Custom picks"), (THEME_TECH, "Tech only"),
                                        (THEME_TOP_GAINERS, "Top gainers yesterday")] + [
            (f"{SECTOR_PREFIX}{s}", f"Sector: {s}") for s in sectors()]

    @property
    def zone(self) -> ZoneInfo:
        return staff_zone((self.data.get("tz") if self.is_bound else self.initial.get("tz")) or "")

    def local(self, moment: datetime) -> str:
        """A time as the staff member reads it: 2030-01-02 16:00 (Europe/Paris)."""
        return f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M} ({self.zone.key})"

    def clean(self):
        data = super().clean()
        if data.get("theme") == THEME_CUSTOM:
            stocks = list(data.get("stocks") or [])
            if not MIN_STOCKS <= len(stocks) <= MAX_STOCKS:
                self.add_error("stocks", f"Choose {MIN_STOCKS} to {MAX_STOCKS} stocks for a custom race.")
            else:
                missing = unquoted_symbols([s.symbol for s in stocks])
                if missing:
                    self.add_error("stocks", no_feed_message(missing))
        self._clean_start(data)
        return data

    def _clean_start(self, data: dict) -> None:
        minutes, wall = data.get("start_in_minutes"), data.get("starts_at")
        if "start_in_minutes" in self.errors or "starts_at" in self.errors:
            return
        now = self.now or redis_now()
        if minutes is not None and wall is not None:
            self.add_error("start_in_minutes", "Give a number of minutes or a start time, not both.")
            return
        if minutes is None and wall is None:
            self.add_error("starts_at", "Give a start time, or a number of minutes from now.")
            return
        if minutes is not None:
            start = now + timedelta(minutes=minutes)
        else:
            # The field read the wall-clock time in the server's zone; it was meant in the staff's.
            start = dj_timezone.make_naive(wall).replace(tzinfo=self.zone)
        data["starts_at"] = start
        window = data.get("betting_window_seconds")
        if window is None or data.get("duration") not in Race.Duration.values:
            return
        effective, _ = race_window(duration=data["duration"], starts_at=start,
                                   session_aligned=SESSION_ALIGNED.get(data.get("session"), None))
        field = "start_in_minutes" if minutes is not None else "starts_at"
        if effective <= now:
            self.add_error(field, f"That start is in the past: {self.local(effective)}, and it is now "
                                  f"{self.local(now)}.")
        elif effective - now < timedelta(seconds=window):
            earliest = now + timedelta(seconds=window)
            self.add_error(field, f"Starting at {self.local(effective)} leaves {_span(effective - now)} to bet, "
                                  f"less than the betting window of {_span(timedelta(seconds=window))}: start at "
                                  f"{self.local(earliest)} or later, or shorten the window.")

    def create_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "theme": data["theme"], "duration": data["duration"], "starts_at": data["starts_at"],
            "title": data["title"], "stock_count": data["stock_count"],
            "picks": [s.symbol for s in data["stocks"]] if data["theme"] == THEME_CUSTOM else None,
            "betting_window": timedelta(seconds=data["betting_window_seconds"]),
            "session_aligned": SESSION_ALIGNED[data["session"]],
        }
