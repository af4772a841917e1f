"""Player web app models."""
