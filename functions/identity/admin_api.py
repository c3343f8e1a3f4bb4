"""Identity admin API: find users, change role, suspend/reactivate, set recruiter, audit trail.
Every change is written with its audit entry in one transaction (bazaar.identity.services)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from bazaar.identity import domain, services, wiring
from bazaar.identity.domain import AuditAction, AuditQuery, Role, UserStatus
from bazaar.identity.schemas import (
    AuditEntryOut, AuditListOut, ReasonIn, RecruiterIn, RoleChangeIn, UserListOut, UserOut,
)
from bazaar.platform.clock import DateTimeText, utc_now
from bazaar.platform.http import HttpApi
from bazaar.platform.ids import id_pattern
from bazaar.platform.observability import logger, metrics, tracer
from bazaar.platform.cursors import cursor_codec
from bazaar.platform.pagination import clamp_limit
from bazaar.platform.settings import from_environment
from bazaar.identity.settings import IdentitySettings

settings = from_environment(IdentitySettings)
api = HttpApi(settings)
app = api.app
identity = wiring.build(settings, with_audit=True)
audit_trail = wiring.audit_trail(settings)

Limit = Annotated[int | None, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=2048)]
# An admin may not change their own role or suspend themselves; a recruiter must be an active scout.
CHANGES: dict[int, OpenAPIResponse] = {200: {"description": "The user after the change"},
                                       409: {"description": "CONFLICT: the change is refused for this user"}}


@app.get("/v1/admin/users", summary="List or find users")
def list_users(
    email: Annotated[str | None, Query(max_length=254)] = None,
    role: Annotated[Literal["customer", "seller", "scout", "admin"] | None, Query()] = None,
    status: Annotated[Literal["active", "suspended"] | None, Query()] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> UserListOut:
    codec = cursor_codec(settings, f"admin-users:{role}:{status}")
    page = services.find_users(
        users=identity.users, email=email, role=Role(role) if role else None,
        status=UserStatus(status) if status else None, limit=clamp_limit(limit), position=codec.decode(cursor),
    )
    return UserListOut(items=[UserOut.of(u) for u in page.items], next_cursor=codec.encode(page.next_position))


@app.get("/v1/admin/users/<user_id>", summary="One user")
def get_user(user_id: str) -> UserOut:
    return UserOut.of(services.get_user(user_id, users=identity.users))


def _change(user_id: str, decide, reason: str | None) -> UserOut:
    user = services.apply_admin_change(
        api.caller.user_id, user_id, decide,
        users=identity.users, directory=identity.directory, request_id=api.request_id, reason=reason, now=utc_now,
    )
    return UserOut.of(user)


@app.post("/v1/admin/users/<user_id>/role", summary="Change a user's role", responses=CHANGES)
def change_role(user_id: str, body: RoleChangeIn) -> UserOut:
    actor = api.caller.user_id
    return _change(user_id, lambda user: domain.change_role(actor, user, Role(body.role)), body.reason)


@app.post("/v1/admin/users/<user_id>/suspend", summary="Suspend a user", responses=CHANGES)
def suspend(user_id: str, body: ReasonIn) -> UserOut:
    actor, now_ms = api.caller.user_id, services.epoch_ms(utc_now())
    return _change(user_id, lambda user: domain.suspend(actor, user, now_ms), body.reason)


@app.post("/v1/admin/users/<user_id>/reactivate", summary="Reactivate a user", responses=CHANGES)
def reactivate(user_id: str, body: ReasonIn) -> UserOut:
    return _change(user_id, domain.reactivate, body.reason)


@app.post("/v1/admin/users/<user_id>/recruiter", summary="Set or clear a user's recruiter", responses=CHANGES)
def set_recruiter(user_id: str, body: RecruiterIn) -> UserOut:
    recruiter = services.recruiter_for(body.recruiter_id, users=identity.users) if body.recruiter_id else None
    return _change(user_id, lambda user: domain.set_recruiter(user, recruiter), body.reason)


@app.get("/v1/admin/audit", summary="The admin audit trail")
def audit(
    actor_id: Annotated[str | None, Query(pattern=id_pattern("usr"))] = None,
    # A user, or an order (admin overrides after payment are audited against the order).
    target_id: Annotated[str | None, Query(pattern=f"{id_pattern('usr')}|{id_pattern('ord')}|{id_pattern('pay')}")] = None,
    action: Annotated[Literal[tuple(a.value for a in AuditAction)] | None, Query()] = None,  # type: ignore[valid-type]
    since: Annotated[DateTimeText | None, Query()] = None,
    until: Annotated[DateTimeText | None, Query()] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> AuditListOut:
    query = AuditQuery(actor_id=actor_id, target_id=target_id, action=AuditAction(action) if action else None,
                       since=since, until=until)
    codec = cursor_codec(settings, f"audit:{actor_id}:{target_id}:{action}:{since}:{until}")
    page = services.find_audit(query, trail=audit_trail, limit=clamp_limit(limit), position=codec.decode(cursor))
    return AuditListOut(items=[AuditEntryOut.of(e) for e in page.items], next_cursor=codec.encode(page.next_position))


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event, context):
    return api.handle(event, context)
