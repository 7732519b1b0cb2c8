from __future__ import annotations

from datetime import UTC

import pytest
from pydantic import BaseModel

from puan.accounts.tests.factories import make_user
from puan.core.errors import InvalidInput
from puan.core.idempotency import run_once
from puan.core.models import IdempotencyKey

pytestmark = pytest.mark.django_db


class Report(BaseModel):
    title: str


def test_it_answers_a_retry_as_the_first_request_that_finished_while_it_ran():
    user = make_user(username="grid_retry")
    payload = Report(title="井盖缺失")
    claimed: list[str] = []

    def work(*_prepared):
        # The first request claims what the report brought (its photos, say); a retry
        # finds it claimed and is refused.
        if claimed:
            raise InvalidInput("凭证附件不存在或已被使用。", field="evidence_ids")
        claimed.append("photo")
        return "case-1"

    def answer(result):
        return 201, {"case": result}

    def first_request_finishes_meanwhile():
        # The retry has passed its check for a stored answer; the first request, still
        # running then, commits now.
        assert run_once(key="k-1", user=user, scope="s", payload=payload, work=work, answer=answer) == (
            201,
            {"case": "case-1"},
        )

    retry = run_once(
        key="k-1",
        user=user,
        scope="s",
        payload=payload,
        prepare=first_request_finishes_meanwhile,
        work=work,
        answer=answer,
    )
    assert retry == (201, {"case": "case-1"})
    assert IdempotencyKey.objects.filter(key="k-1").count() == 1


def test_it_lets_a_refusal_stand_when_no_request_under_the_key_finished():
    user = make_user(username="grid_refused")

    def work():
        raise InvalidInput("凭证附件不存在或已被使用。", field="evidence_ids")

    with pytest.raises(InvalidInput):
        run_once(key="k-2", user=user, scope="s", payload=Report(title="x"), work=work, answer=lambda r: (201, {}))
    assert not IdempotencyKey.objects.filter(key="k-2").exists()


def test_it_keeps_one_answer_per_key_without_a_user_too():
    from django.db import IntegrityError, transaction

    IdempotencyKey.objects.create(
        key="k-3", user=None, scope="citizen_appeal", request_hash="h", status=201, response={}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        IdempotencyKey.objects.create(
            key="k-3", user=None, scope="citizen_appeal", request_hash="h", status=201, response={}
        )


def test_it_forgets_answers_after_a_week():
    from datetime import timedelta

    from django.utils import timezone

    from puan.core.idempotency import KEPT_FOR, idempotency_purge

    now = timezone.now()
    for key, age in (("old", KEPT_FOR + timedelta(minutes=1)), ("recent", KEPT_FOR - timedelta(minutes=1))):
        row = IdempotencyKey.objects.create(key=key, scope="s", request_hash="h", status=201, response={})
        IdempotencyKey.objects.filter(pk=row.pk).update(created_at=now - age)
    assert idempotency_purge(now=now) == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]


def test_it_purges_every_night():
    from datetime import datetime

    from puan.core.tasks import idempotency_purge_task

    periodic = idempotency_purge_task.s()
    assert periodic.validate_datetime(datetime(2026, 11, 28, 3, 17))
    assert not periodic.validate_datetime(datetime(2026, 11, 28, 9, 17))
    IdempotencyKey.objects.create(key="k", scope="s", request_hash="h", status=201, response={})
    IdempotencyKey.objects.update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    idempotency_purge_task.call_local()
    assert not IdempotencyKey.objects.exists()
