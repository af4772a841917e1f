"""core models arrive with their issue."""
