"""The number and label formats the pages use."""
from decimal import Decimal

from apps.web.templatetags import web


def test_signed_percentages_and_their_colour_class():
    assert web.signed_pct(1.234) == "+1.23%"
    assert web.signed_pct(Decimal("-0.4")) == "-0.40%"
    assert web.signed_pct(0) == "0.00%"
    assert web.signed_pct(None) == ""
    assert [web.updown(v) for v in (2, -1, 0, None)] == ["up", "down", "flat", ""]


def test_money_volume_and_points():
    assert web.bigmoney(3_400_000_000_000) == "$3.40T"
    assert web.bigmoney(230_000_000_000) == "$230.00B"
    assert web.bigmoney(None) == "—"
    assert web.bignum(55_000_000) == "55.0M"
    assert web.points(1234567) == "1,234,567"
    assert web.price(Decimal("228.5")) == "228.50"


def test_theme_labels():
    assert web.theme_label("sector:Energy") == "Energy sector"
    assert web.theme_label("tech") == "Tech only"
    assert web.theme_label("top_gainers") == "Top gainers yesterday"
    assert web.theme_label("") == ""
