"""The HTTP client of the smoke suite: one request per connection, no redirects followed, every
answer kept (the last checks look at everything the run saw). The standard library only, so the
suite runs wherever Python does."""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    method: str
    url: str
    status: int  # 0 when no HTTP answer came (refused, timed out, TLS failure)
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    problem: str | None = None  # why no answer came

    @property
    def label(self) -> str:
        path = urlsplit(self.url).path or "/"
        return f"{self.method} {path}"

    @property
    def summary(self) -> str:
        return f"{self.label} → {self.status}" if self.status else f"{self.label}: {self.problem}"

    def header(self, name: str) -> str | None:
        """The header's value (repeated headers joined with ", "), None when absent."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def header_tokens(self, name: str) -> set[str]:
        """A comma-separated header's items, lower-cased (Vary, Access-Control-Allow-Headers, …)."""
        return {t.strip().lower() for v in self.header_values(name) for t in v.split(",") if t.strip()}

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def error(self) -> dict | None:
        """The error envelope's `error` object, when the body is one."""
        document = self.json()
        error = document.get("error") if isinstance(document, dict) else None
        return error if isinstance(error, dict) else None


@dataclass
class Probe:
    timeout_seconds: float = 15.0
    seen: list[Answer] = field(default_factory=list)

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                body: bytes | None = None, timeout_seconds: float | None = None) -> Answer:
        parts = urlsplit(url)
        timeout = timeout_seconds or self.timeout_seconds
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.netloc, timeout=timeout,
                                                     context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
        sent = {"User-Agent": "bazaar-verify", "Accept": "application/json", **(headers or {})}
        try:
            connection.request(method, target, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(method, url, response.status, tuple(response.getheaders()), response.read())
        except (OSError, http.client.HTTPException) as error:
            answer = Answer(method, url, 0, problem=f"{type(error).__name__}: {error}".rstrip(": "))
        finally:
            connection.close()
        self.seen.append(answer)
        return answer
