"""Provider sandboxes: local stand-ins for PhonePe, Shiprocket and RazorpayX (payouts) that speak
the providers' real wire protocols on 127.0.0.1.

The local stack asks `local_sandboxes` which to run for a service: a sandbox runs when the service
declares its provider's secret, and it is handed the values the app will read from that secret,
so both ends share credentials exactly as a merchant and PhonePe do. Each sandbox names the
function settings it replaces (`settings`: e.g. PHONEPE_BASE_URL -> its own URL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from infra.description.model import Service


class Sandbox(Protocol):
    name: str

    @property
    def url(self) -> str: ...

    @property
    def settings(self) -> dict[str, str]:
        """Function settings this sandbox replaces while it runs (keys a function declares)."""

    def start(self) -> Sandbox: ...

    def stop(self) -> None: ...


def local_sandboxes(
    service: Service, read_secret: Callable[[str], dict], *, api_url: str, phonepe_port: int,
    shiprocket_port: int = 0, razorpayx_port: int = 0,
    egress_ips: tuple[str, ...] | None = None,
    log: Callable[[dict], None],
) -> list[Sandbox]:
    """`egress_ips`: the addresses our calls leave from; when given, the RazorpayX sandbox refuses
    calls from any other address, as RazorpayX does for addresses not allowlisted."""
    sandboxes: list[Sandbox] = []
    if any(secret.name == "phonepe" for secret in service.secrets):
        from infra.sandboxes.phonepe import Credentials, PhonePeSandbox

        webhook = next((w.path for _, w in service.webhooks if w.provider == "phonepe"), None)
        sandboxes.append(PhonePeSandbox(
            Credentials.from_secret(read_secret("phonepe")), port=phonepe_port,
            webhook_url=f"{api_url}{webhook}" if webhook else None, log=log,
        ))
    if any(secret.name == "shiprocket" for secret in service.secrets):
        from infra.sandboxes.shiprocket.local import LocalShiprocket

        webhook = next((w.path for _, w in service.webhooks if w.provider == "shiprocket"), None)
        sandboxes.append(LocalShiprocket(read_secret("shiprocket"), f"{api_url}{webhook}" if webhook else None,
                                         port=shiprocket_port))
    if any(secret.name == "razorpayx" for secret in service.secrets):
        from infra.sandboxes.razorpayx.local import LocalRazorpayX

        webhook = next((w.path for _, w in service.webhooks if w.provider == "razorpayx"), None)
        sandboxes.append(LocalRazorpayX(read_secret("razorpayx"), f"{api_url}{webhook}" if webhook else None,
                                        port=razorpayx_port, allowed_ips=egress_ips))
    return sandboxes


def serve_in_foreground(sandbox, banner: str) -> None:
    """For `python -m infra.sandboxes.<provider>`: start, print where it is, run until Ctrl-C or
    SIGTERM, then stop."""
    import signal
    import threading

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    sandbox.start()
    print(banner.format(sandbox=sandbox), flush=True)
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
