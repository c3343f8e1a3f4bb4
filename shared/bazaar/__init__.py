"""Bazaar's domain: one sub-package per business context, plus `platform` for what every context
shares (settings, errors, observability, the HTTP edge). Nothing here reads the environment or
creates AWS clients at import time."""
