"""The catalogue over HTTP: sellers' products, sanitised text, ownership, stock adjustments and
the public listing's pagination."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import bearer, get
from tests.shop import assert_balanced, create_product, new_account_token


@pytest.fixture(scope="module")
def seller(local_stack):
    return new_account_token(local_stack, "seller")


def test_seller_creates_a_product_whose_text_is_plain(api, seller):
    token, seller_id = seller
    response = requests.post(
        f"{api}/v1/seller/products",
        headers=bearer(token),
        json={
            "title": "<b>Kurta</b><script>alert('x')</script> &lt;img src=x onerror=alert(1)&gt;",
            "description": "<p>Cotton</p>\n<iframe src='//evil'></iframe>Handmade",
            "category": "clothing",
            "variants": [{"sku": "KRT-M", "title": "<i>M</i>", "price_paise": 89900, "stock": 3,
                          "attributes": {"size": "<u>M</u>"}}],
        },
        timeout=30,
    )

    assert response.status_code == 201, response.text
    product = response.json()
    assert product["seller_id"] == seller_id
    assert product["title"] == "Kurta img src=x onerror=alert(1)"
    assert product["description"] == "Cotton\nHandmade"
    assert product["variants"][0]["title"] == "M"
    assert product["variants"][0]["attributes"] == {"size": "M"}
    assert "<" not in response.text and "alert('x')" not in response.text and "evil" not in response.text
    shown = get(f"{api}/v1/products/{product['product_id']}").json()
    assert shown["variants"][0]["available"] == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seller_id": "someone-else"}, "seller_id"),
        ({"title": "<script>x</script>"}, "title"),  # nothing left once the markup is gone
        ({"title": "x" * 121}, "title"),
        ({"description": "d" * 2001}, "description"),
        ({"variants": []}, "variants"),
    ],
)
def test_invalid_or_unknown_fields_are_refused(api, seller, change, field):
    body = {"title": "Saree", "category": "clothing",
            "variants": [{"sku": "S-1", "title": "Red", "price_paise": 100000, "stock": 1}], **change}
    response = requests.post(f"{api}/v1/seller/products", headers=bearer(seller[0]), json=body, timeout=30)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert any(d["field"].startswith(field) for d in error["details"]), error


def test_price_in_rupee_float_is_refused(api, seller):
    body = {"title": "Saree", "category": "clothing",
            "variants": [{"sku": "S-1", "title": "Red", "price_paise": 999.5, "stock": 1}]}
    response = requests.post(f"{api}/v1/seller/products", headers=bearer(seller[0]), json=body, timeout=30)
    assert response.status_code == 400


def test_only_sellers_create_products(api, tokens):
    response = requests.post(f"{api}/v1/seller/products", headers=bearer(tokens("customer")), json={}, timeout=30)
    assert response.status_code == 403


def test_seller_edits_own_product_but_not_anothers(local_stack, api, seller):
    product = create_product(api, seller[0], [2])
    variant_id = product["variants"][0]["variant_id"]
    edited = requests.patch(
        f"{api}/v1/seller/products/{product['product_id']}",
        headers=bearer(seller[0]),
        json={"title": "Pixel Phone 2", "variants": [{"variant_id": variant_id, "price_paise": 159900}],
              "new_variants": [{"sku": "SKU-NEW", "title": "Blue", "price_paise": 159900, "stock": 4}]},
        timeout=30,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["title"] == "Pixel Phone 2"
    assert [v["price_paise"] for v in edited.json()["variants"]] == [159900, 159900]
    new_variant = edited.json()["variants"][1]["variant_id"]
    assert assert_balanced(local_stack, new_variant)["available"] == 4

    other_token, _ = new_account_token(local_stack, "seller")
    for attempt in (
        requests.patch(f"{api}/v1/seller/products/{product['product_id']}", headers=bearer(other_token),
                       json={"title": "Mine now"}, timeout=30),
        requests.post(f"{api}/v1/seller/products/{product['product_id']}/variants/{variant_id}/stock",
                      headers=bearer(other_token), json={"delta": 100}, timeout=30),
    ):
        assert attempt.status_code == 404, attempt.text
    assert get(f"{api}/v1/products/{product['product_id']}").json()["title"] == "Pixel Phone 2"


def test_stock_is_received_and_written_off_never_below_zero(local_stack, api, seller):
    product = create_product(api, seller[0], [2])
    variant_id = product["variants"][0]["variant_id"]
    url = f"{api}/v1/seller/products/{product['product_id']}/variants/{variant_id}/stock"

    received = requests.post(url, headers=bearer(seller[0]), json={"delta": 8}, timeout=30)
    assert received.status_code == 200
    assert received.json() == {"variant_id": variant_id, "available": 10, "locked": 0, "sold": 0, "received": 10}
    too_many = requests.post(url, headers=bearer(seller[0]), json={"delta": -11}, timeout=30)
    assert too_many.status_code == 409
    written_off = requests.post(url, headers=bearer(seller[0]), json={"delta": -10}, timeout=30)
    assert written_off.json()["available"] == 0
    assert assert_balanced(local_stack, variant_id)["received"] == 0


# -- pagination ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listed(local_stack, api):
    """A seller with exactly 5 products in a category nobody else uses."""
    token, seller_id = new_account_token(local_stack, "seller")
    category = f"cat-{seller_id[-8:].lower()}"
    ids = [create_product(api, token, [1], category=category, title=f"Item {n}")["product_id"] for n in range(5)]
    return seller_id, category, ids


def _pages(api, query: str) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        url = f"{api}/v1/products?{query}" + (f"&cursor={cursor}" if cursor else "")
        body = get(url).json()
        pages.append([p["product_id"] for p in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


def test_pages_walk_every_product_newest_first(api, listed):
    seller_id, _, ids = listed
    assert _pages(api, f"seller_id={seller_id}&limit=2") == [ids[::-1][0:2], ids[::-1][2:4], ids[::-1][4:]]


def test_exactly_full_last_page_has_no_cursor(api, listed):
    _, category, ids = listed
    assert _pages(api, f"category={category}&limit=5") == [ids[::-1]]


def test_empty_list_and_both_filters(api, listed):
    seller_id, category, ids = listed
    assert get(f"{api}/v1/products?category=no-such-category").json() == {"items": [], "next_cursor": None}
    assert _pages(api, f"category={category}&seller_id={seller_id}&limit=4") == [ids[::-1][:4], ids[::-1][4:]]


def test_limit_is_capped_at_100_and_must_be_positive(api):
    assert len(get(f"{api}/v1/products?limit=1000").json()["items"]) <= 100
    assert get(f"{api}/v1/products?limit=0").status_code == 400


def test_tampered_or_foreign_cursor_is_400(api, listed):
    seller_id, category, _ = listed
    cursor = get(f"{api}/v1/products?seller_id={seller_id}&limit=2").json()["next_cursor"]
    tampered = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    for url in (f"{api}/v1/products?seller_id={seller_id}&cursor={tampered}",
                f"{api}/v1/products?category={category}&cursor={cursor}"):  # another list's cursor
        response = get(url)
        assert response.status_code == 400, url
        assert response.json()["error"]["details"] == [{"field": "cursor", "issue": "invalid"}]


def test_unknown_product_is_404(api):
    assert get(f"{api}/v1/products/prd_01M83M28PEZ3CPWFP4AXS1FFTF").status_code == 404
