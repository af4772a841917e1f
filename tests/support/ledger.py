"""The one balance-equals-ledger assertion."""
from __future__ import annotations

from django.db import connection


def assert_ledger_balanced(*users, balance: int | None = None) -> dict[int, int]:
    """Assert that each account's balance equals the sum of its ledger entries: the accounts of
    ``users`` (users or user ids), or every account when none is given. With ``balance``, also
    that each given user's balance is exactly that. Returns {user id: balance}."""
    ids = [getattr(u, "pk", u) for u in users]
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT a.user_id, a.balance, COALESCE(SUM(l.amount), 0)
            FROM points_pointsaccount a LEFT JOIN points_ledgerentry l ON l.user_id = a.user_id
            {"WHERE a.user_id = ANY(%s)" if ids else ""}
            GROUP BY a.user_id, a.balance
        """, [ids] if ids else [])
        rows = cursor.fetchall()
    missing = set(ids) - {user_id for user_id, _, _ in rows}
    assert not missing, f"no points account for users {sorted(missing)}"
    bad = [(user_id, stored, total) for user_id, stored, total in rows if stored != total]
    assert bad == [], f"balance differs from the ledger sum (user, balance, sum): {bad}"
    found = {user_id: stored for user_id, stored, _ in rows}
    if balance is not None:
        assert ids, "balance= needs the users it is about"
        assert all(found[i] == balance for i in ids), f"balances {found}, expected {balance}"
    return found


def balance_of(user) -> int:
    """The player's balance, asserted equal to the sum of their ledger entries."""
    user_id = getattr(user, "pk", user)
    return assert_ledger_balanced(user_id)[user_id]


def balances() -> dict[int, int]:
    """{user id: balance} of every account (no assertion: for before/after comparisons)."""
    from apps.points.models import PointsAccount

    return dict(PointsAccount.objects.values_list("user_id", "balance"))
