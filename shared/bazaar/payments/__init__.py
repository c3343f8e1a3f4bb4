"""Payments: taking money through PhonePe (v2 Standard Checkout, or the older v1 PG API),
hearing about it through webhooks, and re-confirming every verdict with PhonePe's status API."""
