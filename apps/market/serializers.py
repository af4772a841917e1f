"""Shapes of the market API's answers (also what /api/schema/ documents)."""
from __future__ import annotations

from rest_framework import serializers


class QuoteSerializer(serializers.Serializer):
    price = serializers.FloatField()
    bid = serializers.FloatField(allow_null=True)
    ask = serializers.FloatField(allow_null=True)
    volume = serializers.IntegerField(help_text="Volume of the day so far.")
    ts = serializers.FloatField(help_text="Provider time of the quote, epoch seconds (UTC).")
    stale = serializers.BooleanField(help_text="No update for longer than MARKET_DATA_STALE_SECONDS.")


class StockSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    sector = serializers.CharField()
    industry = serializers.CharField()
    exchange = serializers.CharField()
    market_cap = serializers.IntegerField(allow_null=True)
    quote = QuoteSerializer(allow_null=True)
    change = serializers.FloatField(allow_null=True, help_text="Price minus the previous close we know of.")
    change_pct = serializers.FloatField(allow_null=True, help_text="Change in percent of the previous close.")


class StockDetailSerializer(StockSerializer):
    former_symbols = serializers.ListField(child=serializers.CharField())
    week52_high = serializers.FloatField(allow_null=True)
    week52_low = serializers.FloatField(allow_null=True)
    avg_volume = serializers.IntegerField(allow_null=True)
    previous_close = serializers.FloatField(allow_null=True)
    ipo_date = serializers.DateField(allow_null=True)
    is_active = serializers.BooleanField()
    is_imported = serializers.BooleanField()
    delisted_at = serializers.DateTimeField(allow_null=True)


class QuotesResponseSerializer(serializers.Serializer):
    quotes = serializers.DictField(child=QuoteSerializer())
    unknown = serializers.ListField(child=serializers.CharField(), help_text="Symbols we have no quote for.")
    as_of = serializers.FloatField(help_text="Server time of the read, epoch seconds.")


class CandleSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="Start of the bucket, UTC.")
    open = serializers.FloatField()
    high = serializers.FloatField()
    low = serializers.FloatField()
    close = serializers.FloatField()
    volume = serializers.IntegerField()
    indicators = serializers.DictField(required=False, help_text=(
        "Per requested indicator (canonical key such as sma:20, macd:12:26:9, bbands:20:2): a number, "
        "an object (macd: macd/signal/hist; bbands: upper/middle/lower), or null before it is defined."))


class CandlesResponseSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    interval = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    indicators = serializers.ListField(child=serializers.CharField())
    candles = CandleSerializer(many=True)
