"""Prints the named API functions' own resolver documents as one JSON object (by function name).

Run as a child process by infra.apidocs.openapi.handler_documents: importing a function's module
reads its environment at import time (as at a cold start), so each module is imported under the
environment the description gives that function, with made-up physical names; building the
document calls nothing."""

from __future__ import annotations

import importlib
import json
import os
import sys

from infra.description import SERVICE


class _PlaceholderNames:
    """`PhysicalNames` that name nothing real: the document does not depend on them."""

    def table_name(self, table: str) -> str: return f"bazaar-{table}"
    def queue_url(self, queue: str) -> str: return f"https://sqs.ap-south-1.amazonaws.com/000000000000/{queue}"
    def secret_id(self, secret: str) -> str: return f"bazaar/{secret}"
    def user_pool_id(self) -> str: return "ap-south-1_placeholder"
    def user_pool_client_id(self) -> str: return "placeholder"
    def user_pool_jwks_url(self) -> str: return "https://cognito-idp.ap-south-1.amazonaws.com/placeholder/.well-known/jwks.json"
    def state_machine_arn(self, machine: str) -> str: return f"arn:aws:states:ap-south-1:000000000000:stateMachine:{machine}"
    def websocket_endpoint(self, api: str) -> str: return f"https://placeholder.execute-api.ap-south-1.amazonaws.com/{api}"
    def flags_identifiers(self) -> tuple[str, str, str]: return ("placeholder", "placeholder", "placeholder")


def main(names: list[str]) -> None:
    inherited = dict(os.environ)
    documents = {}
    for name in names:
        function = SERVICE.function(name)
        os.environ.clear()
        os.environ.update(inherited)
        os.environ.update({"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ap-south-1",
                           **SERVICE.function_environment(function, _PlaceholderNames())})
        app = importlib.import_module(function.module).app
        documents[name] = app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
    json.dump(documents, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
