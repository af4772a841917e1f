"""The ledger's holds: a shadow-restricted player's winnings are held as they are credited (by
credit_many and post themselves), released exactly once, or burned with ledger entries; the
balance equals the ledger's sum throughout, and held equals the hold entries' sum."""
from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from apps.accounts.models import User
from apps.points import ledger
from apps.points.models import LedgerEntry, PointsAccount
from tests.support.factories import UserFactory
from tests.support.ledger import assert_ledger_balanced

pytestmark = pytest.mark.django_db


def assert_held_matches_ledger(user) -> int:
    held = PointsAccount.objects.get(user=user).held
    entries = LedgerEntry.objects.filter(user=user)
    holds = -sum(e.amount for e in entries if e.kind == "hold")
    released = sum(e.amount for e in entries if e.kind == "hold_release")
    assert held == holds - released
    return held


def restrict(user) -> None:
    User.objects.filter(pk=user.pk).update(is_shadow_restricted=True)


def pay(users_amounts: dict, *, kind=ledger.Kind.PAYOUT, tag="t"):
    rows = " UNION ALL ".join(f"SELECT {u.pk}::bigint AS user_id, {a}::bigint AS amount, '{tag}:{u.pk}:{i}' AS key, "
                              f"NULL::bigint AS bet_id, NULL::text AS memo"
                              for i, (u, a) in enumerate(users_amounts.items()))
    with connection.cursor() as cursor:
        ledger.lock_accounts(cursor, user_ids=[u.pk for u in users_amounts])
        return ledger.credit_many(cursor, source_sql=rows, kind=kind, memo="test payout")


def test_credit_many_holds_a_restricted_players_winnings_and_pays_the_others():
    honest, bot = UserFactory(balance=100), UserFactory(balance=100)
    restrict(bot)
    result = pay({honest: 40, bot: 70})
    assert (result.entries, result.points, result.held) == (2, 110, 70)
    assert PointsAccount.objects.get(user=honest).balance == 140
    bot_account = PointsAccount.objects.get(user=bot)
    assert (bot_account.balance, bot_account.held) == (100, 70)
    kinds = list(LedgerEntry.objects.filter(user=bot).order_by("id").values_list("kind", "amount", "balance_after"))
    assert kinds[-2:] == [("payout", 70, 170), ("hold", -70, 100)]
    assert_ledger_balanced(honest, bot)
    assert assert_held_matches_ledger(bot) == 70
    # Paying again with the same keys moves nothing, held or not.
    assert pay({honest: 40, bot: 70}).entries == 0
    assert PointsAccount.objects.get(user=bot).held == 70


def test_several_credits_to_one_restricted_player_each_land_on_the_same_balance():
    bot = UserFactory(balance=10)
    restrict(bot)
    rows = ("SELECT %(u)s::bigint AS user_id, x::bigint AS amount, 'multi:' || x AS key, x::bigint AS bet_id, "
            "NULL::text AS memo FROM generate_series(1, 3) x")
    with connection.cursor() as cursor:
        ledger.lock_accounts(cursor, user_ids=[bot.pk])
        result = ledger.credit_many(cursor, source_sql=rows, params={"u": bot.pk}, kind=ledger.Kind.PAYOUT, memo="m")
    assert result.held == 6
    account = PointsAccount.objects.get(user=bot)
    assert (account.balance, account.held) == (10, 6)
    assert_ledger_balanced(bot)
    assert_held_matches_ledger(bot)


def test_refunds_are_never_held():
    bot = UserFactory(balance=10)
    restrict(bot)
    assert pay({bot: 25}, kind=ledger.Kind.REFUND).held == 0
    assert PointsAccount.objects.get(user=bot).balance == 35


def test_post_holds_a_restricted_players_daily_bonus_but_not_an_adjustment():
    bot = UserFactory(balance=0)
    restrict(bot)
    ledger.post(user_id=bot.pk, amount=100, kind=ledger.Kind.DAILY_BONUS, key=f"daily-test:{bot.pk}")
    ledger.post(user_id=bot.pk, amount=5, kind=ledger.Kind.ADJUSTMENT, key=f"adj-test:{bot.pk}")
    account = PointsAccount.objects.get(user=bot)
    assert (account.balance, account.held) == (5, 100)
    assert_ledger_balanced(bot)
    assert_held_matches_ledger(bot)


def test_release_gives_the_held_points_back_once():
    bot = UserFactory(balance=50)
    restrict(bot)
    pay({bot: 30})
    assert ledger.hold_release(user_id=bot.pk, key=f"release:{bot.pk}:1", memo="cleared") == 30
    assert ledger.hold_release(user_id=bot.pk, key=f"release:{bot.pk}:2", memo="cleared again") == 0
    account = PointsAccount.objects.get(user=bot)
    assert (account.balance, account.held) == (80, 0)
    assert LedgerEntry.objects.filter(user=bot, kind="hold_release").count() == 1
    assert_ledger_balanced(bot)
    assert_held_matches_ledger(bot)


def test_burn_keeps_the_history_and_removes_the_points():
    bot = UserFactory(balance=50)
    restrict(bot)
    pay({bot: 30})
    assert ledger.hold_burn(user_id=bot.pk, key=f"burn:{bot.pk}", memo="banned") == 30
    account = PointsAccount.objects.get(user=bot)
    assert (account.balance, account.held) == (50, 0)
    tail = list(LedgerEntry.objects.filter(user=bot).order_by("id").values_list("kind", "amount", "balance_after"))
    assert tail[-4:] == [("payout", 30, 80), ("hold", -30, 50), ("hold_release", 30, 80), ("burn", -30, 50)]
    assert ledger.hold_burn(user_id=bot.pk, key=f"burn:{bot.pk}:again", memo="banned") == 0
    assert_ledger_balanced(bot)
    assert_held_matches_ledger(bot)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("first,second", [("release", "release"), ("release", "burn")])
def test_two_decisions_at_the_same_moment_move_the_held_points_once(first, second):
    bot = UserFactory(balance=0)
    restrict(bot)
    pay({bot: 500})
    barrier = threading.Barrier(2)
    results, errors = {}, []
    moves = {"release": ledger.hold_release, "burn": ledger.hold_burn}

    def decide(name, how):
        try:
            barrier.wait(timeout=10)
            results[name] = moves[how](user_id=bot.pk, key=f"{name}:{bot.pk}", memo=name)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=decide, args=(f"a-{first}", first)),
               threading.Thread(target=decide, args=(f"b-{second}", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sorted(results.values()) == [0, 500]
    assert PointsAccount.objects.get(user=bot).held == 0
    assert_ledger_balanced(bot)
    assert_held_matches_ledger(bot)


def test_the_player_sees_their_balance_and_statement_as_before(api_client):
    bot = UserFactory(balance=100)
    restrict(bot)
    pay({bot: 30})
    bot.refresh_from_db()
    api_client.force_authenticate(bot)
    assert api_client.get("/api/v1/me/").json()["balance"] == 130
    statement = api_client.get("/api/v1/me/ledger/").json()["results"]
    assert [e["kind"] for e in statement] == ["payout", "adjustment"]
    assert statement[0]["balance_after"] == 130
