"""Seed a playable demo: stocks, a staff account, a few players and upcoming races.

Safe to run again: accounts and stocks are upserted, and races are only added for the
durations that have no upcoming demo race.
"""
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.services import user_register
from apps.core.redis import redis_now
from apps.market.models import Stock
from apps.market.services import stock_upsert_demo_universe
from apps.points.services import signup_bonus_grant
from apps.races.models import Race
from apps.races.services import race_create

STAFF = ("staff", "staff-demo-pass")
PLAYERS = [("alice", "alice-demo-pass"), ("bob", "bob-demo-pass"), ("carol", "carol-demo-pass")]
DEMO_LOGINS = [STAFF, *PLAYERS]

DEMO_RACES = [
    # duration, title, theme, symbols, minutes from now to the start
    (Race.Duration.SPRINT_5M, "Morning Sprint: Mega-cap Tech", "tech", ["AAPL", "MSFT", "NVDA", "GOOGL", "META"], 4),
    (Race.Duration.QUARTER_15M, "Bank Run", "sector:Financials", ["JPM", "BAC", "GS", "V"], 6),
    (Race.Duration.HOUR_1H, "Energy Hour", "sector:Energy", ["XOM", "CVX", "COP", "SLB"], 8),
    (Race.Duration.DAY, "Full-Day Marathon", "custom", ["AMZN", "TSLA", "NFLX", "DIS", "KO", "WMT"], 10),
]


class Command(BaseCommand):
    help = "Create or refresh the demo: stocks, staff and player accounts, upcoming races of every duration."

    def handle(self, *args, **options):
        created, updated = stock_upsert_demo_universe()
        sectors = Stock.objects.values("sector").distinct().count()
        self.stdout.write(f"stocks: {created} created, {updated} refreshed, {sectors} sectors")

        User = get_user_model()
        with transaction.atomic():
            staff, was_new = User.objects.get_or_create(username=STAFF[0], defaults={"is_staff": True,
                                                                                    "is_superuser": True})
            if was_new:
                staff.set_password(STAFF[1])
                staff.save()
            for username, password in PLAYERS:
                user = User.objects.filter(username=username).first()
                if user is None:
                    user_register(username=username, password=password)
                else:
                    signup_bonus_grant(user)  # idempotent: accounts seeded before points existed
        self.stdout.write(f"accounts: staff '{STAFF[0]}', players {', '.join(p for p, _ in PLAYERS)}")

        now = redis_now()
        added = 0
        for duration, title, theme, symbols, minutes in DEMO_RACES:
            # One demo race per title at a time: a restart does not pile up copies of races
            # that are still open or running.
            live = Race.objects.filter(title=title, state__in=[Race.State.SCHEDULED, Race.State.OPEN,
                                                               Race.State.RUNNING])
            if live.exists():
                continue
            race_create(title=title, duration=duration, symbols=symbols, theme=theme,
                        starts_at=now + timedelta(minutes=minutes), betting_window=timedelta(minutes=minutes))
            added += 1
        self.stdout.write(self.style.SUCCESS(f"races: {added} added; demo ready"))
