"""Frame math: % change from the locked open price, positions, staleness, one serialisation."""
import orjson

from apps.live.frames import Lane, LiveQuote, change_pct, frame_parts, stock_rows

LANES = [Lane(1, "AAA", 100.0), Lane(2, "BBB", 50.0), Lane(3, "CCC", 10.0)]


def test_change_pct_from_the_locked_open():
    assert change_pct(101.0, 100.0) == 1.0
    assert change_pct(49.5, 50.0) == -1.0
    assert change_pct(10.0, None) is None


def test_positions_best_change_first_ties_by_lane_unpriced_last():
    quotes = {"AAA": LiveQuote(101.0, 100.0), "BBB": LiveQuote(50.5, 100.0)}
    rows = stock_rows(LANES, quotes, now=100.5, stale_after=10)
    by_symbol = {r["symbol"]: r for r in rows}
    assert [r["symbol"] for r in rows] == ["AAA", "BBB", "CCC"]  # lane order
    assert by_symbol["AAA"]["position"] == 1 and by_symbol["BBB"]["position"] == 2  # a tie: lane 1 first
    assert by_symbol["CCC"]["position"] == 3 and by_symbol["CCC"]["price"] is None
    assert by_symbol["CCC"]["stale"] and not by_symbol["AAA"]["stale"]


def test_old_quote_is_stale():
    rows = stock_rows(LANES[:1], {"AAA": LiveQuote(99.0, 80.0)}, now=100.0, stale_after=10)
    assert rows[0]["stale"] and rows[0]["change_pct"] == -1.0


def test_frame_parts_join_around_the_sequence_number():
    rows = stock_rows(LANES, {s: LiveQuote(1.0, 0.0) for s in ("AAA", "BBB", "CCC")}, now=1.0, stale_after=10)
    prefix, suffix = frame_parts(race_id=7, ts=1000.1234, ends_at=1060.0, rows=rows)
    frame = orjson.loads(prefix + b"42" + suffix)
    assert frame["type"] == "frame" and frame["race"] == 7 and frame["seq"] == 42
    assert frame["ts"] == 1000.123 and frame["left"] == 59.877 and frame["stale"] is False
    assert [s["position"] for s in frame["stocks"]] == [3, 2, 1]
