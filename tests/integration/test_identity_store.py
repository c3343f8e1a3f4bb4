"""The identity adapters against the local stack's tables, below the HTTP API: what the low-level
client writes and reads back, sign-up's named cancellations, and the shared paging rules (no
cursor to an empty page; a position of the wrong shape is an invalid cursor)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bazaar.identity.adapters.dynamodb import DynamoDbAuditTrail, DynamoDbUsers, audit_put
from bazaar.identity.domain import (
    AdminChange, AuditAction, AuditEntry, AuditQuery, EmailTaken, Role, User, UserStatus,
)
from bazaar.platform.errors import Conflict
from bazaar.platform.pagination import InvalidCursor


@pytest.fixture(scope="module")
def dynamodb(local_stack):
    return local_stack.client("dynamodb")


@pytest.fixture(scope="module")
def users(local_stack, dynamodb):
    names = local_stack.names
    return DynamoDbUsers(names.table_name("identity"), names.table_name("audit"), client=dynamodb)


@pytest.fixture(scope="module")
def trail(local_stack, dynamodb):
    return DynamoDbAuditTrail(local_stack.names.table_name("audit"), client=dynamodb)


def a_user(**changes) -> User:
    token = uuid.uuid4().hex[:10]
    user = User(user_id=f"usr_{token}", sub=f"sub-{token}", email=f"{token}@store.bazaar.local", name="Store Test",
                role=Role.CUSTOMER, status=UserStatus.ACTIVE,
                created_at=datetime(2026, 11, 23, 6, 30, tzinfo=UTC))
    return replace(user, **changes)


def an_entry(target_id: str, at: datetime, action: AuditAction = AuditAction.ROLE_CHANGED) -> AuditEntry:
    return AuditEntry(audit_id=f"aud_{uuid.uuid4().hex[:10]}", at=at, actor_id="usr_store_admin", action=action,
                      target_id=target_id, before={"role": "customer"}, after={"role": "seller"},
                      request_id="req-store", reason=None)


def test_a_user_reads_back_as_written_and_a_taken_email_is_named(users):
    user = a_user()
    users.add(user)

    assert users.get(user.user_id) == user
    assert users.get_by_email(user.email) == user
    assert users.user_id_for_sub(user.sub) == user.user_id
    with pytest.raises(EmailTaken):
        users.add(a_user(email=user.email))
    with pytest.raises(Conflict):
        users.add(a_user(sub=user.sub))  # a taken sub is a conflict, not a taken email


def test_an_admin_change_is_conditional_on_the_version_read(users, trail):
    user = a_user()
    users.add(user)
    promoted = replace(user, role=Role.SELLER, version=2)
    entry = an_entry(user.user_id, datetime.now(UTC).replace(microsecond=0))  # stored to the millisecond

    users.apply(AdminChange(user, promoted, AuditAction.ROLE_CHANGED), entry)
    with pytest.raises(Conflict):  # the same change again: version 1 is no longer there
        users.apply(AdminChange(user, promoted, AuditAction.ROLE_CHANGED), an_entry(user.user_id, datetime.now(UTC)))

    assert users.get(user.user_id) == promoted
    assert trail.find(AuditQuery(target_id=user.user_id), 10, None).items == [entry]


def test_an_exactly_full_last_page_has_no_cursor(dynamodb, local_stack, trail):
    target = f"usr_{uuid.uuid4().hex[:10]}"
    start = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    entries = [an_entry(target, start + timedelta(seconds=n)) for n in range(3)]
    for entry in entries:
        dynamodb.put_item(**audit_put(local_stack.names.table_name("audit"), entry)["Put"])
    newest_first = entries[::-1]

    whole = trail.find(AuditQuery(target_id=target), 3, None)
    assert whole.items == newest_first and whole.next_position is None

    first = trail.find(AuditQuery(target_id=target), 2, None)
    rest = trail.find(AuditQuery(target_id=target), 2, first.next_position)
    assert first.items + rest.items == newest_first and rest.next_position is None

    since = trail.find(AuditQuery(target_id=target, since=start + timedelta(seconds=1)), 10, None)
    assert since.items == newest_first[:2]
    none_of_those = trail.find(AuditQuery(target_id=target, action=AuditAction.SUSPENDED), 10, None)
    assert none_of_those.items == [] and none_of_those.next_position is None


def test_a_position_of_another_shape_is_an_invalid_cursor(trail, users):
    with pytest.raises(InvalidCursor):
        trail.find(AuditQuery(target_id="usr_x"), 2, {"stream": {"S": "audit"}, "at_key": {"S": "x"}})
    with pytest.raises(InvalidCursor):
        users.find(Role.SELLER, None, 2, {"pk": "USER#x", "sk": "PROFILE"})
