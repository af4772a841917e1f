"""Player pages: each module parses input, calls a selector or service and renders."""
