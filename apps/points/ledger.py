"""The one module that moves points: every ledger entry in the code base is written here.

A movement of points is an append-only ``points_ledgerentry`` row written in the same
transaction as a conditional UPDATE of the player's ``points_pointsaccount`` balance, and it
carries an idempotency key (unique in the database), so a retried operation finds its first
entry instead of moving points twice. Nothing reads a balance into Python to write it back.

Three ways in, one set of columns:

- ``post`` — one credit or debit (bonuses, adjustments, trades, market trades…), in its own
  savepoint, so callers may run it inside a larger transaction with their other writes;
- ``credit_many`` — set-based credits from a SQL source of (user, amount, key) rows, for
  settlement payouts, refunds, rewards and market resolutions: one statement, however many;
- ``stake_debit_sql`` / ``entry_insert_sql`` — the SQL pieces the one-statement bet
  (apps.bets.placement_sql) is built from, so even that path writes its entry with this
  module's columns and conditions.

Locks: callers that touch several accounts lock them with ``lock_accounts`` (user id order,
the same order everywhere), after any row of their own domain (race, market, order) they lock
first. ``LedgerEntry.Kind`` lists every kind of movement.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper

from apps.points.models import LedgerEntry, PointsAccount

Kind = LedgerEntry.Kind
MEMO_MAX = 200
KEY_MAX = 160


class InsufficientPoints(Exception):
    """A debit that would take a balance below zero; nothing was written."""

    def __init__(self, balance: int, needed: int):
        super().__init__(f"Not enough points: you have {balance}, this needs {needed}.")
        self.balance = balance
        self.needed = needed


# --------------------------------------------------------------------------- one movement

_MOVE_SQL = """
WITH moved AS (
    UPDATE points_pointsaccount SET balance = balance + %(amount)s, updated_at = now()
    WHERE user_id = %(user)s AND balance + %(amount)s >= 0
    RETURNING balance
)
INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id,
                                memo, created_at)
SELECT %(user)s, %(amount)s, %(kind)s, %(key)s, moved.balance, %(race)s, %(bet)s, %(memo)s, now()
FROM moved
RETURNING id, balance_after, created_at
"""


def account_open(*, user_id: int) -> None:
    """Give a player a points account (balance 0) if they have none; idempotent."""
    PointsAccount.objects.get_or_create(user_id=user_id)


def post(*, user_id: int, amount: int, kind: str, key: str, race_id: int | None = None,
         bet_id: int | None = None, memo: str = "") -> tuple[LedgerEntry, bool]:
    """Credit (amount > 0) or debit (amount < 0) one player's points.

    Returns (entry, created). A second call with the same key returns the first entry and
    changes nothing. A debit that would overdraw raises InsufficientPoints and writes nothing;
    an account that does not exist raises PointsAccount.DoesNotExist. The balance update and the
    entry are one statement in a savepoint: callers may wrap it in their own transaction, and
    their other writes then commit or roll back with it.
    """
    amount = int(amount)
    if amount == 0:
        raise ValueError("a ledger entry moves a non-zero amount")
    if not key or len(key) > KEY_MAX:
        raise ValueError(f"an idempotency key has 1 to {KEY_MAX} characters")
    existing = LedgerEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing, False
    memo = (memo or "")[:MEMO_MAX]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_MOVE_SQL, {"amount": amount, "user": user_id, "kind": kind, "key": key,
                                       "race": race_id, "bet": bet_id, "memo": memo})
            row = cursor.fetchone()
            if row is None:
                balance = PointsAccount.objects.filter(user_id=user_id).values_list("balance", flat=True).first()
                if balance is None:
                    raise PointsAccount.DoesNotExist(f"user {user_id} has no points account")
                raise InsufficientPoints(balance, -amount)
    except IntegrityError:
        # Someone posted the same key between our check and our insert: theirs stands.
        existing = LedgerEntry.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False
    entry_id, balance_after, created_at = row
    entry = LedgerEntry(pk=entry_id, user_id=user_id, amount=amount, kind=kind, idempotency_key=key,
                        balance_after=balance_after, race_id=race_id, bet_id=bet_id, memo=memo,
                        created_at=created_at)
    entry._state.adding = False
    return entry, True


def credit(*, user_id: int, amount: int, kind: str, key: str, **extra) -> tuple[LedgerEntry, bool]:
    """``post`` of a positive amount."""
    if int(amount) <= 0:
        raise ValueError("a credit moves a positive amount")
    return post(user_id=user_id, amount=amount, kind=kind, key=key, **extra)


def debit(*, user_id: int, amount: int, kind: str, key: str, **extra) -> tuple[LedgerEntry, bool]:
    """``post`` of ``-amount`` (amount > 0): raises InsufficientPoints rather than overdraw."""
    if int(amount) <= 0:
        raise ValueError("a debit moves a positive amount")
    return post(user_id=user_id, amount=-int(amount), kind=kind, key=key, **extra)


_TOP_UP_SQL = """
WITH old AS (
    SELECT balance FROM points_pointsaccount WHERE user_id = %(user)s AND balance < %(below)s FOR UPDATE
),
moved AS (
    UPDATE points_pointsaccount a SET balance = %(target)s, updated_at = now()
    FROM old WHERE a.user_id = %(user)s
    RETURNING a.balance, %(target)s - old.balance AS amount
)
INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id,
                                memo, created_at)
SELECT %(user)s, moved.amount, %(kind)s, %(key)s, moved.balance, NULL, NULL, %(memo)s, now()
FROM moved
RETURNING amount
"""


def top_up(*, user_id: int, to: int, below: int, kind: str, key: str, memo: str = "") -> int:
    """Bring a balance under ``below`` up to ``to`` (the house bankroll), as one entry.

    The amount is computed in the statement from the locked row, never from a balance read
    earlier. Returns the points credited (0 when the balance was not under ``below`` or the key
    was used already).
    """
    if not 0 < below <= to:
        raise ValueError("a top-up needs 0 < below <= to")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_TOP_UP_SQL, {"user": user_id, "below": below, "target": to, "kind": kind, "key": key,
                                         "memo": (memo or "")[:MEMO_MAX]})
            row = cursor.fetchone()
    except IntegrityError:
        return 0  # this key was credited before
    return int(row[0]) if row else 0


# --------------------------------------------------------------------------- locking


def lock_accounts(cursor: CursorWrapper, *, user_ids: Iterable[int] | None = None,
                  user_ids_sql: str | None = None, params: dict | None = None) -> None:
    """Lock points accounts FOR UPDATE in user id order (the one order every writer uses).

    Pass the ids, or a SQL query returning a ``user_id`` column (with its named params).
    """
    if (user_ids is None) == (user_ids_sql is None):
        raise ValueError("pass user_ids or user_ids_sql")
    if user_ids is not None:
        cursor.execute("SELECT user_id FROM points_pointsaccount WHERE user_id = ANY(%(users)s) "
                       "ORDER BY user_id FOR UPDATE", {"users": sorted({int(u) for u in user_ids})})
    else:
        cursor.execute(f"SELECT user_id FROM points_pointsaccount WHERE user_id IN ({user_ids_sql}) "
                       f"ORDER BY user_id FOR UPDATE", params or {})


# --------------------------------------------------------------------------- many credits


@dataclass(frozen=True)
class Credited:
    entries: int
    points: int
    rows: list[tuple[int, int, str]] | None = None  # (user_id, amount, key) when asked for


_CREDIT_MANY_SQL = """
WITH source AS ({source}),
todo AS (
    SELECT s.user_id, s.amount, s.key, s.bet_id, s.memo FROM source s
    WHERE s.amount > 0
      AND NOT EXISTS (SELECT 1 FROM points_ledgerentry l WHERE l.idempotency_key = s.key)
),
numbered AS (
    SELECT t.*, a.balance + SUM(t.amount) OVER (PARTITION BY t.user_id ORDER BY t.bet_id, t.key) AS balance_after
    FROM todo t JOIN points_pointsaccount a ON a.user_id = t.user_id
),
inserted AS (
    INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id,
                                    memo, created_at)
    SELECT n.user_id, n.amount, %(__kind)s, n.key, n.balance_after, %(__race)s, n.bet_id,
           left(COALESCE(n.memo, %(__memo)s), 200), now()
    FROM numbered n
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING user_id, amount, idempotency_key
),
per_user AS (SELECT user_id, SUM(amount) AS total FROM inserted GROUP BY user_id),
credited AS (
    UPDATE points_pointsaccount a SET balance = a.balance + p.total, updated_at = now()
    FROM per_user p WHERE a.user_id = p.user_id
    RETURNING a.user_id
)
"""
_TOTALS = "SELECT (SELECT COUNT(*) FROM inserted), (SELECT COALESCE(SUM(amount), 0) FROM inserted), " \
          "(SELECT COUNT(*) FROM credited)"
_ROWS = "SELECT i.user_id, i.amount, i.idempotency_key, (SELECT COUNT(*) FROM credited) FROM inserted i"


def credit_many(cursor: CursorWrapper, *, source_sql: str, params: dict | None = None, kind: str,
                memo: str, race_id: int | None = None, rows: bool = False) -> Credited:
    """Credit one ledger entry per row of ``source_sql``, in one statement.

    The source yields ``user_id``, ``amount``, ``key`` (the idempotency key), ``bet_id`` (or
    NULL) and ``memo`` (or NULL for ``memo``). Rows with amount <= 0 and keys already in the
    ledger are skipped, and each account is credited by the sum of the entries actually
    inserted, so a credit is never paid twice however often this runs. The caller holds the
    accounts locked (``lock_accounts``) inside its transaction. With ``rows`` it also returns
    what was credited.
    """
    sql = _CREDIT_MANY_SQL.format(source=source_sql) + (_ROWS if rows else _TOTALS)
    cursor.execute(sql, {**(params or {}), "__kind": kind, "__race": race_id, "__memo": memo[:MEMO_MAX]})
    if rows:
        fetched = cursor.fetchall()
        credited = [(int(u), int(a), k) for u, a, k, _ in fetched]
        return Credited(entries=len(credited), points=sum(a for _, a, _ in credited), rows=credited)
    entries, points, _ = cursor.fetchone()
    return Credited(entries=int(entries), points=int(points))


# --------------------------------------------------------------------------- the bet statement


def stake_debit_sql(*, user: str, amount: str, also_set: str = "", also_where: str = "") -> str:
    """The conditional debit of one account as a SQL statement for a CTE (``RETURNING balance``).

    ``user`` and ``amount`` are SQL expressions (placeholders); ``also_set`` / ``also_where``
    add the caller's own columns and conditions (the bet's cooldown), never the balance rule.
    """
    return (f"UPDATE points_pointsaccount SET balance = balance - {amount}, updated_at = now(){also_set}\n"
            f"    WHERE user_id = {user} AND balance >= {amount}{also_where}\n"
            f"    RETURNING balance")


def entry_insert_sql(*, user: str, amount: str, kind: str, key: str, balance_after: str, race: str = "NULL",
                     bet: str = "NULL", memo: str = "''", created_at: str = "now()", from_: str,
                     returning: str = "id") -> str:
    """One ledger entry as a SQL statement for a CTE, each column given as a SQL expression."""
    return (f"INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, "
            f"bet_id, memo, created_at)\n"
            f"    SELECT {user}, {amount}, {kind}, {key}, {balance_after}, {race}, {bet}, {memo}, {created_at}\n"
            f"    FROM {from_}\n"
            f"    RETURNING {returning}")
