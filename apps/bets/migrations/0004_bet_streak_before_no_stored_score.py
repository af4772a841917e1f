"""Settlement updates every bet of a race in place (HOT), so it must not grow the rows.

- ``score`` (a JSON breakdown built per bet) goes: building it cost a third of the scoring
  statement and, as it grew each row by ~150 bytes, pushed most updates off their page. The
  breakdown is computed on demand from the bet, the race's locked results and
  ``streak_before`` (apps.races.selectors.bet_breakdown), the same deterministic function
  settlement's SQL mirrors.
- ``streak_before``: a fixed-width smallint written at settlement.
- fillfactor 50: when a race settles, every row on a page is updated at once; half a page
  free lets each new row version stay on its page, so no index is touched.
"""
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("bets", "0003_settlement_hot_updates"),
    ]

    operations = [
        migrations.RemoveField(model_name="bet", name="score"),
        migrations.AddField(
            model_name="bet",
            name="streak_before",
            field=models.SmallIntegerField(db_default=0, default=0),
        ),
        migrations.RunSQL("ALTER TABLE bets_bet SET (fillfactor = 50)", "ALTER TABLE bets_bet SET (fillfactor = 70)"),
    ]
