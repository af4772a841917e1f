"""Shadow restriction and the staff review: a restricted player vanishes from every leaderboard
at once while their own pages read as before; held points are released once (even for two
clears at the same moment) or burned with ledger entries; only staff reach the review API, and
every decision is in the audit trail."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from rest_framework.test import APIClient

from apps.botdetect.models import Blocklist, Decision, Sighting, Suspicion
from apps.botdetect.services import decision_apply
from apps.core.redis import get_redis
from apps.leaderboards import periods
from apps.leaderboards.services import leaderboard_sync_race
from apps.points import ledger
from apps.points.models import LedgerEntry, PointsAccount
from apps.races.models import Race, RaceStanding
from tests.botdetect.test_holds import assert_held_matches_ledger
from tests.support.factories import PASSWORD, BetFactory, RaceFactory, UserFactory
from tests.support.ledger import assert_ledger_balanced


def boards_with(user) -> list[str]:
    client = get_redis()
    keys = [k.decode() if isinstance(k, bytes) else k for k in client.scan_iter(match="lb:*")]
    return sorted(k for k in keys if not k.startswith("lb:synced:") and client.zscore(k, str(user.pk)) is not None)


def standings(race, *rows):
    for rank, (user, points) in enumerate(rows, start=1):
        RaceStanding.objects.create(race=race, user=user, points_won=points, staked=10, bets=1, wins=1, rank=rank)
    leaderboard_sync_race(race_id=race.pk)


def pay(user, amount, key):
    with connection.cursor() as cursor:
        ledger.lock_accounts(cursor, user_ids=[user.pk])
        return ledger.credit_many(cursor, source_sql=f"SELECT {user.pk}::bigint AS user_id, {amount}::bigint AS amount, "
                                                     f"'{key}' AS key, NULL::bigint AS bet_id, NULL::text AS memo",
                                  kind=ledger.Kind.PAYOUT, memo="test")


def staff_client():
    staff = UserFactory(username="referee", is_staff=True)
    client = APIClient()
    client.force_login(staff)
    return client, staff


@pytest.mark.django_db
def test_a_restricted_player_vanishes_from_every_board_and_sees_nothing_different(django_capture_on_commit_callbacks):
    bot, rival = UserFactory(username="botty"), UserFactory(username="rival")
    race = RaceFactory(state=Race.State.COMPLETED)
    open_race = RaceFactory(state=Race.State.OPEN)
    standings(race, (bot, 500), (rival, 100))
    bet = BetFactory(race=open_race, user=bot, symbol="AAA", stake=25)
    on = boards_with(bot)  # global, this week, this month and the race's own board
    assert len(on) == 4 and periods.redis_key("global") in on and periods.race_redis_key(race.pk) in on
    me = APIClient()
    me.force_authenticate(bot)
    before = (me.get("/api/v1/me/").json()["balance"], [b["id"] for b in me.get("/api/v1/me/bets/").json()["results"]])

    client, _ = staff_client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/staff/players/{bot.username}/decision/",
                               {"decision": "restrict", "reason": "bets in ms"}, format="json")
    assert response.status_code == 200, response.json()
    assert boards_with(bot) == [] and len(boards_with(rival)) == 4
    assert [r["username"] for r in client.get("/api/v1/leaderboards/global/").json()["results"]] == ["rival"]
    bot.refresh_from_db()
    me.force_authenticate(bot)
    after = (me.get("/api/v1/me/").json()["balance"], [b["id"] for b in me.get("/api/v1/me/bets/").json()["results"]])
    assert after == before and bet.pk in after[1]
    # Their page shows the same balance and their bet.
    page = Client()
    page.force_login(bot)
    html = page.get(f"/races/{open_race.pk}/").content.decode()
    # Logging in paid the daily bonus, held (the player is restricted) yet shown like any balance.
    account = PointsAccount.objects.get(user=bot)
    assert account.held == 100 and account.balance == before[0]
    assert f"<span data-balance-value>{before[0] + 100:,}</span>" in html
    assert me.get("/api/v1/me/").json()["balance"] == before[0] + 100

    # Cleared: back on the boards.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/v1/staff/players/{bot.username}/decision/", {"decision": "clear", "reason": "a fast thumb"},
                    format="json")
    assert len(boards_with(bot)) == 4


@pytest.mark.django_db
def test_clear_releases_the_held_points_once_and_the_evidence_is_not_flagged_again():
    bot = UserFactory(balance=100)
    Suspicion.objects.create(user=bot, status="restricted", score=80, signals=[
        {"kind": "shared_device", "points": 25, "evidence": {"accounts": [12345]}}])
    type(bot).objects.filter(pk=bot.pk).update(is_shadow_restricted=True)
    pay(bot, 60, "held-payout-1")
    assert PointsAccount.objects.get(user=bot).held == 60
    _, staff = staff_client()
    first = decision_apply(user=bot, staff=staff, decision="clear", reason="checked the replay")
    second = decision_apply(user=bot, staff=staff, decision="clear", reason="clicked twice")
    assert (first.points_moved, second.points_moved) == (60, 0)
    account = PointsAccount.objects.get(user=bot)
    assert (account.balance, account.held) == (160, 0)
    case = Suspicion.objects.get(user=bot)
    assert case.status == "cleared" and case.cleared_at is not None and 12345 in case.cleared_links
    bot.refresh_from_db()
    assert not bot.is_shadow_restricted
    assert_ledger_balanced(bot)
    assert_held_matches_ledger(bot)


@pytest.mark.django_db(transaction=True)
def test_two_clears_through_the_api_at_the_same_moment_release_once():
    bot = UserFactory(balance=0)
    type(bot).objects.filter(pk=bot.pk).update(is_shadow_restricted=True)
    Suspicion.objects.create(user=bot, status="restricted", score=90)
    pay(bot, 300, "held-payout-2")
    staff = UserFactory(username="ref2", is_staff=True)
    barrier, statuses = threading.Barrier(2), []

    def clear(reason):
        try:
            client = APIClient()
            client.force_authenticate(staff)
            barrier.wait(timeout=10)
            statuses.append(client.post(f"/api/v1/staff/players/{bot.username}/decision/",
                                        {"decision": "clear", "reason": reason}, format="json").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=clear, args=(r,)) for r in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [200, 200]
    assert sorted(Decision.objects.filter(user=bot, action="clear").values_list("points_moved", flat=True)) == [0, 300]
    assert LedgerEntry.objects.filter(user=bot, kind="hold_release").count() == 1
    assert PointsAccount.objects.get(user=bot).balance == 300
    assert_ledger_balanced(bot)


@pytest.mark.django_db
def test_ban_burns_the_held_points_disables_and_blocks():
    bot = UserFactory(balance=40)
    type(bot).objects.filter(pk=bot.pk).update(is_shadow_restricted=True)
    pay(bot, 70, "held-payout-3")
    for kind, value in (("address", "192.0.2.7"), ("device", "dev-bot-0007")):
        Sighting.objects.create(user=bot, kind=kind, value=value, first_seen="2026-01-01T00:00Z",
                                last_seen="2026-01-01T00:00Z")
    _, staff = staff_client()
    record = decision_apply(user=bot, staff=staff, decision="ban", reason="signup farm")
    assert record.points_moved == 70
    bot.refresh_from_db()
    assert not bot.is_active and bot.is_shadow_restricted
    kinds = list(LedgerEntry.objects.filter(user=bot).order_by("id").values_list("kind", "amount"))
    assert kinds[-2:] == [("hold_release", 70), ("burn", -70)]
    assert PointsAccount.objects.get(user=bot).held == 0
    assert set(Blocklist.objects.values_list("kind", "value")) == {("address", "192.0.2.7"), ("device", "dev-bot-0007")}
    assert_ledger_balanced(bot)
    assert_held_matches_ledger(bot)
    # The disabled account cannot log in any more.
    assert APIClient().post("/api/v1/auth/token/", {"username": bot.username, "password": PASSWORD},
                            format="json").status_code == 401


@pytest.mark.django_db
def test_the_staff_api_is_for_staff_only_and_every_decision_is_audited():
    player, suspect = UserFactory(username="nosy"), UserFactory(username="suspect")
    Suspicion.objects.create(user=suspect, status="queued", score=55, kinds=1, families={"timing": 40},
                             signals=[{"kind": "timing", "points": 40, "summary": "fast", "evidence": {}}])
    urls = ["/api/v1/staff/review-queue/", f"/api/v1/staff/players/{suspect.username}/signals/"]
    anonymous, as_player = APIClient(), APIClient()
    as_player.force_login(player)
    token = APIClient().post("/api/v1/auth/token/", {"username": "nosy", "password": PASSWORD}, format="json").json()
    for client, extra in ((anonymous, {}), (as_player, {}), (APIClient(), {"HTTP_AUTHORIZATION": f"Bearer {token['access']}"})):
        for url in urls:
            response = client.get(url, **extra)
            assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
        response = client.post(f"/api/v1/staff/players/{suspect.username}/decision/",
                               {"decision": "ban", "reason": "x"}, format="json", **extra)
        assert response.status_code == 403
    staff = UserFactory(username="boss", is_staff=True)
    staff_token = APIClient().post("/api/v1/auth/token/", {"username": "boss", "password": PASSWORD},
                                   format="json").json()["access"]
    jwt = APIClient()
    jwt.credentials(HTTP_AUTHORIZATION=f"Bearer {staff_token}")
    queue = jwt.get("/api/v1/staff/review-queue/").json()["results"]
    assert [(q["username"], q["score"]) for q in queue] == [("suspect", 55.0)]
    detail = jwt.get(f"/api/v1/staff/players/{suspect.username}/signals/").json()
    assert detail["signals"][0]["kind"] == "timing" and detail["status"] == "queued"
    bad = jwt.post(f"/api/v1/staff/players/{suspect.username}/decision/", {"decision": "maybe", "reason": ""},
                   format="json")
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"decision", "reason"}
    assert jwt.post("/api/v1/staff/players/nobody/decision/", {"decision": "clear", "reason": "?"},
                    format="json").status_code == 404
    ok = jwt.post(f"/api/v1/staff/players/{suspect.username}/decision/", {"decision": "restrict", "reason": "timing"},
                  format="json")
    assert ok.status_code == 200 and ok.json()["staff"] == "boss" and ok.json()["action"] == "restrict"
    trail = Decision.objects.get(user=suspect)
    assert (trail.staff, trail.action, trail.reason) == (staff, "restrict", "timing") and trail.at is not None
    assert jwt.get("/api/v1/staff/review-queue/").json()["results"] == []  # decided: out of the queue
    schema = jwt.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "403" in schema["paths"]["/api/v1/staff/players/{username}/decision/"]["post"]["responses"]


@pytest.mark.django_db
def test_the_admin_review_page_shows_the_evidence_and_records_a_decision():
    suspect = UserFactory(username="fastfingers")
    twin = UserFactory(username="twin")
    Suspicion.objects.create(user=suspect, status="restricted", score=75, kinds=2, signals=[
        {"kind": "timing", "family": "timing", "points": 40, "strength": 1, "summary": "4 of 4 races fast",
         "evidence": {"races": 4, "histogram_after_open": {"<100 ms": 4, "later": 0}, "median_ms_after_open": 40,
                      "snipes_before_close": 0}},
        {"kind": "shared_device", "family": "identity", "points": 25, "strength": 1, "summary": "device shared",
         "evidence": {"accounts": [twin.pk]}}])
    staff = UserFactory(username="admin1", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    page = client.get(f"/admin/botdetect/suspicion/{suspect.pk}/review/")
    html = page.content.decode()
    assert page.status_code == 200 and "&lt;100 ms" in html and "twin" in html and "Linked accounts" in html
    listing = client.get("/admin/botdetect/suspicion/")
    assert listing.status_code == 200 and "fastfingers" in listing.content.decode()
    done = client.post(f"/admin/botdetect/suspicion/{suspect.pk}/review/", {"decision": "clear", "reason": "human"})
    assert done.status_code == 302
    assert Decision.objects.get(user=suspect).staff == staff


@pytest.mark.django_db
def test_a_cleared_account_is_flagged_again_only_for_new_evidence(api_client, settings):
    settings.BET_COOLDOWN_SECONDS = 0
    from datetime import timedelta

    from apps.botdetect.services import suspicion_rescore
    from apps.core.redis import redis_now
    from tests.botdetect.conftest import opened

    fast = UserFactory(username="quickdraw")
    api_client.force_authenticate(fast)

    def instant_bets(count, start):
        for i in range(count):
            race = RaceFactory(state=Race.State.OPEN)
            response = api_client.post(f"/api/v1/races/{race.pk}/bets/", {"kind": "winner", "stake": 5, "symbol": "AAA"},
                                       format="json")
            assert response.status_code == 201, response.json()
            placed = start + timedelta(minutes=7 * i, seconds=i * 13.7)
            from apps.bets.models import Bet

            Bet.objects.filter(pk=response.json()["id"]).update(placed_at=placed)
            opened(race, at=placed - timedelta(milliseconds=60))

    instant_bets(4, redis_now() - timedelta(hours=5))
    suspicion_rescore(user_ids=[fast.pk])
    assert Suspicion.objects.get(user=fast).status == "queued"
    _, staff = staff_client()
    decision_apply(user=fast, staff=staff, decision="clear", reason="a fast thumb, checked")
    suspicion_rescore(user_ids=[fast.pk])
    case = Suspicion.objects.get(user=fast)
    assert case.status == "cleared" and case.score == 0  # the same evidence: not flagged again
    instant_bets(4, redis_now() + timedelta(seconds=1))  # new instant bets, after the clearance
    suspicion_rescore(user_ids=[fast.pk])
    assert Suspicion.objects.get(user=fast).status == "queued"


@pytest.mark.django_db
def test_the_audit_trail_cannot_be_edited():
    from django.db import DatabaseError, transaction

    user = UserFactory()
    record = Decision.objects.create(user=user, action="queue", reason="score 45", score=45)
    with pytest.raises(DatabaseError), transaction.atomic():
        Decision.objects.filter(pk=record.pk).update(reason="nothing happened")
    with pytest.raises(DatabaseError), transaction.atomic():
        Decision.objects.filter(pk=record.pk).delete()


@pytest.mark.django_db
def test_botdetect_rescore_recomputes_everyone_with_a_progress_bar():
    from io import StringIO

    from django.core.management import call_command

    from apps.botdetect.models import SignupRecord
    from django.utils import timezone

    now = timezone.now()
    farm = [UserFactory() for _ in range(6)]
    for user in farm:
        SignupRecord.objects.create(user=user, at=now, address="192.0.2.99", network="192.0.2.0/24", via="api")
    out, err = StringIO(), StringIO()
    call_command("botdetect_rescore", stdout=out, stderr=err)
    assert "players rescored" in out.getvalue() and "6 newly queued" in out.getvalue()
    assert "player" in err.getvalue()  # tqdm's bar
    assert Suspicion.objects.filter(user__in=farm, status="queued").count() == 6
