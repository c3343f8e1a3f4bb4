"""A Shiprocket simulator (Shiprocket has no sandbox of its own): its external API with real
ordering rules and error styles, a scan engine that fires tracking webhooks, and a control API
to inject faults. `python -m infra.sandboxes.shiprocket --help` runs it on its own."""

from infra.sandboxes.shiprocket.server import ShiprocketSandbox

__all__ = ["ShiprocketSandbox"]
