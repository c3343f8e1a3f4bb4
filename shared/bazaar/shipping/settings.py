"""The shipping context's typed settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from bazaar.orders.settings import OrderBookSettings


class ShippingSettings(OrderBookSettings):
    """Functions that call Shiprocket (infra/description/contexts/shipping.py gives them its URL)."""

    shiprocket_base_url: str = Field(alias="SHIPROCKET_BASE_URL", pattern="^https?://")


class ShipmentJobSettings(ShippingSettings):
    # The queue's max receive count (from the description), so the job's last attempt marks the
    # order SHIPMENT_FAILED before the message goes to the DLQ; and the shop's email, which
    # Shiprocket requires on every order.
    shipments_max_receive_count: int = Field(alias="SHIPMENTS_MAX_RECEIVE_COUNT", ge=1)
    shipping_contact_email: str = Field(alias="SHIPPING_CONTACT_EMAIL", min_length=3)


class ShiprocketCredentials(BaseModel):
    """The `shiprocket` secret (infra/description/contexts/shipping.py): the client's login and
    the key the webhook function checks (it needs no client, nor requests)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    api_email: str = Field(min_length=3)
    api_password: str = Field(min_length=1)
    webhook_api_key: str = Field(min_length=16)
    pickup_location: str = Field(min_length=1)
