"""Forms of the player pages. They check the shape of the input; the rules live in the services."""
from __future__ import annotations

from django import forms

from apps.bets.models import Bet

KIND_LABELS = [(Bet.Kind.WINNER, "Winner"), (Bet.Kind.BRACKET, "% bracket"), (Bet.Kind.PODIUM, "Podium")]


class BetForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_LABELS, widget=forms.RadioSelect, initial=Bet.Kind.WINNER)
    stake = forms.IntegerField(min_value=1, initial=50,
                               error_messages={"min_value": "Stake at least 1 point.",
                                               "required": "Enter how many points to stake.",
                                               "invalid": "Enter a whole number of points."})
    symbol = forms.ChoiceField(required=False, label="Stock")
    low_pct = forms.DecimalField(required=False, max_digits=7, decimal_places=2, label="From %", initial="0")
    high_pct = forms.DecimalField(required=False, max_digits=7, decimal_places=2, label="To %", initial="1")
    first = forms.ChoiceField(required=False, label="1st")
    second = forms.ChoiceField(required=False, label="2nd")
    third = forms.ChoiceField(required=False, label="3rd")

    def __init__(self, *args, symbols: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "Pick a stock")] + [(s, s) for s in symbols]
        for name in ("symbol", "first", "second", "third"):
            self.fields[name].choices = choices

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind in (Bet.Kind.WINNER, Bet.Kind.BRACKET) and not data.get("symbol"):
            self.add_error("symbol", "Pick the stock you are betting on.")
        if kind == Bet.Kind.BRACKET:
            low, high = data.get("low_pct"), data.get("high_pct")
            if low is None:
                self.add_error("low_pct", "Enter the low end of the bracket.")
            if high is None:
                self.add_error("high_pct", "Enter the high end of the bracket.")
            if low is not None and high is not None and low >= high:
                self.add_error("high_pct", "The high end must be above the low end.")
        if kind == Bet.Kind.PODIUM:
            picks = [data.get("first"), data.get("second"), data.get("third")]
            for name, pick in zip(("first", "second", "third"), picks):
                if not pick:
                    self.add_error(name, "Pick a stock for every podium place.")
            if all(picks) and len(set(picks)) < 3:
                self.add_error("third", "Pick three different stocks.")
        return data

    def bet_arguments(self) -> dict:
        """The cleaned input as keyword arguments for apps.bets.services.bet_place."""
        data = self.cleaned_data
        kind = data["kind"]
        args = {"kind": kind, "stake": data["stake"]}
        if kind in (Bet.Kind.WINNER, Bet.Kind.BRACKET):
            args["symbol"] = data["symbol"]
        if kind == Bet.Kind.BRACKET:
            args["low_pct"] = data["low_pct"]
            args["high_pct"] = data["high_pct"]
        if kind == Bet.Kind.PODIUM:
            args["symbols"] = [data["first"], data["second"], data["third"]]
        return args
