"""What admins do to users, over HTTP: each change holds at once for tokens already issued, and
each is in the audit trail with who, what, before/after and the request id."""

from __future__ import annotations

import pytest

from tests.e2e.identity_helpers import PASSWORD, get, login, post, register, registered_and_signed_in


@pytest.fixture(scope="module")
def admin(tokens) -> str:
    return tokens("admin")


@pytest.fixture(scope="module")
def admin_id(api, admin) -> str:
    return get(f"{api}/v1/me", admin).json()["user_id"]


def _audit(api, admin, **filters) -> list[dict]:
    response = get(f"{api}/v1/admin/audit", admin, params=filters)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_suspension_ends_every_session_at_once_and_is_audited(api, admin, admin_id):
    user, session = registered_and_signed_in(api, "seller")
    assert get(f"{api}/v1/me", session["access_token"]).status_code == 200

    suspended = post(f"{api}/v1/admin/users/{user['user_id']}/suspend", {"reason": "fraud report"}, admin,
                     headers={"X-Request-Id": "req-suspend-1"})
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"

    assert get(f"{api}/v1/me", session["access_token"]).status_code == 401
    assert post(f"{api}/v1/auth/refresh", {"refresh_token": session["refresh_token"]}).status_code == 401
    assert post(f"{api}/v1/auth/login", {"email": user["email"], "password": PASSWORD}).status_code in (401, 403)

    (entry,) = _audit(api, admin, target_id=user["user_id"])
    assert entry["actor_id"] == admin_id
    assert entry["action"] == "user.suspended"
    assert entry["before"]["status"] == "active" and entry["after"]["status"] == "suspended"
    assert entry["request_id"] == "req-suspend-1"
    assert entry["reason"] == "fraud report"
    assert entry["at"].endswith("Z")

    # Suspending again changes nothing and records nothing.
    assert post(f"{api}/v1/admin/users/{user['user_id']}/suspend", {}, admin).status_code == 200
    assert len(_audit(api, admin, target_id=user["user_id"])) == 1

    reactivated = post(f"{api}/v1/admin/users/{user['user_id']}/reactivate", {}, admin)
    assert reactivated.status_code == 200 and reactivated.json()["status"] == "active"
    # The old session stays ended; a new sign-in works.
    assert get(f"{api}/v1/me", session["access_token"]).status_code == 401
    assert get(f"{api}/v1/me", login(api, user["email"])["access_token"]).status_code == 200
    actions = [e["action"] for e in _audit(api, admin, target_id=user["user_id"])]
    assert actions == ["user.reactivated", "user.suspended"]  # newest first


def test_role_change_holds_for_the_token_already_issued(api, admin):
    user, session = registered_and_signed_in(api, "customer")
    assert get(f"{api}/v1/scouts/me/referral", session["access_token"]).status_code == 403

    changed = post(f"{api}/v1/admin/users/{user['user_id']}/role", {"role": "scout"}, admin)
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "scout" and changed.json()["referral_code"]

    referral = get(f"{api}/v1/scouts/me/referral", session["access_token"])
    assert referral.status_code == 200, referral.text
    assert referral.json()["referral_code"] == changed.json()["referral_code"]
    (entry,) = _audit(api, admin, target_id=user["user_id"], action="user.role_changed")
    assert (entry["before"]["role"], entry["after"]["role"]) == ("customer", "scout")


def test_setting_a_recruiter_needs_an_active_scout(api, admin):
    scout = register(api, "scout")
    seller = register(api, "seller")
    customer = register(api, "customer")

    refused = post(f"{api}/v1/admin/users/{seller['user_id']}/recruiter", {"recruiter_id": customer["user_id"]}, admin)
    assert refused.status_code == 409
    missing = post(f"{api}/v1/admin/users/{seller['user_id']}/recruiter",
                   {"recruiter_id": "usr_00000000000000000000000000"}, admin)
    assert missing.status_code == 404

    fixed = post(f"{api}/v1/admin/users/{seller['user_id']}/recruiter",
                 {"recruiter_id": scout["user_id"], "reason": "scout onboarded them by phone"}, admin)
    assert fixed.status_code == 200 and fixed.json()["recruiter_id"] == scout["user_id"]
    cleared = post(f"{api}/v1/admin/users/{seller['user_id']}/recruiter", {"recruiter_id": None}, admin)
    assert cleared.status_code == 200 and cleared.json()["recruiter_id"] is None
    entries = _audit(api, admin, target_id=seller["user_id"])
    assert [(e["before"]["recruiter_id"], e["after"]["recruiter_id"]) for e in entries] == [
        (scout["user_id"], None), (None, scout["user_id"])]


def test_a_suspended_scouts_code_no_longer_recruits(api, admin):
    scout = register(api, "scout")
    assert post(f"{api}/v1/admin/users/{scout['user_id']}/suspend", {}, admin).status_code == 200
    response = post(f"{api}/v1/auth/register", {"email": f"r-{scout['user_id'][-8:].lower()}@example.in",
                                                "password": PASSWORD, "name": "R", "role": "customer",
                                                "referral_code": scout["referral_code"]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "REFERRAL_CODE_INVALID"


def test_admins_cannot_suspend_or_demote_themselves(api, admin, admin_id):
    assert post(f"{api}/v1/admin/users/{admin_id}/suspend", {}, admin).status_code == 409
    assert post(f"{api}/v1/admin/users/{admin_id}/role", {"role": "customer"}, admin).status_code == 409
    assert get(f"{api}/v1/me", admin).json()["role"] == "admin"


def test_find_users_by_email_and_list_by_role_with_a_cursor(api, admin):
    sellers = [register(api, "seller") for _ in range(3)]
    found = get(f"{api}/v1/admin/users", admin, params={"email": sellers[0]["email"].upper()})
    assert [u["user_id"] for u in found.json()["items"]] == [sellers[0]["user_id"]]

    seen, cursor = [], None
    for _ in range(50):
        params = {"role": "seller", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = get(f"{api}/v1/admin/users", admin, params=params).json()
        assert all(u["role"] == "seller" for u in page["items"])
        seen += [u["user_id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert {s["user_id"] for s in sellers} <= set(seen)
    assert len(seen) == len(set(seen))

    other_filter = get(f"{api}/v1/admin/users", admin, params={"role": "customer", "cursor": cursor or "x"})
    assert other_filter.status_code == 400


def test_audit_filters_and_pages(api, admin, admin_id):
    targets = [register(api, "customer") for _ in range(3)]
    for target in targets:
        assert post(f"{api}/v1/admin/users/{target['user_id']}/role", {"role": "seller"}, admin).status_code == 200

    mine = _audit(api, admin, actor_id=admin_id, action="user.role_changed", limit=100)
    assert {t["user_id"] for t in targets} <= {e["target_id"] for e in mine}
    first = get(f"{api}/v1/admin/audit", admin, params={"action": "user.role_changed", "limit": 1}).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = get(f"{api}/v1/admin/audit", admin,
                 params={"action": "user.role_changed", "limit": 1, "cursor": first["next_cursor"]}).json()
    assert second["items"][0]["audit_id"] != first["items"][0]["audit_id"]
    assert second["items"][0]["at"] <= first["items"][0]["at"]

    later = first["items"][0]["at"]
    assert _audit(api, admin, since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00Z") == []
    assert any(e["audit_id"] == first["items"][0]["audit_id"] for e in _audit(api, admin, since=later, limit=100))
    # An open-ended range on either side (this once sent DynamoDB an empty key bound: 500).
    assert any(e["audit_id"] == first["items"][0]["audit_id"] for e in _audit(api, admin, until=later, limit=100))
    assert _audit(api, admin, until="2000-01-01T00:00:00Z") == []

    tampered = first["next_cursor"][:-2] + ("AA" if not first["next_cursor"].endswith("AA") else "BB")
    response = get(f"{api}/v1/admin/audit", admin, params={"action": "user.role_changed", "cursor": tampered})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"


def test_an_unknown_user_is_404(api, admin):
    assert get(f"{api}/v1/admin/users/usr_00000000000000000000000000", admin).status_code == 404
    assert post(f"{api}/v1/admin/users/usr_00000000000000000000000000/suspend", {}, admin).status_code == 404
