"""botdetect models arrive with their issue."""
