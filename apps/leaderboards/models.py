"""Leaderboards models."""
