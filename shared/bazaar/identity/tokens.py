"""Checking Cognito access tokens the way API Gateway's Cognito authorizer does (signature against
the pool's keys, expiry, issuer, token use, client), so both twins accept and refuse the same
tokens."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jwt


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or not an access token for our client."""


@dataclass(frozen=True)
class AccessClaims:
    user_id: str  # Cognito `sub`
    username: str
    roles: frozenset[str]
    issued_at: int
    token_id: str  # `origin_jti`: shared by every token of one sign-in session


class TokenVerifier:
    def __init__(self, issuer: str, client_id: str, fetch_jwks: Callable[[], dict]):
        self._issuer = issuer
        self._client_id = client_id
        self._fetch_jwks = fetch_jwks
        self._keys: dict[str, jwt.PyJWK] = {}

    def verify(self, token: str) -> AccessClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("malformed token") from error
        key = self._key(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "token_use", "client_id"]},
                leeway=5,
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        if claims.get("token_use") != "access":
            raise InvalidToken("not an access token")
        if claims.get("client_id") != self._client_id:
            raise InvalidToken("token issued for another client")
        return AccessClaims(
            user_id=claims["sub"],
            username=claims.get("username", claims["sub"]),
            roles=frozenset(claims.get("cognito:groups", [])),
            issued_at=int(claims["iat"]),
            token_id=str(claims.get("origin_jti") or claims.get("jti") or ""),
        )

    def _key(self, kid: str | None) -> jwt.PyJWK:
        if kid not in self._keys:
            # Keys rotate: an unknown kid refreshes the set once before the token is refused.
            self._keys = {k["kid"]: jwt.PyJWK(k) for k in self._fetch_jwks().get("keys", [])}
        key = self._keys.get(kid) if kid is not None else None
        if key is None:
            raise InvalidToken("unknown signing key")
        return key


def pool_verifier(region: str, user_pool_id: str, client_id: str, jwks_url: str) -> TokenVerifier:
    """The verifier for one user pool and app client, fetching the pool's public keys."""
    from bazaar.platform.observability import traced_http_session

    return TokenVerifier(
        issuer=f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}",
        client_id=client_id,
        fetch_jwks=lambda: traced_http_session().get(jwks_url, timeout=3).json(),
    )
