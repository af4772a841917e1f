"""The badge catalog of apps.badges.catalog into the table: missing badges inserted, existing
rows left alone (badges added later arrive with ``manage.py sync_badges``, and every race
evaluation adds missing ones)."""
from django.db import migrations


def add_catalog(apps, schema_editor):
    from apps.badges.catalog import CATALOG

    Badge = apps.get_model("badges", "Badge")
    for position, spec in enumerate(CATALOG, start=1):
        Badge.objects.get_or_create(code=spec.code, defaults={
            "name": spec.name, "description": spec.description, "icon": spec.icon, "tier": spec.tier,
            "reward": spec.reward, "active": True, "position": position})


class Migration(migrations.Migration):
    dependencies = [("badges", "0001_initial")]

    operations = [migrations.RunPython(add_catalog, migrations.RunPython.noop)]
