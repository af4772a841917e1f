"""Operators' and staff adjustments go through the ledger; the ledger admin is read-only."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from apps.points.models import LedgerEntry
from tests.support.ledger import assert_ledger_balanced


@pytest.mark.django_db
def test_points_adjust_command_credits_and_debits(player, settings, capsys):
    call_command("points_adjust", "player1", "250", reason="outage refund")
    call_command("points_adjust", str(player.pk), "-50", reason="duplicate credit")
    entries = list(LedgerEntry.objects.filter(user=player, kind="adjustment").order_by("id"))
    assert [e.amount for e in entries] == [250, -50]
    assert entries[0].memo.startswith("outage refund") and entries[0].idempotency_key.startswith("adjust:")
    total = settings.SIGNUP_BONUS + 200
    assert_ledger_balanced(player.pk, balance=total)
    assert "balance now" in capsys.readouterr().out


@pytest.mark.django_db
def test_points_adjust_with_a_key_applies_once(player, settings, capsys):
    call_command("points_adjust", "player1", "100", reason="goodwill", key="ticket-1")
    call_command("points_adjust", "player1", "100", reason="goodwill", key="ticket-1")
    assert "Already applied" in capsys.readouterr().out
    assert LedgerEntry.objects.filter(user=player, kind="adjustment").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("args,kwargs,message", [
    (["nobody", "10"], {"reason": "x"}, "No player"),
    (["player1", "0"], {"reason": "x"}, "non-zero"),
    (["player1", "-5000"], {"reason": "x"}, "Not enough points"),
    (["player1", "10"], {"reason": "  "}, "needs a reason"),
])
def test_points_adjust_refusals_write_nothing(player, args, kwargs, message):
    before = LedgerEntry.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("points_adjust", *args, **kwargs)
    assert LedgerEntry.objects.count() == before


@pytest.fixture
def staff_client(client, django_user_model):
    staff = django_user_model.objects.create_superuser("boss", "boss@example.com", "correct-horse-battery")
    client.force_login(staff)
    return client


@pytest.mark.django_db
def test_admin_action_adjusts_through_the_ledger_once_per_form(staff_client, player, settings):
    url = "/admin/points/pointsaccount/"
    form = staff_client.post(url, {"action": "adjust_points", "_selected_action": [player.pk]})
    assert form.status_code == 200 and b"Adjust points" in form.content
    token = form.context["form"].initial["token"]
    body = {"action": "adjust_points", "_selected_action": [player.pk], "apply": "1", "amount": "75",
            "reason": "contest prize", "token": token}
    assert staff_client.post(url, body).status_code == 302
    assert staff_client.post(url, body).status_code == 302  # the same form sent twice
    entry = LedgerEntry.objects.get(user=player, kind="adjustment")
    assert entry.amount == 75 and "contest prize" in entry.memo and "boss" in entry.memo
    assert_ledger_balanced(player.pk)


@pytest.mark.django_db
def test_admin_pages_and_read_only_ledger(staff_client, player):
    entry = LedgerEntry.objects.get(user=player)
    assert staff_client.get("/admin/points/ledgerentry/").status_code == 200
    assert staff_client.get(f"/admin/points/ledgerentry/{entry.pk}/change/").status_code == 200  # view only
    assert staff_client.post(f"/admin/points/ledgerentry/{entry.pk}/change/", {"amount": 5}).status_code == 403
    assert staff_client.get("/admin/points/ledgerentry/add/").status_code == 403
    assert staff_client.get(f"/admin/points/ledgerentry/{entry.pk}/delete/").status_code == 403
    assert staff_client.get("/admin/points/pointsaccount/").status_code == 200
    assert staff_client.get("/admin/points/pointsaccount/add/").status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).amount == entry.amount


@pytest.mark.django_db
def test_bet_admin_is_read_only(staff_client, player):
    from apps.bets.services import bet_place
    from tests.bets.factories import BetsRaceFactory

    race = BetsRaceFactory()
    bet = bet_place(user=player, race_id=race.pk, kind="winner", stake=5, symbol="AAPL")
    assert staff_client.get("/admin/bets/bet/").status_code == 200
    assert staff_client.get(f"/admin/bets/bet/{bet.pk}/change/").status_code == 200
    assert staff_client.get(f"/admin/bets/bet/{bet.pk}/delete/").status_code == 403
    assert staff_client.get("/admin/bets/raceodds/").status_code == 200
