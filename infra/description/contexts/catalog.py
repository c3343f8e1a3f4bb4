from infra.description.model import PUBLIC, Access, Function, Index, Key, Role, Route, Table

SELLER = frozenset({Role.SELLER})

TABLES = (
    Table(
        name="catalog",
        purpose="Products and their variants (SKU, title, price in paise, attributes), one item per product.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
        indexes=(
            # Every public listing is a query on one of these, newest product first (ids sort by time).
            Index("by-listing", Key("listing"), Key("product_id")),
            Index("by-category", Key("category"), Key("product_id")),
            Index("by-seller", Key("seller_id"), Key("product_id")),
        ),
    ),
    Table(
        # Kept apart from orders and history on purpose: every checkout transaction touches these
        # few hot items, and a small table keeps each transaction (and moto's copy of it) cheap.
        name="stock",
        purpose="Per variant stock counters (available, locked, sold, received) and per customer locked units.",
        partition_key=Key("pk"),
        sort_key=Key("sk"),
    ),
)

FUNCTIONS = (
    Function(
        name="catalog-api",
        handler="functions.catalog.api.handler",
        description="Public product listings and the seller's own product and stock management.",
        memory_mb=512,
        timeout_seconds=10,
        tables={"catalog": Access.READ_WRITE, "stock": Access.READ_WRITE},
        secrets=("app-keys",),
        routes=(
            Route("GET", "/v1/products", PUBLIC, "List products, newest first; filter by category or seller"),
            Route("GET", "/v1/products/{product_id}", PUBLIC, "One product with its variants and availability"),
            Route("POST", "/v1/seller/products", SELLER, "Create a product with its variants and opening stock"),
            Route("PATCH", "/v1/seller/products/{product_id}", SELLER, "Edit one of your products"),
            Route(
                "POST",
                "/v1/seller/products/{product_id}/variants/{variant_id}/stock",
                SELLER,
                "Receive stock for (or write stock off) one of your variants",
            ),
        ),
    ),
)
