"""Ledger inserts pay for fewer indexes (settlement writes one entry per winning bet).

Dropped: the user_id index (ledger_user_recent (user, -id) covers it) and the varchar_pattern_ops
copy Django adds beside a unique CharField; the idempotency key stays unique through a constraint.
"""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('points', '0002_ledger_append_only'),
        ('races', '0003_lean_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='ledgerentry',
            name='idempotency_key',
            field=models.CharField(max_length=160),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='user',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='ledger', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.UniqueConstraint(fields=('idempotency_key',), name='ledger_idempotency_key_unique'),
        ),
    ]
