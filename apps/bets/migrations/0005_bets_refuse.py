"""bets_refuse(reason): raise from inside the bet statement (apps.bets.placement_sql).

A bet whose stake cannot be capped or debited must leave nothing behind; raising aborts the one
statement, and with it every row it wrote, so the statement can run in autocommit.
"""
from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION bets_refuse(reason text) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'SR001', MESSAGE = 'bet refused: ' || reason;
END
$$
"""
DROP = "DROP FUNCTION IF EXISTS bets_refuse(text)"


class Migration(migrations.Migration):

    dependencies = [
        ("bets", "0004_bet_streak_before_no_stored_score"),
    ]

    operations = [migrations.RunSQL(CREATE, DROP)]
