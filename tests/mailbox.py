"""What the local stack emailed: moto keeps every message SES accepted, and serves them at
GET /moto-api/data.json under "ses" -> "Message" (id, source, subject, body, destinations).
moto keeps one body per message: the HTML part when there is one (as Bazaar's mails have)."""

from __future__ import annotations

import requests


def sent_mail(aws_endpoint: str, to: str | None = None) -> list[dict]:
    data = requests.get(f"{aws_endpoint}/moto-api/data.json", timeout=10).json()
    messages = data.get("ses", {}).get("Message", [])
    if to is None:
        return messages
    return [m for m in messages if to in (m.get("destinations") or {}).get("ToAddresses", [])]
