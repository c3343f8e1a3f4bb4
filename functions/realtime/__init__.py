"""Entry points of the realtime context."""
