"""Writes what is generated from the code for clients: the OpenAPI document the ops API serves
(shared/bazaar/ops/openapi.json) and the error-code table (docs/errors.md).

    python -m infra.apidocs          # write both
    python -m infra.apidocs --check  # exit 1, naming the stale files, if either is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from infra.apidocs import errors, openapi
from infra.description import SERVICE


def outputs() -> dict[Path, str]:
    return {openapi.DOCUMENT_PATH: openapi.generate(SERVICE), errors.ERRORS_PATH: errors.render()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, text in outputs().items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.relative_to(openapi.ROOT))
        if not check:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{path} {'is out of date: run `make docs`' if check else 'written'}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
