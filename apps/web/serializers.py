"""Shapes of the watchlist API (also what /api/schema/ documents)."""
from __future__ import annotations

from rest_framework import serializers

from apps.market.serializers import StockSerializer


class WatchlistItemSerializer(serializers.Serializer):
    stock = StockSerializer(help_text="The stock with its latest quote (null when the feed has none).")
    added_at = serializers.DateTimeField()


class WatchlistAddSerializer(serializers.Serializer):
    symbol = serializers.CharField(max_length=16, help_text="The ticker to watch, e.g. AAPL (case-insensitive).")
