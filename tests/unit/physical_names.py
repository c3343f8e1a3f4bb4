"""Made-up physical names (infra.description.model.PhysicalNames) for reading a function's
environment straight from a description, without either twin."""

from __future__ import annotations


class MadeUpNames:
    def table_name(self, table): return f"t-{table}"
    def queue_url(self, queue): return f"https://sqs/{queue}"
    def secret_id(self, secret): return f"s-{secret}"
    def user_pool_id(self): return "pool"
    def user_pool_client_id(self): return "client"
    def user_pool_jwks_url(self): return "https://jwks"
    def state_machine_arn(self, machine): return f"arn:states:{machine}"
    def websocket_endpoint(self, api): return f"https://abc123.execute-api.ap-south-1.amazonaws.com/live#{api}"
    def flags_identifiers(self): return ("app", "dev", "profile")
