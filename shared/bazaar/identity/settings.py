"""The identity context's typed settings: the Cognito pool every identity function talks to."""

from __future__ import annotations

from pydantic import Field

from bazaar.platform.settings import Settings


class IdentitySettings(Settings):
    region: str = Field(alias="AWS_REGION", min_length=1)
    user_pool_id: str = Field(alias="BAZAAR_USER_POOL_ID", min_length=1)
    user_pool_client_id: str = Field(alias="BAZAAR_USER_POOL_CLIENT_ID", min_length=1)
    user_pool_jwks_url: str = Field(alias="BAZAAR_USER_POOL_JWKS_URL", pattern="^https?://")


class IdentityApiSettings(IdentitySettings):
    # Where a scout's shareable referral link points (the sign-up page).
    referral_link_base: str = Field(alias="REFERRAL_LINK_BASE", pattern="^https?://")
