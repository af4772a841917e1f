"""Shapes of the markets API (requests checked by the services; these document and render)."""
from __future__ import annotations

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.markets.models import Market, Stop
from apps.markets.selectors import market_state


class MarketCurveSerializer(serializers.Serializer):
    p_min = serializers.DecimalField(max_digits=20, decimal_places=18, required=False, default=Decimal("0.01"))
    p_max = serializers.DecimalField(max_digits=20, decimal_places=18, required=False, default=Decimal("0.99"))
    k = serializers.DecimalField(max_digits=20, decimal_places=10, required=False, default=Decimal(10),
                                 help_text="steepness")
    x0 = serializers.DecimalField(max_digits=20, decimal_places=10, required=False, default=Decimal("0.5"),
                                  help_text="midpoint, as a fraction of max_shares")
    max_shares = serializers.DecimalField(max_digits=38, decimal_places=18, help_text="X, the most that may be sold")


class MarketCreateSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=Market.Kind.choices)
    mechanism = serializers.ChoiceField(choices=["cpmm", "lmsr", "sigmoid"])
    outcomes = serializers.ListField(child=serializers.CharField(max_length=64), required=False, allow_empty=True,
                                     help_text='binary: ["YES", "NO"] (the default); multi: 2 to 20 labels')
    liquidity = serializers.DecimalField(max_digits=38, decimal_places=18, required=False,
                                         help_text="cpmm: shares put in each pool (the house's worst loss)")
    initial_probability = serializers.DecimalField(max_digits=20, decimal_places=18, required=False,
                                                   help_text="cpmm: 0.01 to 0.99 (default 0.5)")
    b = serializers.DecimalField(max_digits=38, decimal_places=18, required=False,
                                 help_text="lmsr: the liquidity parameter (worst loss b·ln n)")
    curve = MarketCurveSerializer(required=False)
    closes_at = serializers.DateTimeField()
    resolves_by = serializers.JSONField(required=False, help_text=(
        '{"type": "manual"} (default), {"type": "race_winner", "race": id}, '
        '{"type": "race_close" | "race_pct", "race": id, "symbol": "AAPL", "above": "230"}, '
        '{"type": "price", "symbol": "AAPL", "above": "230"}, '
        '{"type": "pct_change", "symbol": "TSLA", "above": "2", "base_price": "250"}'))


class MarketSerializer(serializers.ModelSerializer):
    """A market with its mechanism's state: pool and p (cpmm), q and b (lmsr), supply and curve
    (sigmoid), and the probabilities."""

    probabilities = serializers.SerializerMethodField()
    pool = serializers.SerializerMethodField()
    p = serializers.SerializerMethodField()
    q = serializers.SerializerMethodField()
    b = serializers.SerializerMethodField()
    supply = serializers.SerializerMethodField()
    resolution_label = serializers.SerializerMethodField()

    class Meta:
        model = Market
        fields = ["id", "question", "kind", "mechanism", "state", "outcomes", "probabilities", "pool", "p", "q", "b",
                  "supply", "curve", "subsidy", "fee_pct", "volume", "fees", "seq", "closes_at", "created_at",
                  "resolves_by", "race", "resolution", "resolution_label", "resolved_at", "resolution_reason",
                  "needs_review"]
        read_only_fields = fields

    def _state(self, market: Market) -> dict:
        cache = self.context.setdefault("_states", {})
        if market.pk not in cache:
            cache[market.pk] = market_state(market)
        return cache[market.pk]

    @extend_schema_field(serializers.ListField(child=serializers.DecimalField(max_digits=20, decimal_places=18)))
    def get_probabilities(self, market):
        return self._state(market)["probabilities"]

    @extend_schema_field(serializers.DictField(child=serializers.DecimalField(max_digits=38, decimal_places=18),
                                               allow_null=True))
    def get_pool(self, market):
        return self._state(market).get("pool")

    @extend_schema_field(serializers.DecimalField(max_digits=20, decimal_places=18, allow_null=True))
    def get_p(self, market):
        return self._state(market).get("p")

    @extend_schema_field(serializers.ListField(child=serializers.DecimalField(max_digits=38, decimal_places=18),
                                               allow_null=True))
    def get_q(self, market):
        return self._state(market).get("q")

    @extend_schema_field(serializers.DecimalField(max_digits=38, decimal_places=18, allow_null=True))
    def get_b(self, market):
        return self._state(market).get("b")

    @extend_schema_field(serializers.DecimalField(max_digits=38, decimal_places=18, allow_null=True))
    def get_supply(self, market):
        return self._state(market).get("supply")

    @extend_schema_field(OpenApiTypes.STR)
    def get_resolution_label(self, market):
        return market.outcomes[market.resolution] if market.resolution is not None else None


class MarketOrderSerializer(serializers.Serializer):
    outcome = serializers.IntegerField(help_text="the outcome's index: 0 YES / 1 NO, or a multi market's order")
    side = serializers.ChoiceField(choices=["buy", "sell"])
    amount = serializers.IntegerField(required=False, min_value=1, help_text="whole points to spend, fee included")
    shares = serializers.DecimalField(max_digits=38, decimal_places=18, required=False,
                                      help_text="shares to buy or sell (a sale is always in shares)")


class MarketFillSerializer(serializers.Serializer):
    """What a trade gets and costs (a quote, or a trade executed)."""

    outcome = serializers.IntegerField()
    side = serializers.CharField()
    shares = serializers.DecimalField(max_digits=38, decimal_places=18)
    cost = serializers.IntegerField(help_text="whole points of the buy (charged) or the sale (paid), fee excluded")
    cost_exact = serializers.DecimalField(max_digits=38, decimal_places=18,
                                          help_text="the exact cost on the curve, before rounding to whole points")
    fee = serializers.IntegerField()
    collateral = serializers.IntegerField(help_text="points locked (> 0) or released (< 0) for a short")
    cash = serializers.IntegerField(help_text="net points to the player (< 0: paid)")
    avg_price = serializers.DecimalField(max_digits=38, decimal_places=18)
    prob_before = serializers.DecimalField(max_digits=20, decimal_places=18)
    prob_after = serializers.DecimalField(max_digits=20, decimal_places=18)
    probabilities_after = serializers.ListField(child=serializers.DecimalField(max_digits=20, decimal_places=18))
    position_after = serializers.DecimalField(max_digits=38, decimal_places=18)


class MarketTradeSerializer(MarketFillSerializer):
    id = serializers.IntegerField()
    market = serializers.IntegerField()
    seq = serializers.IntegerField()
    replayed = serializers.BooleanField(help_text="a repeat of an Idempotency-Key: the first trade, unchanged")
    stops_fired = serializers.ListField(child=serializers.DictField(), help_text="stops this trade set off")
    created_at = serializers.DateTimeField()


class MarketTapeSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    outcome = serializers.IntegerField(allow_null=True)
    shares = serializers.DecimalField(max_digits=38, decimal_places=18)
    prob_after = serializers.ListField(child=serializers.DecimalField(max_digits=20, decimal_places=18))
    stop = serializers.BooleanField()
    at = serializers.DateTimeField()


class MarketPositionSerializer(serializers.Serializer):
    market = serializers.IntegerField()
    question = serializers.CharField()
    state = serializers.CharField()
    outcome = serializers.IntegerField()
    label = serializers.CharField()
    shares = serializers.DecimalField(max_digits=38, decimal_places=18)
    collateral = serializers.IntegerField()
    cost = serializers.IntegerField(help_text="net points paid into the position")
    price = serializers.DecimalField(max_digits=20, decimal_places=6)
    value = serializers.DecimalField(max_digits=40, decimal_places=2, help_text="shares × the current price")


class MarketStopCreateSerializer(serializers.Serializer):
    outcome = serializers.IntegerField()
    trigger = serializers.DecimalField(max_digits=20, decimal_places=18,
                                       help_text="the price that sets it off: below the current one for a long, "
                                                 "above it for a short")
    shares = serializers.DecimalField(max_digits=38, decimal_places=18, required=False,
                                      help_text="how many to close (default: the whole position when it fires)")


class MarketStopSerializer(serializers.ModelSerializer):
    class Meta:
        model = Stop
        fields = ["id", "market", "outcome", "direction", "trigger", "shares", "state", "reason", "created_at",
                  "fired_at", "execution"]
        read_only_fields = fields


class MarketResolveSerializer(serializers.Serializer):
    outcome = serializers.IntegerField()
    reason = serializers.CharField(max_length=300)


class MarketCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class MarketEndedSerializer(serializers.Serializer):
    state = serializers.CharField()
    points = serializers.IntegerField(allow_null=True, help_text="paid or refunded now (null: it had already ended)")


class MarketHistoryPointSerializer(serializers.Serializer):
    t = serializers.FloatField(help_text="epoch seconds")
    p = serializers.ListField(child=serializers.FloatField(), help_text="each outcome's probability")


class MarketLeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    profit = serializers.IntegerField()
