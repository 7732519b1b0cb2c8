"""Every write of the notifications app.

`notify` is what other apps call. It only registers work for the commit of the caller's
transaction: a change that rolls back leaves no inbox row, no webhook and no SMS. At
commit, a batch of any size costs a constant number of queries to find recipients, then
bulk inserts; webhook HTTP happens later, in the background, from the delivery outbox.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from puan.accounts.models import RoleGrant, User
from puan.accounts.roles import Role
from puan.core.admin_site import is_administrator
from puan.core.errors import NotAllowed
from puan.notifications.models import (
    DeliveryStatus,
    Notification,
    WebhookDelivery,
    WebhookEndpoint,
)
from puan.notifications.selectors import notification_get_for
from puan.notifications.sms import sms_send_all
from puan.notifications.webhooks import PostResult, webhook_body, webhook_post
from puan.org.models import Unit

log = logging.getLogger(__name__)

# Who "the staff of a unit" are: the roles that act on what the unit is told. Grid workers,
# leaders and volunteers are reached by naming them in `user_ids`.
UNIT_STAFF_ROLES = (Role.UNIT_HANDLER, Role.DISPATCHER, Role.DEPARTMENT_HANDLER, Role.MEDIATOR)

_TITLE_MAX = Notification._meta.get_field("title").max_length
_KIND_MAX = Notification._meta.get_field("kind").max_length
# Ids per IN (...) list: far below SQLite's 32,766 bound variables, so a batch of 10,000
# messages still resolves its recipients in one query per kind of lookup.
_IN_CHUNK = 10_000
_SMS_MAX_CHARS = 300
# Deliveries one worker claims at a time.
DELIVERY_BATCH = 500


@dataclass(frozen=True)
class Message:
    kind: str  # e.g. "sla_reminder_50", "sla_overdue", "red_case", "supervision_issued"
    title: str  # Chinese, shown in the inbox
    body: str = ""
    case_id: int | None = None
    order_id: int | None = None  # a supervision order, if any
    user_ids: tuple[int, ...] = ()  # explicit recipients
    unit_id: int | None = None  # and/or: the unit's staff (UNIT_STAFF_ROLES) plus its head
    data: dict = field(default_factory=dict)
    sms: bool = False  # also text the recipients who have a phone


@dataclass(frozen=True)
class _Prepared:
    """A message checked and frozen at `notify` time, so a caller mutating `data` before
    the commit cannot change what is sent."""

    message: Message
    data: dict[str, Any]
    key: tuple  # what makes two messages "the same message"


def notify(*messages: Message) -> None:
    """Call inside the transaction that made the change. On commit: inbox rows (bulk insert,
    one per recipient per message, deduplicated), webhook deliveries queued for active endpoints
    subscribed to the kind, SMS handed to the backend. If the transaction rolls back, nothing."""
    if not messages:
        return
    batch = [_prepare(m) for m in messages]

    def notify_after_commit() -> None:
        _write_after_commit(batch)

    # robust: the caller's change is already committed; a failure here (say, the SMS
    # gateway) is logged and must not turn the caller's success into an error.
    transaction.on_commit(notify_after_commit, robust=True)


def _prepare(message: Message) -> _Prepared:
    # Checked here, in the caller's transaction, so a programming error fails at its source
    # instead of being logged after the commit.
    if not isinstance(message, Message):
        raise TypeError(f"notify() takes Message objects, not {type(message).__name__}.")
    if not message.kind or len(message.kind) > _KIND_MAX:
        raise ValueError(f"Message.kind must be 1–{_KIND_MAX} characters: {message.kind!r}.")
    if not message.title:
        raise ValueError("Message.title must not be empty.")
    raw = json.dumps(message.data, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False)
    title = message.title[:_TITLE_MAX]
    key = (message.kind, title, message.body, message.case_id, message.order_id, raw)
    return _Prepared(message=message, data=json.loads(raw), key=key)


def _write_after_commit(batch: list[_Prepared]) -> None:
    """The commit-time half of `notify`."""
    now = timezone.now()
    recipients = _recipients(batch)

    # One event per distinct message; its recipients are the union over the copies, and a
    # recipient is texted if any copy that reached them asked for SMS.
    events: dict[tuple, _Prepared] = {}
    to_users: dict[tuple, dict[int, bool]] = defaultdict(dict)
    for prepared, user_ids in zip(batch, recipients, strict=True):
        events.setdefault(prepared.key, prepared)
        reached = to_users[prepared.key]
        for user_id in user_ids:
            reached[user_id] = reached.get(user_id, False) or prepared.message.sms

    inbox = [
        Notification(
            recipient_id=user_id,
            kind=p.message.kind,
            title=p.key[1],
            body=p.message.body,
            case_id=p.message.case_id,
            order_id=p.message.order_id,
            data=p.data,
            created_at=now,
        )
        for key, p in events.items()
        for user_id in sorted(to_users[key])
    ]
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True).only("pk", "kinds"))
    deliveries = [
        WebhookDelivery(
            endpoint_id=endpoint.pk,
            kind=p.message.kind,
            payload=_payload(p, now),
            next_attempt_at=now,
            created_at=now,
        )
        for p in events.values()
        for endpoint in endpoints
        if endpoint.accepts(p.message.kind)
    ]
    with transaction.atomic():
        Notification.objects.bulk_create(inbox)
        WebhookDelivery.objects.bulk_create(deliveries)
        if deliveries:
            transaction.on_commit(_enqueue_webhook_delivery, robust=True)

    texted = {(key, user_id) for key, reached in to_users.items() for user_id, sms in reached.items() if sms}
    if texted:
        phones = _phones({user_id for _, user_id in texted})
        jobs = {(phones[user_id], _sms_text(events[key])) for key, user_id in texted if user_id in phones}
        sms_send_all(sorted(jobs))


def _recipients(batch: list[_Prepared]) -> list[set[int]]:
    """Active recipients of each message, with a fixed number of queries for the whole batch."""
    unit_ids = sorted({p.message.unit_id for p in batch if p.message.unit_id is not None})
    named = sorted({user_id for p in batch for user_id in p.message.user_ids})

    staff: dict[int, set[int]] = defaultdict(set)
    for chunk in _chunks(unit_ids):
        grants = (
            RoleGrant.objects.filter(role__in=UNIT_STAFF_ROLES, user__is_active=True, user__unit_id__in=chunk)
            .values_list("user__unit_id", "user_id")
            .distinct()
        )
        for unit_id, user_id in grants:
            staff[unit_id].add(user_id)
        heads = Unit.objects.filter(pk__in=chunk, head__is_active=True).values_list("pk", "head_id")
        for unit_id, head_id in heads:
            staff[unit_id].add(head_id)

    # Named users are checked too: an inactive account gets nothing, and an id that does
    # not exist must not break the whole batch's insert.
    active: set[int] = set()
    for chunk in _chunks(named):
        active.update(User.objects.filter(pk__in=chunk, is_active=True).values_list("pk", flat=True))

    return [{u for u in p.message.user_ids if u in active} | staff.get(p.message.unit_id, set()) for p in batch]


def _phones(user_ids: set[int]) -> dict[int, str]:
    phones: dict[int, str] = {}
    for chunk in _chunks(sorted(user_ids)):
        phones.update(User.objects.filter(pk__in=chunk).exclude(phone="").values_list("pk", "phone"))
    return phones


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def _payload(p: _Prepared, now: datetime) -> dict[str, Any]:
    m = p.message
    return {
        "kind": m.kind,
        "title": p.key[1],
        "body": m.body,
        "case_id": m.case_id,
        "order_id": m.order_id,
        "data": p.data,
        "created_at": now.isoformat(),
    }


def _sms_text(p: _Prepared) -> str:
    text = f"【埔安】{p.key[1]}" + (f"：{p.message.body}" if p.message.body else "")
    return text[:_SMS_MAX_CHARS]


def _enqueue_webhook_delivery() -> None:
    # Imported here: tasks import this module, and a task is only a way to run a service.
    from puan.notifications.tasks import webhooks_deliver_now

    webhooks_deliver_now()


# --- webhooks ----------------------------------------------------------------------------


def webhook_backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failure: base, 2×base, 4×base … (1, 2, 4 … minutes by default)."""
    return timedelta(seconds=settings.PUAN_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1))


def _lease(batch_size: int) -> timedelta:
    # Long enough for a whole batch of timeouts, so a slow batch is not claimed twice; if a
    # worker dies, its rows become due again when the lease runs out (at-least-once).
    rounds = -(-batch_size // max(settings.PUAN_WEBHOOK_WORKERS, 1))
    return timedelta(seconds=max(300, 2 * rounds * settings.PUAN_WEBHOOK_TIMEOUT_SECONDS))


def deliver_due_webhooks(*, now: datetime | None = None, limit: int = DELIVERY_BATCH) -> int:
    """Claim up to `limit` due deliveries, POST them, record each outcome. Returns how many
    were attempted. Safe to run in several workers at once: a claim is a compare-and-set
    update, so a row is claimed by at most one of them."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__is_active=True
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    token = uuid.uuid4()
    # The condition repeats the "due" test: a row another worker claimed in between has a
    # future next_attempt_at (its lease) and is skipped.
    claimed = WebhookDelivery.objects.filter(
        pk__in=due, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(claim_token=token, next_attempt_at=now + _lease(limit))
    if not claimed:
        return 0
    deliveries = list(WebhookDelivery.objects.filter(claim_token=token).select_related("endpoint").order_by("pk"))
    results = _post_all(deliveries)
    for delivery, result in zip(deliveries, results, strict=True):
        _record(delivery, result, token=token, now=now)
    return len(deliveries)


def deliver_all_due_webhooks(*, now: datetime | None = None, max_batches: int = 20) -> int:
    """Drain the due queue in batches (after a large `notify`), stopping at a short batch."""
    total = 0
    for _ in range(max_batches):
        done = deliver_due_webhooks(now=now, limit=DELIVERY_BATCH)
        total += done
        if done < DELIVERY_BATCH:
            break
    return total


def _post_all(deliveries: list[WebhookDelivery]) -> list[PostResult]:
    timeout = settings.PUAN_WEBHOOK_TIMEOUT_SECONDS

    def post(d: WebhookDelivery) -> PostResult:
        return webhook_post(
            url=d.endpoint.url,
            secret=d.endpoint.secret,
            delivery_id=d.pk,
            kind=d.kind,
            body=webhook_body(d.pk, d.payload),
            # Stamped when sent, not when the batch started: receivers reject stale timestamps.
            timestamp=str(int(time.time())),
            timeout=timeout,
        )

    workers = min(settings.PUAN_WEBHOOK_WORKERS, len(deliveries))
    if workers <= 1:
        return [post(d) for d in deliveries]
    # Threads only wait on the network; every database write stays in this thread.
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        return list(pool.map(post, deliveries))


def _record(delivery: WebhookDelivery, result: PostResult, *, token: uuid.UUID, now: datetime) -> None:
    attempts = delivery.attempts + 1
    if result.ok:
        changes: dict[str, Any] = {
            "status": DeliveryStatus.DELIVERED,
            "delivered_at": now,
            "next_attempt_at": None,
            "last_error": "",
        }
    elif attempts >= settings.PUAN_WEBHOOK_MAX_ATTEMPTS:
        changes = {"status": DeliveryStatus.FAILED, "next_attempt_at": None, "last_error": result.error}
        log.warning(
            "webhook delivery %s to %s failed for good after %s attempts: %s",
            delivery.pk,
            delivery.endpoint.name,
            attempts,
            result.error,
        )
    else:
        changes = {"next_attempt_at": now + webhook_backoff(attempts), "last_error": result.error}
    # Only the claimant writes: if its lease ran out and another worker took the row, the
    # newer claim's outcome is the one kept.
    WebhookDelivery.objects.filter(pk=delivery.pk, claim_token=token).update(
        attempts=attempts, last_status_code=result.status_code, claim_token=None, **changes
    )


def webhook_deliveries_retry(*, actor: User | None, delivery_ids: Iterable[int]) -> int:
    """Make deliveries due now ("retry now"); a delivery given up gets one more attempt.
    Delivered ones and ones a worker holds right now are left alone."""
    if actor is not None and not is_administrator(actor):
        raise NotAllowed("仅系统管理员可以重试 Webhook 投递。")
    now = timezone.now()
    with transaction.atomic():
        updated = WebhookDelivery.objects.filter(
            pk__in=list(delivery_ids),
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
            claim_token__isnull=True,
        ).update(status=DeliveryStatus.PENDING, next_attempt_at=now)
        if updated:
            transaction.on_commit(_enqueue_webhook_delivery, robust=True)
    if updated:
        log.info("webhook deliveries retried by %s: %s", actor, updated)
    return updated


# --- inbox -------------------------------------------------------------------------------


def notification_mark_read(*, actor: User, notification_id: int) -> Notification:
    """Mark one of the actor's own notifications read (others' are not visible: 404)."""
    notification = notification_get_for(user=actor, notification_id=notification_id)
    if notification.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now)
        notification.read_at = now
    return notification


def notification_mark_all_read(*, actor: User) -> int:
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())


__all__ = [
    "UNIT_STAFF_ROLES",
    "Message",
    "deliver_all_due_webhooks",
    "deliver_due_webhooks",
    "notification_mark_all_read",
    "notification_mark_read",
    "notify",
    "webhook_backoff",
    "webhook_deliveries_retry",
]
