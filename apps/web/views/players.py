"""Profiles (own and public) and the leaderboards."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from apps.web import game
from apps.web.selectors.players import (BOARDS, leaderboard, player_badges, player_balance, player_bets, player_get,
                                        player_ledger, player_ranks, player_stats, player_streak)


@login_required
@require_GET
def me(request):
    return redirect("profile", username=request.user.username)


@require_GET
def profile(request, username: str):
    player = player_get(username=username)
    own = request.user.is_authenticated and request.user.pk == player.pk
    badges = player_badges(user=player)
    bets = player_bets(user=player, settled_only=not own)
    game.attach_outcomes(bets=bets)  # a partial podium shows as partly right
    context = {
        "player": player, "own": own, "stats": player_stats(user=player), "streak": player_streak(user=player),
        "badges": badges, "badges_earned": sum(b.earned for b in badges), "ranks": player_ranks(user=player),
        # Others see settled bets only: open bets would tip off the rest of a race's field.
        "bets": bets,
    }
    if own:
        context["balance"] = player_balance(user=player)
        context["ledger"] = player_ledger(user=player)
    return render(request, "web/profile.html", context)


@require_GET
def balance_badge(request):
    """The balance pill in the top bar, refreshed after a bet."""
    balance = player_balance(user=request.user) if request.user.is_authenticated else None
    return render(request, "web/partials/balance.html", {"balance": balance})


@require_GET
def leaderboards(request):
    board = request.GET.get("board", "global")
    if board not in BOARDS:
        board = "global"
    template = "web/partials/leaderboard_table.html" if request.htmx else "web/leaderboards.html"
    page = leaderboard(board=board)
    return render(request, template, {"board": board, "boards": BOARDS, "rows": page["rows"],
                                      "period": page["period"]})
