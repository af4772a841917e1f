"""Market-data feed models."""
