"""Users, sessions, failed-login counters (the `identity` table) and the audit trail (the
`audit` table) in DynamoDB.

identity table items (pk / sk):
  USER#<user_id> / PROFILE            the user; `version` guards concurrent admin changes
  USER#<user_id> / SESSION#<origin_jti>  one sign-in, with when it began
  EMAIL#<email>  / EMAIL              claims an email: the uniqueness guard
  SUB#<sub>      / SUB                Cognito sub -> user id (never changes)
  REFCODE#<code> / REFCODE            a scout's referral code -> user id
  FAILS#<key>    / WINDOW#<n>         failed sign-ins of one account or IP in window n
  SIGNIN#<hash>  / PENDING            a sign-in waiting for its one-time code (hash of the client's session)
audit table: stream "audit" / "<at>#<audit_id>", one item per admin change, only ever added.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from bazaar.identity.domain import (
    AdminChange,
    AuditAction,
    AuditEntry,
    AuditQuery,
    EmailTaken,
    Page,
    PendingSignIn,
    ReferralSource,
    Role,
    Session,
    User,
    UserStatus,
)
from bazaar.platform import aws
from bazaar.platform.dynamo import (
    batch_get,
    Transaction,
    TransactionCancelled,
    error_code,
    from_item,
    query_page,
    to_item,
    to_value,
    valid_position,
)
from bazaar.platform.errors import Conflict
from bazaar.platform.pagination import InvalidCursor

USERS_LISTING = "USER"
AUDIT_STREAM = "audit"
_USERS_BY_CREATION_KEYS = ("pk", "sk", "listing", "listed_at")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _key(pk: str, sk: str) -> dict[str, dict]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _expires_at(after_seconds: int) -> int:
    # A TTL attribute: whole seconds since the epoch.
    return int((datetime.now(UTC) + timedelta(seconds=after_seconds)).timestamp())


def _audit_item(entry: AuditEntry) -> dict[str, dict]:
    # `before` and `after` are stored as JSON text (strings), as they always have been.
    return to_item({
        "stream": AUDIT_STREAM,
        "at_key": f"{_iso(entry.at)}#{entry.audit_id}",
        "audit_id": entry.audit_id,
        "at": _iso(entry.at),
        "actor_id": entry.actor_id,
        "action": entry.action.value,
        "target_id": entry.target_id,
        "before": json.dumps(entry.before),
        "after": json.dumps(entry.after),
        "request_id": entry.request_id,
        "reason": entry.reason,
    })


def audit_put(audit_table: str, entry: AuditEntry) -> dict:
    """The audit entry as one Put of a TransactWriteItems, for a transaction that writes an admin
    change with it (this context's, or another's such as orders): append-only, written once and
    never overwritten."""
    return {"Put": {"TableName": audit_table, "Item": _audit_item(entry),
                    "ConditionExpression": "attribute_not_exists(#stream)",
                    "ExpressionAttributeNames": {"#stream": "stream"}}}


def _checked(position: dict[str, Any] | None, key_attributes: tuple[str, ...]) -> dict[str, Any] | None:
    # Signed, so not forged; but one signed before the position's shape changed is refused, not a 500.
    if not valid_position(position, key_attributes):
        raise InvalidCursor()
    return position


class DynamoDbUsers:
    def __init__(self, identity_table: str, audit_table: str | None = None, *, client: Any = None):
        self._client = client or aws.client("dynamodb")
        self._table = identity_table
        self._audit_table = audit_table

    # -- reads --------------------------------------------------------------------------------

    def get(self, user_id: str) -> User | None:
        item = self._get(f"USER#{user_id}", "PROFILE")
        return _user(item) if item else None

    def get_by_email(self, email: str) -> User | None:
        return self._follow(f"EMAIL#{email}", "EMAIL")

    def user_id_for_sub(self, sub: str) -> str | None:
        pointer = self._get(f"SUB#{sub}", "SUB")
        return pointer["user_id"] if pointer else None

    def get_by_referral_code(self, code: str) -> User | None:
        return self._follow(f"REFCODE#{code}", "REFCODE")

    def _follow(self, pk: str, sk: str) -> User | None:
        pointer = self._get(pk, sk)
        return self.get(pointer["user_id"]) if pointer else None

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=_key(pk, sk), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def user_and_session(self, user_id: str, session_id: str) -> tuple[User | None, Session | None]:
        keys = [_key(f"USER#{user_id}", "PROFILE"), _key(f"USER#{user_id}", f"SESSION#{session_id}")]
        user, session = None, None
        for item in batch_get(self._client, self._table, keys):
            if item["sk"] == "PROFILE":
                user = _user(item)
            else:
                session = Session(user_id, item["sk"].removeprefix("SESSION#"), int(item["started_at_ms"]))
        return user, session

    def find(self, role: Role | None, status: UserStatus | None, limit: int,
             position: dict[str, Any] | None) -> Page:
        names = {"#listing": "listing"}
        values = {":listing": to_value(USERS_LISTING)}
        filters = []
        if role is not None:
            names["#role"], values[":role"] = "role", to_value(role.value)
            filters.append("#role = :role")
        if status is not None:
            names["#status"], values[":status"] = "status", to_value(status.value)
            filters.append("#status = :status")
        query: dict[str, Any] = {
            "TableName": self._table, "IndexName": "users-by-creation", "KeyConditionExpression": "#listing = :listing",
            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values, "ScanIndexForward": False,
        }
        if filters:
            query["FilterExpression"] = " AND ".join(filters)
        items, after = query_page(self._client, key_attributes=_USERS_BY_CREATION_KEYS, limit=limit,
                                  start=_checked(position, _USERS_BY_CREATION_KEYS), **query)
        return Page(items=[_user(item) for item in items], next_position=after)

    # -- writes -------------------------------------------------------------------------------

    def add(self, user: User) -> None:
        profile = {**self._profile(user), "listing": USERS_LISTING,
                   "listed_at": f"{_iso(user.created_at)}#{user.user_id}"}
        claims = {"email": (f"EMAIL#{user.email}", "EMAIL"), "sub": (f"SUB#{user.sub}", "SUB")}
        if user.referral_code:
            claims["refcode"] = (f"REFCODE#{user.referral_code}", "REFCODE")
        transaction = Transaction().put("profile", self._table, to_item(profile),
                                        condition="attribute_not_exists(pk)")
        for name, (pk, sk) in claims.items():
            transaction.put(name, self._table, to_item({"pk": pk, "sk": sk, "user_id": user.user_id}),
                            condition="attribute_not_exists(pk)")
        try:
            transaction.run(self._client)
        except TransactionCancelled as cancelled:
            if cancelled.failed("email"):
                raise EmailTaken() from None
            if any(cancelled.failed(name) for name in cancelled.codes):
                raise Conflict("The account could not be created; try again.") from None
            raise

    def apply(self, change: AdminChange, entry: AuditEntry) -> None:
        if self._audit_table is None:
            raise RuntimeError("this repository was built without the audit table")
        after = change.after
        names = {"#role": "role", "#status": "status", "#version": "version"}
        values = {":role": to_value(after.role.value), ":status": to_value(after.status.value),
                  ":version": to_value(after.version), ":read_version": to_value(change.before.version)}
        sets = ["#role = :role", "#status = :status", "#version = :version"]
        removes = []
        if after.recruiter_id:
            sets.append("recruiter_id = :recruiter_id")
            values[":recruiter_id"] = to_value(after.recruiter_id)
        else:
            removes.append("recruiter_id")
        if after.referral_code:
            sets.append("referral_code = :referral_code")
            values[":referral_code"] = to_value(after.referral_code)
        if after.sessions_valid_after_ms != change.before.sessions_valid_after_ms:
            # Only when this change ends sessions (suspension): never write back a stale value
            # over a logout that happened since the user was read.
            sets.append("sessions_valid_after_ms = :sessions_valid_after_ms")
            values[":sessions_valid_after_ms"] = to_value(after.sessions_valid_after_ms)
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        transaction = (
            Transaction()
            .update("profile", self._table, _key(f"USER#{after.user_id}", "PROFILE"), expression,
                    condition="#version = :read_version", names=names, values=values)
            .add("audit", audit_put(self._audit_table, entry))
        )
        if change.gives_referral_code:
            transaction.put(
                "refcode", self._table,
                to_item({"pk": f"REFCODE#{after.referral_code}", "sk": "REFCODE", "user_id": after.user_id}),
                condition="attribute_not_exists(pk)",
            )
        try:
            transaction.run(self._client)
        except TransactionCancelled:
            raise Conflict("The user was changed by someone else meanwhile; reload and retry.") from None

    def end_sessions(self, user_id: str, valid_after_ms: int) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(f"USER#{user_id}", "PROFILE"),
                UpdateExpression="SET sessions_valid_after_ms = :valid_after",
                # Never moves backwards: a late logout cannot revive sessions a suspension ended.
                ConditionExpression="attribute_exists(pk) AND sessions_valid_after_ms < :valid_after",
                ExpressionAttributeValues={":valid_after": to_value(valid_after_ms)},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def record_session(self, session: Session, expires_after_seconds: int) -> None:
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"USER#{session.user_id}",
            "sk": f"SESSION#{session.session_id}",
            "user_id": session.user_id,
            "started_at_ms": session.started_at_ms,
            # Housekeeping only: a session past its refresh token's life cannot be used anyway.
            "expires_at": _expires_at(expires_after_seconds),
        }))

    def enable_mfa(self, user_id: str) -> None:
        # Not a versioned admin change: turning the caller's own second factor on never conflicts
        # with an admin's edit of role or status.
        self._client.update_item(
            TableName=self._table, Key=_key(f"USER#{user_id}", "PROFILE"),
            UpdateExpression="SET mfa_enabled = :on", ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":on": to_value(True)},
        )

    def hold_sign_in(self, pending: PendingSignIn) -> None:
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"SIGNIN#{pending.session_hash}", "sk": "PENDING",
            "email": pending.email, "user_id": pending.user_id,
            "directory_session": pending.directory_session,
            "started_at_ms": pending.started_at_ms, "expires_at_ms": pending.expires_at_ms,
            # Housekeeping only: expires_at_ms is what refuses a late answer.
            "expires_at": pending.expires_at_ms // 1000 + 60,
        }))

    def take_sign_in(self, session_hash: str) -> PendingSignIn | None:
        # One delete both reads and spends it: two answers racing, only one gets the record.
        old = self._client.delete_item(
            TableName=self._table, Key=_key(f"SIGNIN#{session_hash}", "PENDING"), ReturnValues="ALL_OLD",
        ).get("Attributes")
        if not old:
            return None
        item = from_item(old)
        return PendingSignIn(
            session_hash=session_hash, email=item["email"], user_id=item["user_id"],
            directory_session=item["directory_session"], started_at_ms=int(item["started_at_ms"]),
            expires_at_ms=int(item["expires_at_ms"]),
        )

    def _profile(self, user: User) -> dict[str, Any]:
        return {
            "pk": f"USER#{user.user_id}",
            "sk": "PROFILE",
            "user_id": user.user_id,
            "sub": user.sub,
            "email": user.email,
            "name": user.name,
            "role": user.role.value,
            "status": user.status.value,
            "created_at": _iso(user.created_at),
            "recruiter_id": user.recruiter_id,
            "referral_source": user.referral_source.value if user.referral_source else None,
            "referred_with_code": user.referred_with_code,
            "referral_code": user.referral_code,
            "sessions_valid_after_ms": user.sessions_valid_after_ms,
            "mfa_enabled": user.mfa_enabled,
            "version": user.version,
        }


def _user(item: dict[str, Any]) -> User:
    return User(
        user_id=item["user_id"],
        sub=item["sub"],
        email=item["email"],
        name=item["name"],
        role=Role(item["role"]),
        status=UserStatus(item["status"]),
        created_at=_parse(item["created_at"]),
        recruiter_id=item.get("recruiter_id"),
        referral_source=ReferralSource(item["referral_source"]) if item.get("referral_source") else None,
        referred_with_code=item.get("referred_with_code"),
        referral_code=item.get("referral_code"),
        sessions_valid_after_ms=int(item.get("sessions_valid_after_ms") or 0),
        mfa_enabled=bool(item.get("mfa_enabled")),
        version=int(item.get("version") or 1),
    )


class DynamoDbFailedLogins:
    def __init__(self, identity_table: str, *, client: Any = None):
        self._client = client or aws.client("dynamodb")
        self._table = identity_table

    def count(self, key: str, window: int) -> int:
        item = self._client.get_item(TableName=self._table, Key=_key(f"FAILS#{key}", f"WINDOW#{window}"),
                                     ConsistentRead=True).get("Item")
        return int(from_item(item).get("failures") or 0) if item else 0

    def add(self, key: str, window: int, expires_after_seconds: int) -> None:
        # ADD is atomic: concurrent failures are all counted.
        self._client.update_item(
            TableName=self._table,
            Key=_key(f"FAILS#{key}", f"WINDOW#{window}"),
            UpdateExpression="ADD failures :one SET expires_at = :expires_at",
            ExpressionAttributeValues={":one": to_value(1), ":expires_at": to_value(_expires_at(expires_after_seconds))},
        )

    def clear(self, key: str, window: int) -> None:
        # After a successful sign-in, so best effort: a counter left behind ends with its window.
        with contextlib.suppress(ClientError):
            self._client.delete_item(TableName=self._table, Key=_key(f"FAILS#{key}", f"WINDOW#{window}"))


class DynamoDbAuditTrail:
    # The most selective key leads (by index); the other filters apply to what it returns.
    _INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
        ("target_id", "by-target", ("actor_id", "action")),
        ("actor_id", "by-actor", ("action",)),
        ("action", "by-action", ()),
    )

    def __init__(self, audit_table: str, *, client: Any = None):
        self._client = client or aws.client("dynamodb")
        self._table = audit_table

    def find(self, query: AuditQuery, limit: int, position: dict[str, Any] | None) -> Page:
        wanted = {"target_id": query.target_id, "actor_id": query.actor_id,
                  "action": query.action.value if query.action else None}
        request: dict[str, Any] = {"TableName": self._table, "ScanIndexForward": False}
        names: dict[str, str] = {}
        values: dict[str, dict] = {}
        key_attributes: tuple[str, ...] = ("stream", "at_key")
        lead = next(((a, index, rest) for a, index, rest in self._INDEXES if wanted[a]), None)
        if lead:
            attribute, request["IndexName"], rest = lead
            key_attributes += (attribute,)
        else:
            attribute, rest = "stream", ()
        names["#lead"], values[":lead"] = attribute, to_value(wanted.get(attribute) or AUDIT_STREAM)
        key_condition = "#lead = :lead"
        # Keys are "<iso time>#<id>": "~" sorts after "#", so a bound on the time covers the ids.
        # DynamoDB refuses an empty string in a key condition, hence one-sided bounds alone.
        if query.since and query.until:
            key_condition += " AND #at_key BETWEEN :since AND :until"
        elif query.since:
            key_condition += " AND #at_key >= :since"
        elif query.until:
            key_condition += " AND #at_key <= :until"
        if query.since or query.until:
            names["#at_key"] = "at_key"
        if query.since:
            values[":since"] = to_value(_iso(query.since))
        if query.until:
            values[":until"] = to_value(_iso(query.until) + "~")
        filters = []
        for name in rest:
            if wanted[name]:
                names[f"#{name}"], values[f":{name}"] = name, to_value(wanted[name])
                filters.append(f"#{name} = :{name}")
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        request.update(KeyConditionExpression=key_condition, ExpressionAttributeNames=names,
                       ExpressionAttributeValues=values)
        items, after = query_page(self._client, key_attributes=key_attributes, limit=limit,
                                  start=_checked(position, key_attributes), **request)
        return Page(items=[_entry(i) for i in items], next_position=after)


def _entry(item: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        audit_id=item["audit_id"], at=_parse(item["at"]), actor_id=item["actor_id"],
        action=AuditAction(item["action"]), target_id=item["target_id"],
        before=json.loads(item["before"], strict=False) or {}, after=json.loads(item["after"], strict=False) or {},
        request_id=item["request_id"], reason=item.get("reason"),
    )
