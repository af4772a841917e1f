"""The admin theme names no environment, so it shows none: its header read "● - Welcome" with an
empty name (django-admin-interface shows the label whenever env_visible_in_header is on)."""
from django.db import migrations


def hide(apps, schema_editor):
    apps.get_model("admin_interface", "Theme").objects.filter(name="StockRace", env_name="").update(
        env_visible_in_header=False, env_visible_in_favicon=False)


def show(apps, schema_editor):
    apps.get_model("admin_interface", "Theme").objects.filter(name="StockRace").update(
        env_visible_in_header=True, env_visible_in_favicon=True)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_admin_theme")]
    operations = [migrations.RunPython(hide, show)]
