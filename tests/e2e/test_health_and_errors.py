"""GET /health and the error envelope, over HTTP against the local stack."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
import uuid

import requests

from infra.description import SERVICE
from tests.conftest import bearer, get


def test_health_reports_version_and_reachable_dependencies(api):
    response = get(f"{api}/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == SERVICE.settings["BAZAAR_VERSION"]
    assert {d["name"]: (d["kind"], d["status"]) for d in body["dependencies"]} == {
        "dynamodb": ("core", "ok"), "secretsmanager": ("core", "ok"), "phonepe": ("provider", "ok"),
        "shiprocket": ("provider", "ok"), "razorpayx": ("provider", "ok")}
    assert response.headers["X-Request-Id"]


def test_client_request_id_is_echoed(api):
    request_id = f"client-{uuid.uuid4()}"
    response = get(f"{api}/health", headers={"X-Request-Id": request_id})
    assert response.headers["X-Request-Id"] == request_id


def test_health_is_503_while_dynamodb_table_is_gone(local_stack, api):
    from infra.local.aws import create_table

    dynamodb = local_stack.client("dynamodb")
    dynamodb.delete_table(TableName=local_stack.names.table_name("ops"))
    try:
        response = get(f"{api}/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "down"  # a core dependency: nothing can be served (docs/health.md)
        down = {d["name"]: d for d in body["dependencies"]}["dynamodb"]
        assert down["status"] == "down"
        assert down["problem"] == "ResourceNotFoundException"
        assert local_stack.names.table_name("ops") not in response.text  # no internal names leak
    finally:
        create_table(SERVICE, local_stack.moto, local_stack.names, "ops")
    assert get(f"{api}/health").status_code == 200


def test_health_is_503_while_secret_is_unreachable(local_stack, api):
    manager = local_stack.client("secretsmanager")
    secret_id = local_stack.names.secret_id("app-keys")
    saved = manager.get_secret_value(SecretId=secret_id)["SecretString"]
    manager.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
    try:
        response = get(f"{api}/health")
        assert response.status_code == 503
        down = {d["name"]: d for d in response.json()["dependencies"]}["secretsmanager"]
        assert down == {**down, "status": "down", "problem": "ResourceNotFoundException"}
        assert saved not in response.text
    finally:
        manager.create_secret(
            Name=secret_id, SecretString=saved, Tags=[{"Key": "bazaar:secret", "Value": "app-keys"}]
        )
    assert get(f"{api}/health").status_code == 200


def test_unknown_route_is_404_in_the_envelope(api):
    response = get(f"{api}/v1/no-such-thing")

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "NOT_FOUND"
    assert error["request_id"] == response.headers["X-Request-Id"]


def test_known_path_with_other_method_is_404(api):
    response = requests.delete(f"{api}/health", timeout=10)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_body_over_api_gateway_limit_is_413_before_any_function_runs(api):
    response = requests.post(f"{api}/health", data=b"x" * (SERVICE.api.gateway_max_body_bytes + 1), timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_admin_diagnostics_needs_a_token(api):
    response = get(f"{api}/v1/admin/diagnostics")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_admin_diagnostics_refuses_a_forged_token(api, tokens):
    header, payload, _ = tokens("admin").split(".")
    forged = f"{header}.{payload}.{'A' * 342}"
    response = get(f"{api}/v1/admin/diagnostics", headers=bearer(forged))
    assert response.status_code == 401


def test_admin_diagnostics_refuses_other_roles(api, tokens):
    for role in ("customer", "seller", "scout"):
        response = get(f"{api}/v1/admin/diagnostics", headers=bearer(tokens(role)))
        assert response.status_code == 403, role
        assert response.json()["error"]["code"] == "FORBIDDEN"


def test_admin_sees_diagnostics_with_the_last_heartbeat(api, tokens):
    fired = requests.post(f"{api}/_local/schedules/heartbeat/run", timeout=30).json()
    assert fired["ok"], fired

    response = get(f"{api}/v1/admin/diagnostics", headers=bearer(tokens("admin")))

    assert response.status_code == 200
    body = response.json()
    assert body["stage"] == "local"
    assert body["health"]["status"] == "ok"
    assert body["scheduler"]["late"] is False
    # The beat this run recorded, or a later one (the schedule also fires on its own every few minutes).
    fired_at = datetime.fromisoformat(fired["at"].replace("Z", "+00:00"))
    last_beat = datetime.fromisoformat(body["scheduler"]["last_heartbeat_at"].replace("Z", "+00:00"))
    assert fired_at - timedelta(seconds=1) <= last_beat <= datetime.now(UTC) + timedelta(seconds=1)


def _body_routes():
    return [route for _, route in SERVICE.routes if route.method in ("POST", "PUT", "PATCH")]


def test_every_route_answers_an_undecodable_body_with_400_in_the_envelope(api, tokens):
    # Bytes that are not UTF-8 (so not JSON), as a client with a broken encoder sends them.
    for route in _body_routes():
        path = re.sub(r"\{[^}]+\}", "abc123", route.path)
        headers = {"Content-Type": "application/json"}
        if not route.is_public:
            headers |= bearer(tokens(sorted(route.roles)[0].value))
        response = requests.post(f"{api}{path}", data=b"\xff\xfe\x00", headers=headers, timeout=30) \
            if route.method == "POST" else requests.request(route.method, f"{api}{path}", data=b"\xff\xfe\x00",
                                                            headers=headers, timeout=30)
        assert response.status_code == 400, (route.key, response.status_code, response.text)
        assert response.json()["error"]["code"] == "MALFORMED_JSON", route.key


def test_every_webhook_answers_a_body_over_the_limit_with_413_in_the_envelope(api):
    limit = int(SERVICE.settings["MAX_REQUEST_BODY_BYTES"])
    for _, webhook in SERVICE.webhooks:
        body = json.dumps({"padding": "x" * (limit + 1)}).encode()
        response = requests.post(f"{api}{webhook.path}", data=body, headers={"Content-Type": "application/json"},
                                 timeout=30)
        assert response.status_code == 413, (webhook.path, response.status_code, response.text)
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE", webhook.path


def test_methods_api_gateway_does_not_route_are_answered_in_the_envelope(api):
    for method in ("TRACE", "CONNECT", "PROPFIND", "BREW"):
        response = requests.request(method, f"{api}/health", timeout=10)
        assert response.status_code == 404, (method, response.status_code, response.text)
        assert response.headers["Content-Type"].startswith("application/json"), method
        assert response.json()["error"]["code"] == "NOT_FOUND", method


def test_each_sandbox_control_root_the_banner_names_describes_its_controls(local_stack):
    for sandbox in local_stack.sandboxes:
        response = get(f"{sandbox.url}/_sandbox")
        assert response.status_code == 200, (sandbox.name, response.text)
        controls = {(c["method"], c["path"].split("[")[0]) for c in response.json()["controls"]}
        assert {("GET", "/_sandbox"), ("POST", "/_sandbox/reset")} <= controls, sandbox.name
        assert all(c["does"] for c in response.json()["controls"]), sandbox.name


def test_the_scheduled_health_probe_reports_what_health_reports(local_stack, api):
    from infra.local.aws import create_table

    # Given a healthy stack, the probe (fired through the scheduler, as its schedule would) passes.
    passed = requests.post(f"{api}/_local/schedules/health-probe/run", timeout=30).json()
    assert passed["ok"] and passed["result"] == {"healthy": True, "down": []}
    # When DynamoDB's table is gone, the probe reports the failure (and emits HealthCheckPassed 0).
    dynamodb = local_stack.client("dynamodb")
    dynamodb.delete_table(TableName=local_stack.names.table_name("ops"))
    try:
        failed = requests.post(f"{api}/_local/schedules/health-probe/run", timeout=30).json()
    finally:
        create_table(SERVICE, local_stack.moto, local_stack.names, "ops")
    assert failed["ok"] and failed["result"] == {"healthy": False, "down": ["dynamodb"]}
