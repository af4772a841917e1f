"""Reads shaped for the player pages (one module per page family)."""
