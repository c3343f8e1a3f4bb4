"""What the identity authorizer tells the API functions besides the caller's id and roles, in the
request's authorizer context (kept apart from bazaar.platform.http so the authorizer does not load
the API framework)."""

# Set on a request whose route the caller's role opens only with a second factor the caller has
# not enrolled: the request carries no roles, and the API answers 403 MFA_REQUIRED.
SECOND_FACTOR_CONTEXT_KEY = "second_factor"
SECOND_FACTOR_REQUIRED = "required"
