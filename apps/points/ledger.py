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

Holds (fair play, apps.botdetect; docs/FAIRPLAY.md). A shadow-restricted player's winnings —
credits of a kind in ``HELD_KINDS`` — are set aside as they are credited, by ``post`` and
``credit_many`` themselves, so no caller special-cases them: the credit entry (+x) is followed in
the same statement by a ``hold`` entry (-x, key ``hold:{credit key}``) that moves x from
``balance`` to ``held``. Held points cannot be staked and count nowhere. Staff then either
``hold_release`` them (one ``hold_release`` entry, +held, back into the balance) or
``hold_burn`` them (``hold_release`` +held then ``burn`` -held: history kept, points gone).
Both take the account row lock and zero ``held`` in the statement that reads it, so however many
decisions arrive at once, the points move once. Invariants: balance == SUM(amount), and
held == -SUM(amount of hold entries) - SUM(amount of hold_release entries).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable

from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper

from apps.points.models import LedgerEntry, PointsAccount

log = logging.getLogger(__name__)
Kind = LedgerEntry.Kind
MEMO_MAX = 200
KEY_MAX = 160
# Winnings: held from a shadow-restricted player as they are credited (refunds, adjustments,
# trades and the like are the player's own points and are never held).
HELD_KINDS = frozenset({Kind.PAYOUT, Kind.BADGE_REWARD, Kind.DAILY_BONUS, Kind.MARKET_PAYOUT})
HOLD_KEY_PREFIX = "hold:"
HOLD_MEMO = "Held for fair-play review"
# What a player is shown as their balance (their own views: held points included).
SHOWN_BALANCE_SQL = "balance + held"


# --------------------------------------------------------------------------- balance push


def balances_push_on_commit(user_ids: Iterable[int]) -> None:
    """After the surrounding transaction commits, tell each player's /ws/me/ their balance
    (``{"type": "balance", "balance": N}``, the balance they are shown, read after the commit so
    it is the newest). Every function here that moves points calls it, so no caller has to; the
    bet statement is the exception: its ``bet_confirmed`` event carries the balance already."""
    ids = sorted({int(u) for u in user_ids})
    if ids:
        transaction.on_commit(lambda: _balances_push(ids))


def _balances_push(user_ids: list[int]) -> None:
    from apps.core.events import user_event_publish_later

    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT user_id, {SHOWN_BALANCE_SQL} FROM points_pointsaccount "
                           "WHERE user_id = ANY(%s)", [user_ids])
            rows = cursor.fetchall()
        for user_id, balance in rows:
            user_event_publish_later(user_id=user_id, payload={"type": "balance", "balance": int(balance)})
    except Exception:  # noqa: BLE001 - after the commit: a lost push must not fail the caller
        log.exception("balance push to %d players failed", len(user_ids))


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


# The hold that follows a credit to a restricted player (no row, so no entry, for anyone else).
_HOLD_ONE_SQL = """
WITH moved AS (
    UPDATE points_pointsaccount a SET balance = a.balance - %(amount)s, held = a.held + %(amount)s, updated_at = now()
    FROM accounts_user u
    WHERE a.user_id = %(user)s AND u.id = a.user_id AND u.is_shadow_restricted
    RETURNING a.balance
)
INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id,
                                memo, created_at)
SELECT %(user)s, -%(amount)s, 'hold', %(key)s, moved.balance, %(race)s, %(bet)s, %(memo)s, now()
FROM moved
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
            if amount > 0 and kind in HELD_KINDS:  # a restricted player's winnings go to held at once
                cursor.execute(_HOLD_ONE_SQL, {"amount": amount, "user": user_id, "key": HOLD_KEY_PREFIX + key,
                                               "race": race_id, "bet": bet_id, "memo": HOLD_MEMO})
    except IntegrityError:
        # Someone posted the same key between our check and our insert: theirs stands.
        existing = LedgerEntry.objects.filter(idempotency_key=key).first()
        if existing is None:
            raise
        return existing, False
    balances_push_on_commit([user_id])
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
    if row:
        balances_push_on_commit([user_id])
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
    held: int = 0  # of ``points``, set aside for restricted players (HELD_KINDS only)


_CREDIT_MANY_SQL = """
WITH source AS ({source}),
todo AS (
    SELECT s.user_id, s.amount, s.key, s.bet_id, s.memo FROM source s
    WHERE s.amount > 0
      AND NOT EXISTS (SELECT 1 FROM points_ledgerentry l WHERE l.idempotency_key = s.key)
),
numbered AS ({numbered}),
inserted AS (
    INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id,
                                    memo, created_at)
    SELECT n.user_id, n.amount, %(__kind)s, n.key, n.balance_after, %(__race)s, n.bet_id,
           left(COALESCE(n.memo, %(__memo)s), 200), now()
    FROM numbered n
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING user_id, amount, idempotency_key
),{holds}
per_user AS ({per_user}),
credited AS (
    UPDATE points_pointsaccount a SET {set_balance}, updated_at = now()
    FROM per_user p WHERE a.user_id = p.user_id
    RETURNING a.user_id
)
"""
_NUMBERED_PLAIN = """
    SELECT t.*, a.balance + SUM(t.amount) OVER (PARTITION BY t.user_id ORDER BY t.bet_id, t.key) AS balance_after
    FROM todo t JOIN points_pointsaccount a ON a.user_id = t.user_id"""
# A restricted player's credits are each followed by their hold, so each lands on the same balance.
_NUMBERED_HELD = """
    SELECT t.*, r.id IS NOT NULL AS held,
           a.balance + CASE WHEN r.id IS NOT NULL THEN t.amount
                            ELSE SUM(t.amount) OVER (PARTITION BY t.user_id ORDER BY t.bet_id, t.key) END
               AS balance_after
    FROM todo t JOIN points_pointsaccount a ON a.user_id = t.user_id
    LEFT JOIN accounts_user r ON r.id = t.user_id AND r.is_shadow_restricted"""
_HOLDS = """
holds AS (
    INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id,
                                    memo, created_at)
    SELECT i.user_id, -i.amount, 'hold', 'hold:' || i.idempotency_key, n.balance_after - i.amount, %(__race)s,
           n.bet_id, %(__hold_memo)s, now()
    FROM inserted i JOIN numbered n ON n.key = i.idempotency_key AND n.held
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING user_id, -amount AS amount
),"""
_PER_USER_PLAIN = "SELECT user_id, SUM(amount) AS total FROM inserted GROUP BY user_id"
_PER_USER_HELD = """SELECT user_id, SUM(credit) AS total, SUM(held) AS held FROM (
        SELECT user_id, amount AS credit, 0::bigint AS held FROM inserted
        UNION ALL SELECT user_id, 0::bigint, amount FROM holds) x GROUP BY user_id"""
_TOTALS = "SELECT (SELECT COUNT(*) FROM inserted), (SELECT COALESCE(SUM(amount), 0) FROM inserted), " \
          "(SELECT COUNT(*) FROM credited), {held}, (SELECT array_agg(user_id) FROM credited)"
_ROWS = "SELECT i.user_id, i.amount, i.idempotency_key, (SELECT COUNT(*) FROM credited), {held} FROM inserted i"
_HELD_TOTAL = "(SELECT COALESCE(SUM(amount), 0) FROM holds)"


def _credit_many_sql(source_sql: str, *, holds: bool, rows: bool) -> str:
    sql = _CREDIT_MANY_SQL.format(
        source=source_sql, numbered=_NUMBERED_HELD if holds else _NUMBERED_PLAIN, holds=_HOLDS if holds else "",
        per_user=_PER_USER_HELD if holds else _PER_USER_PLAIN,
        set_balance="balance = a.balance + p.total - p.held, held = a.held + p.held" if holds
        else "balance = a.balance + p.total")
    held = _HELD_TOTAL if holds else "0"
    return sql + (_ROWS if rows else _TOTALS).format(held=held)


def credit_many(cursor: CursorWrapper, *, source_sql: str, params: dict | None = None, kind: str,
                memo: str, race_id: int | None = None, rows: bool = False) -> Credited:
    """Credit one ledger entry per row of ``source_sql``, in one statement.

    The source yields ``user_id``, ``amount``, ``key`` (the idempotency key), ``bet_id`` (or
    NULL) and ``memo`` (or NULL for ``memo``). Rows with amount <= 0 and keys already in the
    ledger are skipped, and each account is credited by the sum of the entries actually
    inserted, so a credit is never paid twice however often this runs. The caller holds the
    accounts locked (``lock_accounts``) inside its transaction. With ``rows`` it also returns
    what was credited. Credits of a kind in HELD_KINDS to shadow-restricted players are held
    (module docstring): ``Credited.held`` says how many of the points.
    """
    holds = kind in HELD_KINDS
    sql = _credit_many_sql(source_sql, holds=holds, rows=rows)
    cursor.execute(sql, {**(params or {}), "__kind": kind, "__race": race_id, "__memo": memo[:MEMO_MAX],
                         "__hold_memo": HOLD_MEMO})
    if rows:
        fetched = cursor.fetchall()
        credited = [(int(u), int(a), k) for u, a, k, _, _ in fetched]
        held = int(fetched[0][4]) if fetched else 0
        balances_push_on_commit(u for u, _, _ in credited)
        return Credited(entries=len(credited), points=sum(a for _, a, _ in credited), rows=credited, held=held)
    entries, points, _, held, users = cursor.fetchone()
    balances_push_on_commit(users or [])
    return Credited(entries=int(entries), points=int(points), held=int(held))


# --------------------------------------------------------------------------- holds

_HOLD_RELEASE_SQL = """
WITH old AS (
    SELECT user_id, held FROM points_pointsaccount WHERE user_id = %(user)s AND held > 0 FOR UPDATE
),
moved AS (
    UPDATE points_pointsaccount a SET balance = a.balance + old.held, held = 0, updated_at = now()
    FROM old WHERE a.user_id = old.user_id
    RETURNING a.balance, old.held AS amount
)
INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id,
                                memo, created_at)
SELECT %(user)s, moved.amount, 'hold_release', %(key)s, moved.balance, NULL, NULL, %(memo)s, now()
FROM moved
RETURNING amount
"""
# The release entry is read by the burn's SELECT, so it is written (and numbered) first.
_HOLD_BURN_SQL = """
WITH old AS (
    SELECT user_id, held FROM points_pointsaccount WHERE user_id = %(user)s AND held > 0 FOR UPDATE
),
moved AS (
    UPDATE points_pointsaccount a SET held = 0, updated_at = now()
    FROM old WHERE a.user_id = old.user_id
    RETURNING a.balance, old.held AS amount
),
released AS (
    INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id,
                                    memo, created_at)
    SELECT %(user)s, moved.amount, 'hold_release', %(key)s || ':release', moved.balance + moved.amount, NULL, NULL,
           %(memo)s, now()
    FROM moved
    RETURNING amount
)
INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, bet_id,
                                memo, created_at)
SELECT %(user)s, -released.amount, 'burn', %(key)s, moved.balance, NULL, NULL, %(memo)s, now()
FROM moved CROSS JOIN released
RETURNING -amount
"""


def _hold_move(sql: str, *, user_id: int, key: str, memo: str) -> int:
    if not key or len(key) > KEY_MAX - len(":release"):
        raise ValueError(f"an idempotency key has 1 to {KEY_MAX - len(':release')} characters")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"user": user_id, "key": key, "memo": (memo or "")[:MEMO_MAX]})
            row = cursor.fetchone()
    except IntegrityError:
        return 0  # this key moved the held points before
    if row:
        balances_push_on_commit([user_id])
    return int(row[0]) if row else 0


def hold_release(*, user_id: int, key: str, memo: str) -> int:
    """Give a player back every held point (one ``hold_release`` entry); returns the points moved.

    Exactly once: the statement locks the account and zeroes ``held`` as it reads it, so a
    second call (at the same moment or later) finds nothing held and moves 0."""
    return _hold_move(_HOLD_RELEASE_SQL, user_id=user_id, key=key, memo=memo)


def hold_burn(*, user_id: int, key: str, memo: str) -> int:
    """Burn every held point: a ``hold_release`` (+held) then a ``burn`` (-held) entry, so the
    history stays in the ledger and the balance is unchanged; returns the points burned. Exactly
    once, like ``hold_release``."""
    return _hold_move(_HOLD_BURN_SQL, user_id=user_id, key=key, memo=memo)


# --------------------------------------------------------------------------- the bet statement


def stake_debit_sql(*, user: str, amount: str, also_set: str = "", also_where: str = "") -> str:
    """The conditional debit of one account as a SQL statement for a CTE (``RETURNING balance,
    shown_balance``: the balance, and what the player is shown, held points included).

    ``user`` and ``amount`` are SQL expressions (placeholders); ``also_set`` / ``also_where``
    add the caller's own columns and conditions (the bet's cooldown), never the balance rule.
    """
    return (f"UPDATE points_pointsaccount SET balance = balance - {amount}, updated_at = now(){also_set}\n"
            f"    WHERE user_id = {user} AND balance >= {amount}{also_where}\n"
            f"    RETURNING balance, {SHOWN_BALANCE_SQL} AS shown_balance")


def entry_insert_sql(*, user: str, amount: str, kind: str, key: str, balance_after: str, race: str = "NULL",
                     bet: str = "NULL", memo: str = "''", created_at: str = "now()", from_: str,
                     returning: str = "id") -> str:
    """One ledger entry as a SQL statement for a CTE, each column given as a SQL expression."""
    return (f"INSERT INTO points_ledgerentry (user_id, amount, kind, idempotency_key, balance_after, race_id, "
            f"bet_id, memo, created_at)\n"
            f"    SELECT {user}, {amount}, {kind}, {key}, {balance_after}, {race}, {bet}, {memo}, {created_at}\n"
            f"    FROM {from_}\n"
            f"    RETURNING {returning}")
