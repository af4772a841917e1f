"""seed_demo makes a playable demo and is safe to run again."""
import pytest
from django.core.management import call_command

from apps.market.models import Stock
from apps.points.models import PointsAccount
from apps.races.models import Race

pytestmark = pytest.mark.django_db


def counts():
    from django.contrib.auth import get_user_model

    return (Stock.objects.count(), get_user_model().objects.count(), Race.objects.count(),
            PointsAccount.objects.count())


def test_seed_demo_builds_a_playable_demo_and_is_idempotent(django_user_model):
    call_command("seed_demo")
    assert Stock.objects.count() >= 40
    assert Stock.objects.values("sector").distinct().count() >= 8
    assert not Stock.objects.filter(market_cap__isnull=True).exists()
    assert django_user_model.objects.get(username="staff").is_staff
    players = django_user_model.objects.filter(username__in=["alice", "bob", "carol"])
    assert players.count() == 3
    assert all(PointsAccount.objects.get(user=p).balance > 0 for p in players)
    demo_titles = ["Morning Sprint: Mega-cap Tech", "Bank Run", "Energy Hour", "Full-Day Marathon"]
    demo = Race.objects.filter(title__in=demo_titles)
    assert set(demo.values_list("duration", flat=True)) == {"5m", "15m", "1h", "1d"}
    assert all(3 <= race.entries.count() <= 8 for race in demo)

    before = counts()
    call_command("seed_demo")
    assert counts() == before
