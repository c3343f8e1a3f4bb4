"""The NAT gateway twin (infra/local/egress.py): what it forwards leaves from its own loopback
address, a direct call from 127.0.0.1; and in the egress fixture's local stack a fixed-egress
function's provider calls go through it while its AWS SDK calls reach moto directly, so a
provider that allowlists the egress address accepts that function and refuses the others."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler

import pytest
import requests

from infra.local.egress import EGRESS_ADDRESS, EgressProxy
from infra.local.loopback import LoopbackServer


class _EchoClient(BaseHTTPRequestHandler):
    """Answers with the address the request came from; under /allowlisted/ it answers 403 to any
    other address than the egress one, as RazorpayX does to addresses not on its allowlist."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        client = self.client_address[0]
        refused = self.path.startswith("/allowlisted/") and client != EGRESS_ADDRESS
        body = json.dumps({"client": client, "path": self.path}).encode()
        self.send_response(403 if refused else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture(scope="module")
def echo():
    server = LoopbackServer(_EchoClient, name="echo-client").start()
    yield server
    server.stop()


@pytest.fixture
def proxy():
    egress = EgressProxy("probe-network").start()
    yield egress
    egress.stop()


def test_a_request_through_the_proxy_arrives_from_the_egress_address(echo, proxy):
    through = requests.get(f"{echo.url}/who", proxies={"http": proxy.url}, timeout=10)
    direct = requests.get(f"{echo.url}/who", proxies={"http": ""}, timeout=10)

    assert through.json()["client"] == EGRESS_ADDRESS == proxy.egress_address
    assert direct.json()["client"] == "127.0.0.1"
    assert [(f.method, f.target, f.egress, f.status) for f in proxy.forwarded] == [
        ("GET", f"{echo.url}/who", EGRESS_ADDRESS, 200)
    ]


def test_the_proxy_passes_bodies_and_query_strings_on(echo, proxy):
    answer = requests.get(f"{echo.url}/who?page=2", proxies={"http": proxy.url}, timeout=10)
    assert answer.json() == {"client": EGRESS_ADDRESS, "path": "/who?page=2"}


def test_the_proxy_tunnels_connect_from_the_egress_address(echo, proxy):
    import socket

    with socket.create_connection(("127.0.0.1", int(proxy.url.rsplit(":", 1)[1])), timeout=10) as tunnel:
        tunnel.sendall(f"CONNECT 127.0.0.1:{echo.port} HTTP/1.1\r\nHost: 127.0.0.1:{echo.port}\r\n\r\n".encode())
        established = tunnel.recv(4096)
        tunnel.sendall(b"GET /tunnelled HTTP/1.1\r\nHost: echo\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := tunnel.recv(4096):
            answer += chunk
    assert established.startswith(b"HTTP/1.1 200")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1]) == {"client": EGRESS_ADDRESS, "path": "/tunnelled"}


def test_the_proxy_refuses_destinations_off_this_machine(proxy):
    # 192.0.2.0/24 is reserved for documentation: nothing is contacted, the proxy refuses first.
    answer = requests.get("http://192.0.2.10/v1/payouts", proxies={"http": proxy.url}, timeout=10)
    assert answer.status_code == 502
    assert "127.0.0.0/8 only" in answer.text
    assert [f.status for f in proxy.forwarded] == [502]


def test_stop_is_idempotent_and_safe_before_start():
    never_started = EgressProxy("probe-network")
    never_started.stop()
    never_started.stop()
    assert not never_started.running


# -- the egress fixture's local stack --------------------------------------------------------


def test_only_fixed_egress_functions_get_the_proxy_and_moto_stays_direct(egress_stack):
    proxy = egress_stack.egress
    moto = egress_stack.functions_aws_endpoint.removeprefix("http://")
    for name, runtime in egress_stack.runtimes.items():
        fixed = egress_stack.service.function(name).fixed_egress
        assert proxy.routes(runtime.environment) is fixed, name
        if fixed:
            assert runtime.environment["NO_PROXY"] == runtime.environment["no_proxy"] == moto
        else:
            assert not {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} & set(runtime.environment), name


def test_a_fixed_egress_function_reaches_the_provider_through_the_proxy_and_moto_directly(egress_stack, echo):
    proxy = egress_stack.egress
    before = len(proxy.forwarded)

    result = egress_stack.runtimes["egress-caller"].invoke({"url": f"{echo.url}/allowlisted/payouts"})

    assert not result.failed, result.error
    assert result.payload["status"] == 200
    assert json.loads(result.payload["body"])["client"] == EGRESS_ADDRESS
    assert result.payload["queues"] == 0  # its boto3 call to moto succeeded...
    forwarded = proxy.forwarded[before:]
    # ...without the proxy: the only request it forwarded is the provider call.
    assert [(f.method, f.target) for f in forwarded] == [("GET", f"{echo.url}/allowlisted/payouts")]
    assert not [f for f in proxy.forwarded if egress_stack.functions_aws_endpoint.removeprefix("http://") in f.target]


def test_a_function_without_fixed_egress_is_refused_by_the_allowlisting_provider(egress_stack, echo):
    before = len(egress_stack.egress.forwarded)

    result = egress_stack.runtimes["egress-bystander"].invoke({"url": f"{echo.url}/allowlisted/payouts"})

    assert not result.failed, result.error
    assert result.payload["status"] == 403
    assert json.loads(result.payload["body"])["client"] == "127.0.0.1"
    assert egress_stack.egress.forwarded[before:] == []
