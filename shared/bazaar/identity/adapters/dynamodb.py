"""Users, sessions, failed-login counters (the `identity` table) and the audit trail (the
`audit` table) in DynamoDB.

identity table items (pk / sk):
  USER#<user_id> / PROFILE            the user; `version` guards concurrent admin changes
  USER#<user_id> / SESSION#<origin_jti>  one sign-in, with when it began
  EMAIL#<email>  / EMAIL              claims an email: the uniqueness guard
  SUB#<sub>      / SUB                Cognito sub -> user id (never changes)
  REFCODE#<code> / REFCODE            a scout's referral code -> user id
  FAILS#<key>    / WINDOW#<n>         failed sign-ins of one account or IP in window n
audit table: stream "audit" / "<at>#<audit_id>", one item per admin change, only ever added.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, TransactWriteError, UpdateError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from bazaar.identity.domain import (
    AdminChange,
    AuditAction,
    AuditEntry,
    AuditQuery,
    EmailTaken,
    Page,
    ReferralSource,
    Role,
    Session,
    User,
    UserStatus,
)
from bazaar.platform.errors import Conflict

USERS_LISTING = "USER"
AUDIT_STREAM = "audit"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def identity_model(table_name: str) -> type[Model]:
    class UsersByCreation(GlobalSecondaryIndex):
        class Meta:
            index_name = "users-by-creation"
            projection = AllProjection()

        listing = UnicodeAttribute(hash_key=True)
        listed_at = UnicodeAttribute(range_key=True)

    class IdentityItem(Model):
        class Meta:
            pass

        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        user_id = UnicodeAttribute(null=True)
        # profile
        sub = UnicodeAttribute(null=True)
        email = UnicodeAttribute(null=True)
        name = UnicodeAttribute(null=True)
        role = UnicodeAttribute(null=True)
        status = UnicodeAttribute(null=True)
        created_at = UnicodeAttribute(null=True)
        recruiter_id = UnicodeAttribute(null=True)
        referral_source = UnicodeAttribute(null=True)
        referred_with_code = UnicodeAttribute(null=True)
        referral_code = UnicodeAttribute(null=True)
        sessions_valid_after_ms = NumberAttribute(null=True)
        version = NumberAttribute(null=True)
        listing = UnicodeAttribute(null=True)
        listed_at = UnicodeAttribute(null=True)
        # sessions and counters
        started_at_ms = NumberAttribute(null=True)
        failures = NumberAttribute(null=True)
        expires_at = TTLAttribute(null=True)

        users_by_creation = UsersByCreation()

    IdentityItem.Meta.table_name = table_name
    return IdentityItem


def audit_model(table_name: str) -> type[Model]:
    def by(name: str, attribute: str) -> type[GlobalSecondaryIndex]:
        meta = type("Meta", (), {"index_name": name, "projection": AllProjection()})
        return type(
            f"Index_{attribute}",
            (GlobalSecondaryIndex,),
            {"Meta": meta, attribute: UnicodeAttribute(hash_key=True), "at_key": UnicodeAttribute(range_key=True)},
        )

    class AuditItem(Model):
        class Meta:
            pass

        stream = UnicodeAttribute(hash_key=True)
        at_key = UnicodeAttribute(range_key=True)
        audit_id = UnicodeAttribute()
        at = UnicodeAttribute()
        actor_id = UnicodeAttribute()
        action = UnicodeAttribute()
        target_id = UnicodeAttribute()
        before = JSONAttribute()
        after = JSONAttribute()
        request_id = UnicodeAttribute()
        reason = UnicodeAttribute(null=True)

        by_actor = by("by-actor", "actor_id")()
        by_target = by("by-target", "target_id")()
        by_action = by("by-action", "action")()

    AuditItem.Meta.table_name = table_name
    return AuditItem


def _audit_item(model: type[Model], entry: AuditEntry) -> Model:
    return model(
        stream=AUDIT_STREAM,
        at_key=f"{_iso(entry.at)}#{entry.audit_id}",
        audit_id=entry.audit_id,
        at=_iso(entry.at),
        actor_id=entry.actor_id,
        action=entry.action.value,
        target_id=entry.target_id,
        before=entry.before,
        after=entry.after,
        request_id=entry.request_id,
        reason=entry.reason,
    )


def audit_put(audit_table: str, entry: AuditEntry) -> dict:
    """The audit entry as one Put of a low-level TransactWriteItems, for another context that
    writes its admin change with boto3 (orders): same item, same append-only condition."""
    return {"Put": {"TableName": audit_table, "Item": _audit_item(audit_model(audit_table), entry).serialize(),
                    "ConditionExpression": "attribute_not_exists(#stream)",
                    "ExpressionAttributeNames": {"#stream": "stream"}}}


class DynamoDbUsers:
    def __init__(self, identity_table: str, audit_table: str | None = None):
        self._item = identity_model(identity_table)
        self._audit = audit_model(audit_table) if audit_table else None
        self._connection = Connection()

    # -- reads --------------------------------------------------------------------------------

    def get(self, user_id: str) -> User | None:
        item = _get(self._item, f"USER#{user_id}", "PROFILE", consistent_read=True)
        return _user(item) if item else None

    def get_by_email(self, email: str) -> User | None:
        return self._follow(f"EMAIL#{email}", "EMAIL")

    def user_id_for_sub(self, sub: str) -> str | None:
        pointer = _get(self._item, f"SUB#{sub}", "SUB", consistent_read=True)
        return pointer.user_id if pointer else None

    def get_by_referral_code(self, code: str) -> User | None:
        return self._follow(f"REFCODE#{code}", "REFCODE")

    def _follow(self, pk: str, sk: str) -> User | None:
        pointer = _get(self._item, pk, sk, consistent_read=True)
        return self.get(pointer.user_id) if pointer else None

    def user_and_session(self, user_id: str, session_id: str) -> tuple[User | None, Session | None]:
        keys = [(f"USER#{user_id}", "PROFILE"), (f"USER#{user_id}", f"SESSION#{session_id}")]
        user, session = None, None
        for item in self._item.batch_get(keys, consistent_read=True):
            if item.sk == "PROFILE":
                user = _user(item)
            else:
                session = Session(user_id, item.sk.removeprefix("SESSION#"), int(item.started_at_ms))
        return user, session

    def find(self, role: Role | None, status: UserStatus | None, limit: int,
             position: dict[str, Any] | None) -> Page:
        condition = None
        if role is not None:
            condition = self._item.role == role.value
        if status is not None:
            by_status = self._item.status == status.value
            condition = by_status if condition is None else condition & by_status
        results = self._item.users_by_creation.query(
            USERS_LISTING, filter_condition=condition, scan_index_forward=False, limit=limit,
            last_evaluated_key=position,
        )
        users = [_user(item) for item in results]
        return Page(items=users, next_position=results.last_evaluated_key if len(users) == limit else None)

    # -- writes -------------------------------------------------------------------------------

    def add(self, user: User) -> None:
        profile = self._profile(user)
        profile.listing, profile.listed_at = USERS_LISTING, f"{_iso(user.created_at)}#{user.user_id}"
        claims = [
            self._item(pk=f"EMAIL#{user.email}", sk="EMAIL", user_id=user.user_id),
            self._item(pk=f"SUB#{user.sub}", sk="SUB", user_id=user.user_id),
        ]
        if user.referral_code:
            claims.append(self._item(pk=f"REFCODE#{user.referral_code}", sk="REFCODE", user_id=user.user_id))
        try:
            with TransactWrite(connection=self._connection) as transaction:
                for item in (profile, *claims):
                    transaction.save(item, condition=self._item.pk.does_not_exist())
        except TransactWriteError as error:
            reasons = error.cancellation_reasons or []
            if len(reasons) > 1 and reasons[1] is not None and reasons[1].code == "ConditionalCheckFailed":
                raise EmailTaken() from None
            if any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons):
                raise Conflict("The account could not be created; try again.") from None
            raise

    def apply(self, change: AdminChange, entry: AuditEntry) -> None:
        if self._audit is None:
            raise RuntimeError("this repository was built without the audit table")
        after = change.after
        profile = self._item(pk=f"USER#{after.user_id}", sk="PROFILE")
        actions = [
            self._item.role.set(after.role.value),
            self._item.status.set(after.status.value),
            self._item.version.set(after.version),
            self._item.recruiter_id.set(after.recruiter_id) if after.recruiter_id else self._item.recruiter_id.remove(),
        ]
        if after.referral_code:
            actions.append(self._item.referral_code.set(after.referral_code))
        if after.sessions_valid_after_ms != change.before.sessions_valid_after_ms:
            # Only when this change ends sessions (suspension): never write back a stale value
            # over a logout that happened since the user was read.
            actions.append(self._item.sessions_valid_after_ms.set(after.sessions_valid_after_ms))
        audit = _audit_item(self._audit, entry)
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.update(profile, actions=actions, condition=self._item.version == change.before.version)
                # Append-only: an entry is written once and never overwritten.
                transaction.save(audit, condition=self._audit.stream.does_not_exist())
                if change.gives_referral_code:
                    transaction.save(
                        self._item(pk=f"REFCODE#{after.referral_code}", sk="REFCODE", user_id=after.user_id),
                        condition=self._item.pk.does_not_exist(),
                    )
        except TransactWriteError as error:
            if error.cause_response_code == "TransactionCanceledException":
                raise Conflict("The user was changed by someone else meanwhile; reload and retry.") from None
            raise

    def end_sessions(self, user_id: str, valid_after_ms: int) -> None:
        try:
            self._item(pk=f"USER#{user_id}", sk="PROFILE").update(
                actions=[self._item.sessions_valid_after_ms.set(valid_after_ms)],
                # Never moves backwards: a late logout cannot revive sessions a suspension ended.
                condition=self._item.pk.exists() & (self._item.sessions_valid_after_ms < valid_after_ms),
            )
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def record_session(self, session: Session, expires_after_seconds: int) -> None:
        self._item(
            pk=f"USER#{session.user_id}",
            sk=f"SESSION#{session.session_id}",
            user_id=session.user_id,
            started_at_ms=session.started_at_ms,
            # Housekeeping only: a session past its refresh token's life cannot be used anyway.
            expires_at=datetime.now(UTC) + timedelta(seconds=expires_after_seconds),
        ).save()

    def _profile(self, user: User) -> Model:
        return self._item(
            pk=f"USER#{user.user_id}",
            sk="PROFILE",
            user_id=user.user_id,
            sub=user.sub,
            email=user.email,
            name=user.name,
            role=user.role.value,
            status=user.status.value,
            created_at=_iso(user.created_at),
            recruiter_id=user.recruiter_id,
            referral_source=user.referral_source.value if user.referral_source else None,
            referred_with_code=user.referred_with_code,
            referral_code=user.referral_code,
            sessions_valid_after_ms=user.sessions_valid_after_ms,
            version=user.version,
        )


def _get(model: type[Model], pk: str, sk: str, consistent_read: bool = True) -> Model | None:
    try:
        return model.get(pk, sk, consistent_read=consistent_read)
    except model.DoesNotExist:
        return None


def _user(item: Model) -> User:
    return User(
        user_id=item.user_id,
        sub=item.sub,
        email=item.email,
        name=item.name,
        role=Role(item.role),
        status=UserStatus(item.status),
        created_at=_parse(item.created_at),
        recruiter_id=item.recruiter_id,
        referral_source=ReferralSource(item.referral_source) if item.referral_source else None,
        referred_with_code=item.referred_with_code,
        referral_code=item.referral_code,
        sessions_valid_after_ms=int(item.sessions_valid_after_ms or 0),
        version=int(item.version or 1),
    )


class DynamoDbFailedLogins:
    def __init__(self, identity_table: str):
        self._item = identity_model(identity_table)

    def count(self, key: str, window: int) -> int:
        item = _get(self._item, f"FAILS#{key}", f"WINDOW#{window}", consistent_read=True)
        return int(item.failures or 0) if item else 0

    def add(self, key: str, window: int, expires_after_seconds: int) -> None:
        # ADD is atomic: concurrent failures are all counted.
        self._item(pk=f"FAILS#{key}", sk=f"WINDOW#{window}").update(
            actions=[
                self._item.failures.add(1),
                self._item.expires_at.set(datetime.now(UTC) + timedelta(seconds=expires_after_seconds)),
            ]
        )

    def clear(self, key: str, window: int) -> None:
        with contextlib.suppress(DeleteError):
            self._item(pk=f"FAILS#{key}", sk=f"WINDOW#{window}").delete()


class DynamoDbAuditTrail:
    def __init__(self, audit_table: str):
        self._audit = audit_model(audit_table)

    def find(self, query: AuditQuery, limit: int, position: dict[str, Any] | None) -> Page:
        model = self._audit
        # The most selective key leads; the other filters apply to what it returns.
        if query.target_id:
            source, hash_key, rest = model.by_target, query.target_id, ("actor_id", "action")
        elif query.actor_id:
            source, hash_key, rest = model.by_actor, query.actor_id, ("action",)
        elif query.action:
            source, hash_key, rest = model.by_action, query.action.value, ()
        else:
            source, hash_key, rest = model, AUDIT_STREAM, ()
        # Keys are "<iso time>#<id>": "~" sorts after "#", so a bound on the time covers the ids.
        # DynamoDB refuses an empty string in a key condition, hence one-sided bounds alone.
        range_condition = None
        if query.since and query.until:
            range_condition = model.at_key.between(_iso(query.since), _iso(query.until) + "~")
        elif query.since:
            range_condition = model.at_key >= _iso(query.since)
        elif query.until:
            range_condition = model.at_key <= _iso(query.until) + "~"
        condition = None
        for name in rest:
            value = getattr(query, name)
            if value:
                clause = getattr(model, name) == (value.value if isinstance(value, AuditAction) else value)
                condition = clause if condition is None else condition & clause
        results = source.query(
            hash_key, range_key_condition=range_condition, filter_condition=condition,
            scan_index_forward=False, limit=limit, last_evaluated_key=position,
        )
        entries = [
            AuditEntry(
                audit_id=i.audit_id, at=_parse(i.at), actor_id=i.actor_id, action=AuditAction(i.action),
                target_id=i.target_id, before=i.before or {}, after=i.after or {}, request_id=i.request_id,
                reason=i.reason,
            )
            for i in results
        ]
        return Page(items=entries, next_position=results.last_evaluated_key if len(entries) == limit else None)
