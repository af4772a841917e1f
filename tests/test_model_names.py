"""Plurals the admin shows (changelists, delete confirmations, permissions) read as English: no
"copy matchs" or "entrys" left by Django's default of adding an "s"."""
from __future__ import annotations

import re

from django.apps import apps

# A plural Django built by adding "s" to a word that takes "es" or "ies".
BAD_PLURAL = re.compile(r"(ch|sh|ss|x|[^aeiou]y)s$")
# races owns its migrations; RaceEntry's inline is titled "Lanes" (reported, not fixed here).
KNOWN = {"races.RaceEntry"}


def test_every_model_of_ours_has_a_proper_plural():
    ours = [m for m in apps.get_models() if m.__module__.startswith("apps.")]
    assert any(m._meta.label == "botdetect.CopyMatch" for m in ours)
    bad = {m._meta.label: str(m._meta.verbose_name_plural) for m in ours
           if BAD_PLURAL.search(str(m._meta.verbose_name_plural)) and m._meta.label not in KNOWN}
    assert bad == {}
