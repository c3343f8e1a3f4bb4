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
from infra.description.model import PlaceholderNames


def main(names: list[str]) -> None:
    inherited = dict(os.environ)
    documents = {}
    for name in names:
        function = SERVICE.function(name)
        os.environ.clear()
        os.environ.update(inherited)
        os.environ.update({"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ap-south-1",
                           **SERVICE.function_environment(function, PlaceholderNames())})
        app = importlib.import_module(function.module).app
        documents[name] = app.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
    json.dump(documents, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
