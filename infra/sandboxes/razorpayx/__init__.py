"""A RazorpayX Payouts simulator: contacts, fund accounts and payouts with RazorpayX's dedupe,
idempotency-key and balance rules, an asynchronous status walk with signed webhooks, and a control
API to script outcomes and inject faults. `python -m infra.sandboxes.razorpayx --help` runs it on its own."""

from infra.sandboxes.razorpayx.server import RazorpayXSandbox

__all__ = ["RazorpayXSandbox"]
