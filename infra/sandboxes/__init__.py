"""Sandboxes: local simulators of the providers Bazaar calls (Shiprocket, PhonePe, ...), on 127.0.0.1."""
