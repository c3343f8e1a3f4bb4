"""`python -m infra.verify` (what `make verify` runs) over HTTP against the local twin: it passes
there, and it fails, naming the check, when a loopback proxy in front of the gateway breaks the
contract on purpose (strips a security header; lets requests without a token in)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from infra.local.loopback import LoopbackServer
from tests.e2e.identity_helpers import registered_and_signed_in

ROOT = Path(__file__).resolve().parents[2]
HOP_BY_HOP = {"connection", "content-length", "transfer-encoding", "keep-alive"}

Headers = list[tuple[str, str]]


def verify(url: str, *args: str, admin_token: str | None = None, as_json: bool = True) -> tuple[int, str]:
    """Runs the suite as a person does, in its own process; (exit code, stdout)."""
    environment = {**os.environ, "BAZAAR_VERIFY_ADMIN_TOKEN": admin_token or ""}
    done = subprocess.run([sys.executable, "-m", "infra.verify", "--url", url, *args, *(["--json"] if as_json else [])],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=240)
    assert not done.stderr, done.stderr
    return done.returncode, done.stdout


def rows(stdout: str) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in json.loads(stdout)["checks"]}


def failing(report: dict[str, dict[str, str]]) -> dict[str, str]:
    return {name: row["reason"] for name, row in report.items() if row["result"] == "FAIL"}


@contextlib.contextmanager
def proxy(upstream: str, *, request: Callable[[Headers], Headers] = lambda h: h,
          response: Callable[[Headers], Headers] = lambda h: h) -> Iterator[str]:
    """A loopback reverse proxy in front of `upstream` that rewrites the request's and the
    answer's headers; otherwise it passes everything through, its own banner included."""
    target = urlsplit(upstream).netloc

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            sent = request([(k, v) for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP])
            connection = http.client.HTTPConnection(target, timeout=60)
            try:
                connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for key, value in sent:
                    connection.putheader(key, value)
                if body is not None:
                    connection.putheader("Content-Length", str(len(body)))
                connection.endheaders(body)
                answer = connection.getresponse()
                content = answer.read()
                headers = response([(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP])
                # send_response_only: no Server or Date of the proxy's own; the upstream's pass through.
                self.send_response_only(answer.status)
            finally:
                connection.close()
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = LoopbackServer(Handler, name="verify-proxy").start()
    try:
        yield server.url
    finally:
        server.stop()


def test_verify_passes_against_the_local_twin(local_stack, api, tokens):
    allowed_origin = local_stack.service.settings["CORS_ALLOWED_ORIGINS"].split(",")[0]

    code, stdout = verify(api, "--allowed-origin", allowed_origin, admin_token=tokens("admin"))

    report = rows(stdout)
    assert failing(report) == {}
    assert code == 0
    # Only the https-only check has nothing to look at on the loopback twin.
    assert {name for name, row in report.items() if row["result"] == "SKIP"} == {"tls"}


def test_verify_fails_naming_the_check_when_a_security_header_is_stripped(api, tokens):
    def strip_nosniff(headers: Headers) -> Headers:
        return [(k, v) for k, v in headers if k.lower() != "x-content-type-options"]

    with proxy(api, response=strip_nosniff) as broken:
        code, stdout = verify(broken, admin_token=tokens("admin"), as_json=False)

    assert code == 1
    assert re.search(r"^security headers +FAIL +.*X-Content-Type-Options", stdout, re.MULTILINE), stdout
    assert re.search(r"^auth: no token +PASS ", stdout, re.MULTILINE), stdout
    assert stdout.splitlines()[-1].startswith("FAILED: ")


def test_verify_fails_naming_the_check_when_requests_without_a_token_get_in(api, tokens):
    # A shopper of its own: the suite will call every route with this token, logout included.
    _, session = registered_and_signed_in(api, "customer")

    def let_in(headers: Headers) -> Headers:
        if any(k.lower() == "authorization" for k, _ in headers):
            return headers
        return [*headers, ("Authorization", f"Bearer {session['access_token']}")]

    with proxy(api, request=let_in) as broken:
        code, stdout = verify(broken, admin_token=tokens("admin"))

    report = rows(stdout)
    assert code == 1
    assert report["auth: no token"]["result"] == "FAIL"
    assert "without a token" in report["auth: no token"]["reason"]
    # The proxy leaves forged tokens alone, and the gateway still refuses them.
    assert report["auth: forged token"]["result"] == "PASS", report["auth: forged token"]
    assert not json.loads(stdout)["passed"]
