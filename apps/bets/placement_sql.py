"""The one statement that places a bet (run by services.bet_place inside a short transaction).

Each step reads the previous one's RETURNING rows, so the steps run, and take their locks,
in this order (the same order as every other writer: race first, then the player's rows):

1. ``race``  — the race row FOR SHARE: a state change (open → running, cancel) waits for the
   bets in flight, and a bet that had to wait sees the new state;
2. ``bet``   — the bet, only if the race is open, its betting not closed by Redis time
   (``closes`` is now + BET_CLOSE_BEFORE_START_SECONDS: betting closes that long before the start),
   and has every chosen symbol; ``ON CONFLICT DO NOTHING`` on (user, Idempotency-Key) makes a repeat wait
   for the first attempt and then insert nothing;
3. ``stake`` — the player's stake total on the race, a conditional upsert: the per-race cap;
4. ``debit`` — the conditional debit of the points account: balance, cooldown, active player;
5. ``entry`` — the stake's ledger entry, with the balance after it.

Steps 4 and 5 are the ledger's own SQL (apps.points.ledger.stake_debit_sql and
entry_insert_sql), with the bet's cooldown added: the ledger module stays the one writer. The
balance the statement returns is the one the player is shown (held points included).

The final row says how far it got. A bet that was inserted but could not be paid for (the cap,
or the debit, refused) makes the statement raise (``bets_refuse``, migration bets/0005), so the
statement undoes itself: it is atomic on its own, and outside a transaction it runs in
autocommit — one round trip, no BEGIN or COMMIT. Nothing is ever half-written.
"""

from apps.points import ledger

# The SQLSTATE and message prefix bets_refuse() raises with; the reason follows the prefix.
REFUSED_SQLSTATE = "SR001"
REFUSED_PREFIX = "bet refused: "

PLACE_BET_SQL_TEMPLATE = """
WITH race AS (
    SELECT r.state, r.starts_at,
           ARRAY(SELECT s.symbol::text FROM races_raceentry e JOIN market_stock s ON s.id = e.stock_id
                 WHERE e.race_id = r.id ORDER BY e.lane) AS symbols
    FROM races_race r WHERE r.id = %(race)s
    FOR SHARE OF r
),
bet AS (
    INSERT INTO bets_bet (user_id, race_id, kind, stake, symbol, low_pct, high_pct, podium, odds,
                          potential_payout, placed_at, timing, status, payout, idempotency_key, client_ip)
    SELECT %(user)s, %(race)s, %(kind)s, %(stake)s, %(symbol)s, %(low)s, %(high)s, %(podium)s, %(odds)s,
           %(payout)s, %(now)s, %(timing)s, 'open', 0, %(key)s, %(ip)s
    FROM race
    WHERE race.state = 'open' AND race.starts_at > %(closes)s AND race.symbols @> %(chosen)s::text[]
    ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id
),
stake AS (
    INSERT INTO bets_racestake (user_id, race_id, total)
    SELECT %(user)s, %(race)s, %(stake)s FROM bet
    ON CONFLICT (user_id, race_id) DO UPDATE SET total = bets_racestake.total + EXCLUDED.total
    WHERE bets_racestake.total + EXCLUDED.total <= %(cap)s
    RETURNING total
),
debit AS (
    {debit}
),
entry AS (
    {entry}
)
SELECT race.state, race.starts_at, race.symbols, r.bet_id, r.balance,
       CASE WHEN r.bet_id IS NOT NULL AND r.entry IS NULL
            THEN bets_refuse(CASE WHEN r.total IS NULL THEN 'stake_cap' ELSE 'debit' END) END
FROM (VALUES (1)) AS one LEFT JOIN race ON true
CROSS JOIN (SELECT (SELECT id FROM bet) AS bet_id, (SELECT total FROM stake) AS total,
                   (SELECT shown_balance FROM debit) AS balance, (SELECT bet_id FROM entry) AS entry) r
"""
PLACE_BET_SQL = PLACE_BET_SQL_TEMPLATE.format(
    debit=ledger.stake_debit_sql(
        user="%(user)s", amount="%(stake)s",
        # never backwards, even for requests that reach here out of clock order
        also_set=",\n        last_bet_at = GREATEST(COALESCE(last_bet_at, %(now)s), %(now)s)",
        also_where=(
            "\n      AND (%(cutoff)s::timestamptz IS NULL OR last_bet_at IS NULL"
            " OR last_bet_at <= %(cutoff)s::timestamptz)"
            "\n      AND EXISTS (SELECT 1 FROM stake)"
            # a deactivated player bets no more, even with a token issued before (the API reads no user row)
            "\n      AND EXISTS (SELECT 1 FROM accounts_user u WHERE u.id = %(user)s AND u.is_active)")),
    entry=ledger.entry_insert_sql(
        user="%(user)s", amount="-%(stake)s", kind="'stake'", key="'bet:' || bet.id || ':stake'",
        balance_after="debit.balance", race="%(race)s", bet="bet.id", memo="%(memo)s", created_at="%(now)s",
        from_="bet CROSS JOIN debit", returning="bet_id"),
)

STAKE_TOTAL_SQL = "SELECT total FROM bets_racestake WHERE user_id = %s AND race_id = %s"
ACCOUNT_SQL = """
SELECT a.balance, a.last_bet_at, u.is_active
FROM points_pointsaccount a JOIN accounts_user u ON u.id = a.user_id WHERE a.user_id = %s
"""
