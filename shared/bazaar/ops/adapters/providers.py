"""Reachability probes of the providers Bazaar calls (PhonePe, Shiprocket, RazorpayX)."""

from __future__ import annotations

import requests

from bazaar.ops.domain import DependencyKind
from bazaar.platform.observability import traced_http_session


class ProviderUnavailable(Exception):
    """The provider answered, but with a server error: it cannot serve us right now."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.public_problem = f"HTTP {status}"


class ProviderProbe:
    """One unauthenticated GET of the provider's API base URL, with a short timeout and no retry:
    any answer below 500 (401 and 404 included: no credentials are sent) proves the provider's API
    is up and reachable from here; a timeout, a refused connection or a 5xx is a provider that
    cannot serve us now. No credentials, so a health check never spends a token or a rate limit."""

    kind: DependencyKind = "provider"

    def __init__(self, name: str, base_url: str, session: requests.Session | None = None,
                 timeout: tuple[float, float] = (1.0, 2.0)):
        self.name, self._url, self._timeout = name, base_url, timeout
        self._session = session or traced_http_session()

    def check(self) -> None:
        answer = self._session.get(self._url, timeout=self._timeout, allow_redirects=False)
        if answer.status_code >= 500:
            raise ProviderUnavailable(answer.status_code)
