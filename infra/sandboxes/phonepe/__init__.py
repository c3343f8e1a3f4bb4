"""A PhonePe payment gateway sandbox (v1 and v2) for the local twin and the tests."""

from infra.sandboxes.phonepe.server import PhonePeSandbox
from infra.sandboxes.phonepe.state import Credentials

__all__ = ["Credentials", "PhonePeSandbox"]
