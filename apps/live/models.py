"""Live race rooms models."""
