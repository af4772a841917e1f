"""The staff admin's look: a StockRace theme for django-admin-interface, made active."""
from django.db import migrations

THEME = {
    "title": "StockRace staff",
    "title_color": "#E6EDF7",
    "logo_visible": False,
    "env_name": "",
    "css_header_background_color": "#0B1220",
    "css_header_text_color": "#E6EDF7",
    "css_header_link_color": "#38BDF8",
    "css_header_link_hover_color": "#A78BFA",
    "css_module_background_color": "#18233A",
    "css_module_background_selected_color": "#E0F2FE",
    "css_module_text_color": "#FFFFFF",
    "css_module_link_color": "#FFFFFF",
    "css_module_link_selected_color": "#FFFFFF",
    "css_module_link_hover_color": "#38BDF8",
    "css_generic_link_color": "#0369A1",
    "css_generic_link_hover_color": "#7C3AED",
    "css_save_button_background_color": "#0369A1",
    "css_save_button_background_hover_color": "#075985",
    "list_filter_dropdown": True,
    "related_modal_active": True,
}


def install(apps, schema_editor):
    Theme = apps.get_model("admin_interface", "Theme")
    Theme.objects.update(active=False)
    Theme.objects.update_or_create(name="StockRace", defaults={**THEME, "active": True})


def uninstall(apps, schema_editor):
    apps.get_model("admin_interface", "Theme").objects.filter(name="StockRace").delete()


class Migration(migrations.Migration):
    dependencies = [("admin_interface", "0032_alter_theme_defaults")]
    operations = [migrations.RunPython(install, uninstall)]
