"""Disposable users for identity tests: each test registers its own, so logging out or
suspending never touches the seeded accounts other tests share."""

from __future__ import annotations

import uuid

import requests

from tests.conftest import login as login_with_password

PASSWORD = "Correct-Horse-9-battery"


def unique_email(label: str = "user") -> str:
    return f"{label}-{uuid.uuid4().hex[:12]}@example.in"


def post(url: str, body=None, token: str | None = None, headers: dict | None = None, **kwargs) -> requests.Response:
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    return requests.post(url, json=body, headers=headers, timeout=30, **kwargs)


def get(url: str, token: str | None = None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url, headers=headers, timeout=30, **kwargs)


def register(api: str, role: str, **extra) -> dict:
    email = extra.pop("email", None) or unique_email(role)
    body = {"email": email, "password": PASSWORD, "name": f"Test {role}", "role": role, **extra}
    response = post(f"{api}/v1/auth/register", body)
    assert response.status_code == 201, response.text
    return {**response.json(), "password": PASSWORD}


def login(api: str, email: str, password: str = PASSWORD, totp_secret: str | None = None) -> dict:
    """Tokens, answering the one-time-code challenge with `totp_secret` when the account has one."""
    return login_with_password(api, email, password, totp_secret)


def registered_and_signed_in(api: str, role: str, **extra) -> tuple[dict, dict]:
    user = register(api, role, **extra)
    return user, login(api, user["email"])
