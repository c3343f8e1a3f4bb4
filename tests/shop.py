"""Helpers for the catalogue, checkout and orders tests: fresh accounts per test (so one test's
locks never count against another's cap), products made over HTTP, and the stock invariant read
straight from the stock table."""

from __future__ import annotations

import uuid

import requests

from tests.conftest import bearer, login

ADDRESS = {"name": "Asha Rao", "phone": "9876543210", "line1": "12 MG Road", "city": "Pune",
           "state": "Maharashtra", "pincode": "411001"}


def new_account_token(stack, role: str) -> tuple[str, str]:
    """A new Bazaar user in `role`, made as the seeding makes them and signed in through
    POST /v1/auth/login; returns (access token, user id)."""
    email = f"{role}-{uuid.uuid4().hex[:10]}@test.bazaar.local"
    password = f"{uuid.uuid4().hex}aZ7!"
    user_id = stack.create_account(role, email, password)
    return login(stack.url, email, password)["access_token"], user_id


class Shopper:
    """A new customer with a name and an address of their own, signed in through POST /v1/auth/login."""

    def __init__(self, stack, name: str):
        self.email = f"shopper-{uuid.uuid4().hex[:10]}@test.bazaar.local"
        password = f"{uuid.uuid4().hex}aZ7!"
        self.name = name
        self.password = password
        self.user_id = stack.create_account("customer", self.email, password, name=name)
        self.token = login(stack.url, self.email, password)["access_token"]


def create_product(api: str, seller_token: str, stocks: list[int], category: str = "phones",
                   price_paise: int = 149900, title: str = "Pixel Phone") -> dict:
    response = requests.post(
        f"{api}/v1/seller/products",
        headers=bearer(seller_token),
        json={
            "title": title,
            "description": "A phone.",
            "category": category,
            "variants": [
                {"sku": f"SKU-{n}", "title": f"Colour {n}", "price_paise": price_paise, "stock": units}
                for n, units in enumerate(stocks)
            ],
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()


def checkout(api: str, token: str, lines: list[tuple[dict, int, int]], key: str | None = None) -> requests.Response:
    """lines: (product, variant index, quantity)."""
    body = {
        "items": [{"product_id": p["product_id"], "variant_id": p["variants"][i]["variant_id"], "quantity": q}
                  for p, i, q in lines],
        "shipping_address": ADDRESS,
    }
    return requests.post(f"{api}/v1/checkout", json=body, timeout=60,
                         headers={**bearer(token), "Idempotency-Key": key or uuid.uuid4().hex})


def stock_level(stack, variant_id: str) -> dict:
    item = stack.client("dynamodb").get_item(
        TableName=stack.names.table_name("stock"),
        Key={"pk": {"S": f"VARIANT#{variant_id}"}, "sk": {"S": "STOCK"}},
        ConsistentRead=True,
    )["Item"]
    return {k: int(item[k]["N"]) for k in ("available", "locked", "sold", "received")}


def assert_balanced(stack, variant_id: str) -> dict:
    level = stock_level(stack, variant_id)
    assert min(level.values()) >= 0, level
    assert level["available"] + level["locked"] + level["sold"] == level["received"], level
    return level
