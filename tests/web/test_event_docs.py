"""docs/ARCHITECTURE-live.md's table of room events says what each state event carries: the
races app publishes exactly those fields (a mobile client reads the doc, the race page the events)."""
from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest
from django.conf import settings

from apps.core import live_keys as keys
from apps.core.redis import get_redis
from apps.races import lifecycle, settlement
from tests.support import factories

pytestmark = pytest.mark.django_db
DOC = Path(settings.BASE_DIR) / "docs" / "ARCHITECTURE-live.md"


def documented() -> dict[str, set[str]]:
    table = DOC.read_text().split("<!-- room-events -->", 1)[1].split("<!-- /room-events -->", 1)[0]
    out = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`") and cells[0] != "`type`":
            # The field names are the backquoted words outside the parenthesised explanations.
            out[cells[0].strip("`")] = set(re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", cells[2])))
    return out


def published(race_id: int) -> dict[str, set[str]]:
    stored = get_redis().hgetall(keys.RACE_EVENTS.format(race_id))
    return {kind: set(orjson.loads(raw)["data"]) for kind, raw in stored.items()}


def test_the_state_events_carry_what_the_doc_says(django_capture_on_commit_callbacks):
    doc = documented()
    assert set(doc) == {"open", "started", "finished", "settled", "cancelled"}
    race = factories.RaceFactory(state="scheduled", starts_in=None)
    player = factories.UserFactory()
    factories.write_quotes({"AAA": 10.0, "BBB": 20.0, "CCC": 30.0, "DDD": 40.0})
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.race_open(race_id=race.pk, now=race.betting_opens_at)
        factories.BetFactory(race=race, user=player, symbol="AAA", stake=10)
        assert lifecycle.race_start(race_id=race.pk, now=race.starts_at)
        factories.write_quotes({"AAA": 11.0, "BBB": 19.0, "CCC": 30.5, "DDD": 40.0})
        assert lifecycle.race_finish(race_id=race.pk, now=race.ends_at)
        assert settlement.race_settle(race_id=race.pk) is not None
    other = factories.RaceFactory(state="open")
    with django_capture_on_commit_callbacks(execute=True):
        assert lifecycle.race_cancel(race_id=other.pk, cause="no opening price for GLD")
    events = published(race.pk) | {"cancelled": published(other.pk)["cancelled"]}
    assert events == doc
