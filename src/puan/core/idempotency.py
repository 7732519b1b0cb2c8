"""`Idempotency-Key`: a retried request returns the first answer and creates nothing twice.

The key row is written in the same transaction as the work it records. Two concurrent
requests with one key cannot both commit: the second trips the unique constraint (or a
refusal because the first has already done the work), its work rolls back, and it answers
with the first one's stored response.

The write (`work`) and the answer built from its result (`answer`) are separate steps so
that, without a key, the answer is read after the commit: the write transaction then lasts
only as long as the write. On SQLite that transaction holds the database's one write lock,
which every other writer, in every worker, queues for.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import BaseModel

from puan.core.errors import DomainError, InvalidInput
from puan.core.models import IdempotencyKey

MAX_KEY_LENGTH = 100
# How long a first answer is kept for retries: a phone resends within minutes or hours, a
# queue that was offline within days; never weeks later.
KEPT_FOR = timedelta(days=7)

T = TypeVar("T")


def request_fingerprint(payload: BaseModel) -> str:
    return hashlib.sha256(json.dumps(payload.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


class KeyReused(InvalidInput):
    """The key came back with a different request; `first` is the first one's answer."""

    def __init__(self, first: dict):
        super().__init__("同一 Idempotency-Key 不能用于内容不同的请求。", field="Idempotency-Key")
        self.first = first


def _replay(row: IdempotencyKey, fingerprint: str) -> tuple[int, dict]:
    if row.request_hash != fingerprint:
        raise KeyReused(row.response)
    return row.status, row.response


def run_once(
    *,
    key: str | None,
    user,
    scope: str,
    payload: BaseModel,
    work: Callable[..., T],
    answer: Callable[[T], tuple[int, dict]],
    prepare: Callable[[], object] | None = None,
) -> tuple[int, dict]:
    """Run `work` at most once per (user, scope, key) and return `answer(result)`: the status
    and a body the API's JSON encoder can write. A retry with the same key gets the first
    answer back. `payload` (the request, fingerprinted only when a key is sent) tells a
    retry from a different request under the same key.

    `prepare`, when given, runs after the replay check and before the transaction, and
    `work` receives its result: the reads a write depends on then hold no write lock (and a
    replayed request does not repeat them)."""
    if key and len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"Idempotency-Key 不能超过 {MAX_KEY_LENGTH} 个字符。", field="Idempotency-Key")
    owner = user if getattr(user, "is_authenticated", False) else None
    if key:
        fingerprint = request_fingerprint(payload)
        existing = IdempotencyKey.objects.filter(user=owner, scope=scope, key=key).first()
        if existing is not None:
            return _replay(existing, fingerprint)

    run = work if prepare is None else functools.partial(work, prepare())
    if not key:
        with transaction.atomic():
            result = run()
        return answer(result)
    try:
        with transaction.atomic():
            # The answer is stored with the key, so here it is built before the commit.
            status, body = answer(run())
            IdempotencyKey.objects.create(
                key=key, user=owner, scope=scope, request_hash=fingerprint, status=status, response=body
            )
            return status, body
    except (IntegrityError, DomainError):
        # Either the same request under this key committed first while this one ran (the
        # key's unique constraint, or work the first one has already done, such as
        # claiming the same attachments): answer as it did. Otherwise the error stands.
        existing = IdempotencyKey.objects.filter(user=owner, scope=scope, key=key).first()
        if existing is None:
            raise
        return _replay(existing, fingerprint)


def idempotency_purge(*, now: datetime | None = None, kept_for: timedelta = KEPT_FOR) -> int:
    """Forget the first answers older than `kept_for`; returns how many were dropped."""
    cutoff = (now or timezone.now()) - kept_for
    dropped, _per_model = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return dropped
