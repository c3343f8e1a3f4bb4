"""A smoke suite to run against any deployment of Bazaar (or the local twin), from outside, as a
client would: `python -m infra.verify --url https://… [--admin-token …]`, or `make verify`.

It needs nothing beyond the standard library and the description (for the contract it checks:
the security headers and CORS rules of infra/description/edge.py, the routes that need a token,
the webhooks). Each check answers PASS, FAIL or SKIP with one line of reason; the run passes when
nothing FAILs. See docs/operations.md, "Verifying a deployment"."""

from infra.verify.checks import CHECKS, Options, Outcome, Result, run

__all__ = ["CHECKS", "Options", "Outcome", "Result", "run"]
