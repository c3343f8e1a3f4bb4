"""The ledger and payouts in DynamoDB, through the low-level client and one Transaction idiom.

`ledger` table:
- `ORDER#<order>` / `POSTING#<posting id>`: one posting, written once (condition: new) and its
  entries never changed. `payee` + `posted_key` feed the `by-payee` index (a payee's earnings);
  `unclaimed_by` (the payee) is set while no payout holds the posting, so the sparse
  `by-unclaimed` index is exactly what the next payout may take. A payout's claim removes
  `unclaimed_by` and sets `payout_id`, conditional on the posting being unclaimed; a payout that
  gives its postings back reverses that, conditional on holding them.
- `ORDER#<order>` / `SETTLEMENT`: the order's settlement, `DUE` (with `due_state`/`due_at`, the
  sparse `by-due` index the settlement schedule reads) until it is `SETTLED`.
- `BOUNTY#<recruit>` / `BOUNTY`: which order earned the recruit's scout the bounty (at most one).

`payouts` table:
- `PAYOUT#<id>` / `PAYOUT`: a payout; `payout_payee` + `created_at` (`by-payee`), `status` +
  `created_at` (`by-status`), `open_state` + `updated_at` while open (sparse `by-open`: the
  status poll's).
- `PAYEE#<payee>` / `ACCOUNT` (the fund account, masked) and `PAYEE#<payee>` / `HOLD`.
- `COMMISSION` / `<scope>`: commission rules.

Events go to the outbox (`order-events`) in the change's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from bazaar.identity.adapters.dynamodb import audit_put
from bazaar.identity.domain import AuditEntry
from bazaar.money import Paise
from bazaar.orders.adapters.dynamodb import order_unchanged
from bazaar.payouts.domain import (
    Hold, Payout, PayoutAccount, PayoutChange, PayoutsHeld, PayoutStatus, PayoutTrigger, PostingRef,
)
from bazaar.payouts.events import PayoutEvent
from bazaar.payouts.ledger import Claimable, CommissionRule, Entry, EntryKind, Posting, PostingKind
from bazaar.payouts.ports import BountyAward, ClaimLost, DueSettlement, OrderAsRead, StalePayout, StaleSettlement
from bazaar.platform.dynamo import (
    Transaction, TransactionCancelled, count_and_first, error_code, from_item, query_page, read_time, stored_time, to_item,
    to_value,
)
from bazaar.platform.outbox import outbox_item

DUE = "DUE"
SETTLED = "SETTLED"
OPEN = "OPEN"
_NEW = "attribute_not_exists(pk)"
_PAYEE_PAGE = ("pk", "sk", "payee", "posted_key")
_PAYOUT_PAGE = ("pk", "sk", "payout_payee", "created_at")
_STATUS_PAGE = ("pk", "sk", "status", "created_at")




def _key(pk: str, sk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _posting_key(order_id: str, posting_id: str) -> dict:
    return _key(f"ORDER#{order_id}", f"POSTING#{posting_id}")


def _posting_item(posting: Posting) -> dict:
    return to_item({
        "pk": f"ORDER#{posting.order_id}", "sk": f"POSTING#{posting.posting_id}",
        "posting_id": posting.posting_id, "kind": posting.kind.value, "payee": posting.payee,
        "order_id": posting.order_id, "posted_at": stored_time(posting.posted_at),
        "posted_key": f"{stored_time(posting.posted_at)}#{posting.posting_id}", "note": posting.note,
        "net_paise": posting.net.amount, "unclaimed_by": posting.payee,
        "entries": [{"account": e.account, "kind": e.kind.value, "amount_paise": e.amount.amount,
                     "rate_bps": e.rate_bps, "base_paise": e.base.amount if e.base is not None else None}
                    for e in posting.entries],
    })


def _posting(values: dict) -> Posting:
    return Posting(
        posting_id=values["posting_id"], kind=PostingKind(values["kind"]), payee=values["payee"],
        order_id=values["order_id"], posted_at=datetime.fromisoformat(values["posted_at"]),
        note=values.get("note", ""),
        entries=tuple(Entry(e["account"], EntryKind(e["kind"]), Paise(e["amount_paise"]), e.get("rate_bps"),
                            Paise(e["base_paise"]) if e.get("base_paise") is not None else None)
                      for e in values["entries"]),
    )


def _claimable(values: dict) -> Claimable:
    return Claimable(values["posting_id"], values["order_id"], Paise(values["net_paise"]),
                     datetime.fromisoformat(values["posted_at"]), values.get("payout_id"))


def _event_item(event: PayoutEvent) -> dict:
    return outbox_item(subject=f"PAYOUT#{event.subject_id}", sequence=event.sequence, event_id=event.event_id,
                       event_type=event.event_type.value, occurred_at=event.occurred_at, body=event.to_json())


class DynamoDbLedger:
    def __init__(self, client, ledger_table: str, orders_table: str, events_table: str):
        self._client = client
        self._table = ledger_table
        self._orders = orders_table
        self._events = events_table

    # -- settlements ----------------------------------------------------------------------

    def note_delivery(self, order_id: str, due_at: datetime) -> bool:
        try:
            self._client.put_item(TableName=self._table, ConditionExpression=_NEW, Item=to_item({
                "pk": f"ORDER#{order_id}", "sk": "SETTLEMENT", "order_id": order_id, "state": DUE,
                "due_state": DUE, "due_at": stored_time(due_at)}))
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def due(self, now: datetime, limit: int) -> list[DueSettlement]:
        answer = self._client.query(
            TableName=self._table, IndexName="by-due", Limit=limit,
            KeyConditionExpression="due_state = :due AND due_at <= :now",
            ExpressionAttributeValues={":due": to_value(DUE), ":now": to_value(stored_time(now))})
        return [DueSettlement(v["order_id"], datetime.fromisoformat(v["due_at"]))
                for v in map(from_item, answer.get("Items", []))]

    def is_settled(self, order_id: str) -> bool:
        item = self._client.get_item(TableName=self._table, Key=_key(f"ORDER#{order_id}", "SETTLEMENT"),
                                     ConsistentRead=True).get("Item")
        return bool(item) and from_item(item).get("state") == SETTLED

    def postings_of_order(self, order_id: str) -> list[Posting]:
        items, request = [], {"TableName": self._table, "ConsistentRead": True,
                              "KeyConditionExpression": "pk = :pk AND begins_with(sk, :posting)",
                              "ExpressionAttributeValues": {":pk": to_value(f"ORDER#{order_id}"),
                                                            ":posting": to_value("POSTING#")}}
        while True:
            answer = self._client.query(**request)
            items += answer.get("Items", [])
            if not answer.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return sorted((_posting(from_item(i)) for i in items), key=lambda p: (p.posted_at, p.posting_id))

    def settle(self, order: OrderAsRead, postings: Sequence[Posting], bounty: BountyAward | None,
               at: datetime) -> None:
        tx = Transaction()
        tx.update("settlement", self._table, _key(f"ORDER#{order.order_id}", "SETTLEMENT"),
                  "SET #state = :settled, settled_at = :at REMOVE due_state",
                  condition="#state = :due", names={"#state": "state"},
                  values={":settled": to_value(SETTLED), ":due": to_value(DUE), ":at": to_value(stored_time(at))})
        tx.add("order", order_unchanged(self._orders, order.order_id, order.version))
        for n, posting in enumerate(postings):
            tx.put(f"posting:{n}", self._table, _posting_item(posting), condition=_NEW)
        if bounty is not None:
            tx.put("bounty", self._table, to_item({
                "pk": f"BOUNTY#{bounty.recruit_id}", "sk": "BOUNTY", "posting_id": bounty.posting.posting_id,
                "order_id": bounty.posting.order_id}), condition=_NEW)
            tx.put("bounty-posting", self._table, _posting_item(bounty.posting), condition=_NEW)
            tx.put("bounty-event", self._events, _event_item(bounty.event), condition=_NEW)
        try:
            tx.run(self._client)
        except TransactionCancelled as cancelled:
            raise StaleSettlement(cancelled.failed_names) from None

    def post(self, order_id: str, postings: Sequence[Posting]) -> int:
        written = 0
        for posting in postings:
            tx = Transaction()
            tx.condition_check("settled", self._table, _key(f"ORDER#{order_id}", "SETTLEMENT"), "#state = :settled",
                               names={"#state": "state"}, values={":settled": to_value(SETTLED)})
            tx.put("posting", self._table, _posting_item(posting), condition=_NEW)
            try:
                tx.run(self._client)
            except TransactionCancelled as cancelled:
                if cancelled.failed("settled"):
                    raise StaleSettlement(["settled"]) from None
                if cancelled.failed("posting"):
                    continue  # posted before: a redelivered event
                raise
            written += 1
        return written

    def bounty_of(self, recruit_id: str) -> Posting | None:
        item = self._client.get_item(TableName=self._table, Key=_key(f"BOUNTY#{recruit_id}", "BOUNTY"),
                                     ConsistentRead=True).get("Item")
        if not item:
            return None
        values = from_item(item)
        posting = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                        Key=_posting_key(values["order_id"], values["posting_id"])).get("Item")
        return _posting(from_item(posting)) if posting else None

    # -- payees ---------------------------------------------------------------------------

    def unclaimed(self, payee: str, limit: int) -> list[Claimable]:
        answer = self._client.query(
            TableName=self._table, IndexName="by-unclaimed", Limit=limit,
            KeyConditionExpression="unclaimed_by = :payee", ExpressionAttributeValues={":payee": to_value(payee)})
        return [_claimable(from_item(i)) for i in answer.get("Items", [])]

    def claims_of(self, payee: str) -> list[Claimable]:
        return [_claimable(v) for v in self._all_of_payee(payee)]

    def postings_of(self, payee: str, limit: int, position: dict[str, Any] | None
                    ) -> tuple[list[Posting], dict[str, Any] | None]:
        page, after = query_page(self._client, key_attributes=_PAYEE_PAGE, limit=limit, start=position,
                                 TableName=self._table, IndexName="by-payee", ScanIndexForward=False,
                                 KeyConditionExpression="payee = :payee",
                                 ExpressionAttributeValues={":payee": to_value(payee)})
        return [_posting(v) for v in page], after

    def all_postings_of(self, payee: str, start: datetime | None = None, end: datetime | None = None) -> list[Posting]:
        return [_posting(v) for v in self._all_of_payee(payee, start, end)]

    def _all_of_payee(self, payee: str, start: datetime | None = None, end: datetime | None = None) -> list[dict]:
        condition, values = "payee = :payee", {":payee": to_value(payee)}
        if start and end:
            condition += " AND posted_key BETWEEN :start AND :end"
            values |= {":start": to_value(stored_time(start)), ":end": to_value(stored_time(end))}
        request: dict[str, Any] = {"TableName": self._table, "IndexName": "by-payee",
                                   "KeyConditionExpression": condition, "ExpressionAttributeValues": values}
        items: list[dict] = []
        while True:
            answer = self._client.query(**request)
            items += [from_item(i) for i in answer.get("Items", [])]
            if not answer.get("LastEvaluatedKey"):
                return items
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    def payees_with_unclaimed(self, limit: int) -> list[str]:
        # The index holds unclaimed postings only, so this reads little even on a busy ledger.
        payees: list[str] = []
        request: dict[str, Any] = {"TableName": self._table, "IndexName": "by-unclaimed",
                                   "ProjectionExpression": "unclaimed_by"}
        while len(payees) < limit:
            answer = self._client.scan(**request)
            for item in answer.get("Items", []):
                payee = item["unclaimed_by"]["S"]
                if payee not in payees:
                    payees.append(payee)
            if not answer.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return payees[:limit]


def _payout_item(payout: Payout) -> dict:
    return to_item({
        "pk": f"PAYOUT#{payout.payout_id}", "sk": "PAYOUT", "payout_id": payout.payout_id,
        "payout_payee": payout.payee, "amount_paise": payout.amount.amount, "postings": [vars(ref) for ref in payout.postings],
        "status": payout.status.value, "fund_account_id": payout.fund_account_id, "mode": payout.mode,
        "trigger": payout.trigger.value, "requested_by": payout.requested_by,
        "created_at": stored_time(payout.created_at), "updated_at": stored_time(payout.updated_at),
        "attempt": payout.attempt, "version": payout.version, "provider_payout_id": payout.provider_payout_id,
        "provider_status": payout.provider_status, "utr": payout.utr, "failure_reason": payout.failure_reason,
        "provider_response": json.dumps(payout.provider_response) if payout.provider_response is not None else None,
        "processed_at": stored_time(payout.processed_at) if payout.processed_at else None,
        "failed_at": stored_time(payout.failed_at) if payout.failed_at else None,
        "reversed_at": stored_time(payout.reversed_at) if payout.reversed_at else None,
        "open_state": OPEN if payout.is_open else None,
        "earlier_provider_payout_ids": list(payout.earlier_provider_payout_ids),
    })


def _payout(values: dict) -> Payout:
    return Payout(
        payout_id=values["payout_id"], payee=values["payout_payee"], amount=Paise(values["amount_paise"]),
        postings=tuple(PostingRef(**ref) for ref in values.get("postings") or ()), status=PayoutStatus(values["status"]),
        fund_account_id=values["fund_account_id"], mode=values["mode"], trigger=PayoutTrigger(values["trigger"]),
        requested_by=values["requested_by"], created_at=datetime.fromisoformat(values["created_at"]),
        updated_at=datetime.fromisoformat(values["updated_at"]), attempt=values["attempt"],
        version=values["version"], provider_payout_id=values.get("provider_payout_id"),
        provider_status=values.get("provider_status"), utr=values.get("utr"),
        failure_reason=values.get("failure_reason"),
        provider_response=json.loads(values["provider_response"]) if values.get("provider_response") else None,
        processed_at=read_time(values.get("processed_at")), failed_at=read_time(values.get("failed_at")),
        reversed_at=read_time(values.get("reversed_at")),
        earlier_provider_payout_ids=tuple(values.get("earlier_provider_payout_ids") or ()),
    )


class DynamoDbPayouts:
    def __init__(self, client, payouts_table: str, ledger_table: str, events_table: str, audit_table: str | None = None):
        self._client = client
        self._table = payouts_table
        self._ledger = ledger_table
        self._events = events_table
        self._audit = audit_table

    # -- claims ---------------------------------------------------------------------------

    def _claim(self, tx: Transaction, name: str, order_id: str, posting_id: str, payee: str, payout_id: str) -> None:
        tx.update(name, self._ledger, _posting_key(order_id, posting_id),
                  "SET payout_id = :payout REMOVE unclaimed_by",
                  condition="unclaimed_by = :payee AND attribute_not_exists(payout_id)",
                  values={":payout": to_value(payout_id), ":payee": to_value(payee)})

    def _release(self, tx: Transaction, name: str, order_id: str, posting_id: str, payee: str, payout_id: str) -> None:
        tx.update(name, self._ledger, _posting_key(order_id, posting_id),
                  "SET unclaimed_by = :payee REMOVE payout_id", condition="payout_id = :payout",
                  values={":payout": to_value(payout_id), ":payee": to_value(payee)})

    def _not_held(self, tx: Transaction, payee: str) -> None:
        tx.condition_check("hold", self._table, _key(f"PAYEE#{payee}", "HOLD"), _NEW)

    def create(self, payout: Payout, claims: Sequence[Claimable], event: PayoutEvent,
               audit: AuditEntry | None = None) -> None:
        tx = Transaction()
        tx.put("payout", self._table, _payout_item(payout), condition=_NEW)
        self._not_held(tx, payout.payee)
        for n, claim in enumerate(claims):
            self._claim(tx, f"claim:{n}", claim.order_id, claim.posting_id, payout.payee, payout.payout_id)
        tx.put("event", self._events, _event_item(event), condition=_NEW)
        if audit is not None:
            tx.add("audit", audit_put(self._audited(), audit))
        try:
            tx.run(self._client)
        except TransactionCancelled as cancelled:
            if cancelled.failed("hold"):
                raise PayoutsHeld() from None
            raise ClaimLost() from None

    def _audited(self) -> str:
        if self._audit is None:
            raise RuntimeError("this function writes no audit entries (it declares no audit table)")
        return self._audit

    # -- payouts --------------------------------------------------------------------------

    def get(self, payout_id: str) -> Payout | None:
        item = self._client.get_item(TableName=self._table, Key=_key(f"PAYOUT#{payout_id}", "PAYOUT"),
                                     ConsistentRead=True).get("Item")
        return _payout(from_item(item)) if item else None

    def apply(self, change: PayoutChange, event: PayoutEvent | None, audit: AuditEntry | None = None) -> Payout:
        after = change.after
        tx = Transaction()
        tx.put("payout", self._table, _payout_item(after), condition="#version = :version",
               names={"#version": "version"}, values={":version": to_value(change.before.version)})
        if change.releases_postings or change.reclaims_postings:
            step = self._release if change.releases_postings else self._claim
            for n, ref in enumerate(after.postings):
                step(tx, f"posting:{n}", ref.order_id, ref.posting_id, after.payee, after.payout_id)
        if event is not None:
            tx.put("event", self._events, _event_item(event), condition=_NEW)
        if audit is not None:
            tx.add("audit", audit_put(self._audited(), audit))
        try:
            tx.run(self._client)
        except TransactionCancelled as cancelled:
            if cancelled.failed("payout") or cancelled.failed("event"):
                raise StalePayout() from None
            raise ClaimLost() from None
        return after

    def of_payee(self, payee: str, limit: int, position: dict[str, Any] | None
                 ) -> tuple[list[Payout], dict[str, Any] | None]:
        page, after = query_page(self._client, key_attributes=_PAYOUT_PAGE, limit=limit, start=position,
                                 TableName=self._table, IndexName="by-payee", ScanIndexForward=False,
                                 KeyConditionExpression="payout_payee = :payee",
                                 ExpressionAttributeValues={":payee": to_value(payee)})
        return [_payout(v) for v in page], after

    def all_of_payee(self, payee: str) -> list[Payout]:
        payouts: list[Payout] = []
        position = None
        while True:
            page, position = self.of_payee(payee, 100, position)
            payouts += page
            if position is None:
                return payouts

    def find(self, status: PayoutStatus | None, limit: int, position: dict[str, Any] | None
             ) -> tuple[list[Payout], dict[str, Any] | None]:
        if status is None:
            # Every payout, newest first across statuses, is an operator's rare view: a scan of
            # payout items, sorted.
            answer = self._client.scan(TableName=self._table, FilterExpression="sk = :payout",
                                       ExpressionAttributeValues={":payout": to_value("PAYOUT")})
            payouts = sorted((_payout(from_item(i)) for i in answer.get("Items", [])),
                             key=lambda p: p.created_at, reverse=True)
            return payouts[:limit], None
        page, after = query_page(self._client, key_attributes=_STATUS_PAGE, limit=limit, start=position,
                                 TableName=self._table, IndexName="by-status", ScanIndexForward=False,
                                 KeyConditionExpression="#status = :status", ExpressionAttributeNames={
                                     "#status": "status"}, ExpressionAttributeValues={":status": to_value(status.value)})
        return [_payout(v) for v in page], after

    def open_due(self, before: datetime, limit: int) -> list[Payout]:
        answer = self._client.query(
            TableName=self._table, IndexName="by-open", Limit=limit,
            KeyConditionExpression="open_state = :open AND updated_at <= :before",
            ExpressionAttributeValues={":open": to_value(OPEN), ":before": to_value(stored_time(before))})
        return [_payout(from_item(i)) for i in answer.get("Items", [])]

    # -- payees ---------------------------------------------------------------------------

    def account(self, payee: str) -> PayoutAccount | None:
        item = self._client.get_item(TableName=self._table, Key=_key(f"PAYEE#{payee}", "ACCOUNT"),
                                     ConsistentRead=True).get("Item")
        if not item:
            return None
        v = from_item(item)
        return PayoutAccount(payee=payee, kind=v["kind"], masked=v["masked"], holder_name=v["holder_name"],
                             contact_id=v["contact_id"], fund_account_id=v["fund_account_id"],
                             registered_at=datetime.fromisoformat(v["registered_at"]), ifsc=v.get("ifsc"))

    def save_account(self, account: PayoutAccount) -> None:
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"PAYEE#{account.payee}", "sk": "ACCOUNT", "kind": account.kind, "masked": account.masked,
            "holder_name": account.holder_name, "contact_id": account.contact_id,
            "fund_account_id": account.fund_account_id, "registered_at": stored_time(account.registered_at),
            "ifsc": account.ifsc}))

    def hold(self, payee: str) -> Hold | None:
        item = self._client.get_item(TableName=self._table, Key=_key(f"PAYEE#{payee}", "HOLD"),
                                     ConsistentRead=True).get("Item")
        if not item:
            return None
        v = from_item(item)
        return Hold(payee, v["reason"], v["by"], datetime.fromisoformat(v["at"]))

    def set_hold(self, hold: Hold | None, payee: str, audit: AuditEntry) -> None:
        tx = Transaction()
        if hold is None:
            tx.delete("hold", self._table, _key(f"PAYEE#{payee}", "HOLD"))
        else:
            tx.put("hold", self._table, to_item({"pk": f"PAYEE#{payee}", "sk": "HOLD", "reason": hold.reason,
                                                 "by": hold.by, "at": stored_time(hold.at)}))
        tx.add("audit", audit_put(self._audited(), audit))
        tx.run(self._client)

    def commission_rules(self) -> tuple[CommissionRule, ...]:
        answer = self._client.query(TableName=self._table, KeyConditionExpression="pk = :pk",
                                    ExpressionAttributeValues={":pk": to_value("COMMISSION")})
        rules = []
        for v in map(from_item, answer.get("Items", [])):
            rules.append(CommissionRule(bps=v["bps"], seller_id=v.get("seller_id"), category=v.get("category"),
                                        minimum=Paise(v["minimum_paise"]) if v.get("minimum_paise") is not None else None,
                                        maximum=Paise(v["maximum_paise"]) if v.get("maximum_paise") is not None else None))
        return tuple(rules)

    def save_commission_rule(self, rule: CommissionRule, audit: AuditEntry) -> None:
        tx = Transaction()
        tx.put("rule", self._table, to_item({
            "pk": "COMMISSION", "sk": rule.scope, "bps": rule.bps, "seller_id": rule.seller_id,
            "category": rule.category, "minimum_paise": rule.minimum.amount if rule.minimum else None,
            "maximum_paise": rule.maximum.amount if rule.maximum else None}))
        tx.add("audit", audit_put(self._audited(), audit))
        tx.run(self._client)


class DynamoDbPayoutCensus:
    """How many payouts sit in a status and since when, from the `by-status` index (its sort key
    is `created_at`): what admin diagnostics read, with nothing but the payouts table."""

    def __init__(self, client, payouts_table: str):
        self._client = client
        self._table = payouts_table

    def backlog(self, status: PayoutStatus) -> tuple[int, datetime | None]:
        """(how many, when the oldest of them was made)."""
        total, oldest = count_and_first(self._client, "created_at", TableName=self._table, IndexName="by-status",
                                        KeyConditionExpression="#status = :status",
                                        ExpressionAttributeNames={"#status": "status"},
                                        ExpressionAttributeValues={":status": to_value(status.value)})
        return total, read_time(oldest)
