"""Race standings: the (race, user) unique index serves lookups by race; the race_id index goes."""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('races', '0002_racestanding_racetransition_race_is_generated_and_more'),
    ]

    operations = [
        migrations.AlterField(
            model_name='racestanding',
            name='race',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='standings', to='races.race'),
        ),
    ]
