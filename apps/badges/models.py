"""badges models arrive with their issue."""
