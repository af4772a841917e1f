"""An index on orders' updated_at for the executor's trigger-index re-sync (every 30 s it reads the
orders changed since its last run: apps.trading.index.index_sync). Built concurrently, so a live
order table keeps taking orders while it builds."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('trading', '0001_orders_fills_positions_snapshots'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='order',
            index=models.Index(fields=['updated_at'], name='trading_order_updated'),
        ),
    ]
