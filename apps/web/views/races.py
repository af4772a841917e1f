"""The race page: betting while open, the live track while running, results once settled.

Each section is also served alone as an htmx partial, so the page refreshes the part that
changed when the race room announces a new state.
"""
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from apps.core.observe import client_info_from_request
from apps.races.models import Race
from apps.web import game
from apps.web.forms import BetForm
from apps.web.selectors.races import (race_cancel_reason, race_finish_order, race_get, race_house_only,
                                      race_leaderboard, race_player_bets, race_player_result)

# Refusals keep the 4xx the game gives them (409, 429...); htmx is configured to swap them in place.
INVALID_STATUS = 400
ODDS_STATES = (Race.State.SCHEDULED, Race.State.OPEN, Race.State.RUNNING)
FINISHED_STATES = (Race.State.CALCULATING, Race.State.COMPLETED)


def _symbols(race: Race) -> list[str]:
    return [entry.stock.symbol for entry in race.entries.all()]


def _context(request, race: Race, **extra) -> dict:
    bets = race_player_bets(race=race, user=request.user)
    settled = race.state == Race.State.COMPLETED
    if settled:
        game.attach_breakdowns(bets=bets, race=race)
    board = race_leaderboard(race=race) if settled else []
    context = {
        "race": race, "entries": race.entries.all(), "my_bets": bets,
        # Published once, fixed for good: shown until the race is decided.
        "odds": game.winner_odds(race=race) if race.state in ODDS_STATES else {},
        "betting_open": race.state == Race.State.OPEN,
        # The final order is locked at the finish, before the payouts are settled.
        "finish": race_finish_order(race=race) if race.state in FINISHED_STATES else [],
        "board": board,
        "house_only": settled and not board and race_house_only(race=race),
        "my_result": race_player_result(bets=bets) if settled else None,
        "cancel_reason": race_cancel_reason(race=race),
    }
    if "form" not in extra and request.user.is_authenticated and context["betting_open"]:
        extra["form"] = BetForm(symbols=_symbols(race))
    context.update(extra)
    return context


@require_GET
def race_detail(request, race_id: int):
    race = race_get(race_id=race_id)
    return render(request, "web/race.html", _context(request, race))


PARTS = {
    "head": "web/partials/race_head.html",
    "betting": "web/partials/bet_panel.html",
    "mybets": "web/partials/my_bets.html",
    "results": "web/partials/race_results.html",
    "field": "web/partials/race_field.html",
    # Every section that depends on the race's state, swapped in place at once (htmx out-of-band).
    "live": "web/partials/race_live.html",
}


@require_GET
def race_part(request, race_id: int, part: str):
    """One section of the race page, for htmx refreshes.

    ``live`` re-renders the page for the race's current state in one answer. With ``?since=<the
    state the page shows>`` and no change since, it sends the header alone (its clock), so the
    page's periodic check never replaces a bet form being filled in.
    """
    if part not in PARTS:
        raise Http404("No such section.")
    race = race_get(race_id=race_id)
    context = _context(request, race)
    context["oob"] = part == "live"
    context["changed"] = request.GET.get("since") != race.state
    return render(request, PARTS[part], context)


@require_GET
def race_bet_preview(request, race_id: int):
    """Odds and potential payout for the bet being filled in (no writes)."""
    race = race_get(race_id=race_id)
    form = BetForm(request.GET, symbols=_symbols(race))
    preview = game.bet_preview(race=race, args=form.bet_arguments()) if form.is_valid() else None
    return render(request, "web/partials/bet_preview.html", {"form": form, "preview": preview, "race": race})


def _panel(request) -> str:
    # Without JavaScript the form posts normally and gets the whole page back.
    return "web/partials/bet_panel.html" if request.htmx else "web/race.html"


@login_required
@require_POST
def race_bet(request, race_id: int):
    """Place a bet from the page: parse the form, call the game's bet_place, show the bet or the reason."""
    race = race_get(race_id=race_id)
    form = BetForm(request.POST, symbols=_symbols(race))
    if not form.is_valid():
        return render(request, _panel(request), _context(request, race, form=form), status=INVALID_STATUS)
    key = (request.POST.get("idempotency_key") or "")[:120] or None
    try:
        bet = game.bet_place(user=request.user, race=race, args=form.bet_arguments(),
                             client=client_info_from_request(request, via="page"), idempotency_key=key)
    except game.BetRefused as refusal:
        race.refresh_from_db(fields=["state"])
        return render(request, _panel(request), _context(request, race, form=form, refusal=str(refusal)),
                      status=refusal.status)
    race.refresh_from_db(fields=["state"])
    response = render(request, _panel(request), _context(request, race, placed=bet))
    # The player's bet list and the balance in the top bar refresh themselves on this event.
    response["HX-Trigger"] = "betPlaced"
    return response
