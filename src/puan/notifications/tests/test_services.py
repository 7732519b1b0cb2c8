from __future__ import annotations

import logging
import math

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from puan.notifications import services
from puan.notifications.models import Notification, SmsMessage, WebhookDelivery
from puan.notifications.services import Message, notify
from puan.notifications.sms import sms_backend_class
from puan.notifications.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def recipients(**filters) -> set[int]:
    return set(Notification.objects.filter(**filters).values_list("recipient_id", flat=True))


def test_it_sends_to_the_unit_staff_and_head_and_named_users_once(people, tree, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            Message(
                kind="sla_overdue",
                title="案件超期：楼道堆物",
                unit_id=tree.community_a.pk,
                # The handler is unit staff as well: still one row.
                user_ids=(people.handler.pk, people.dispatcher.pk),
            )
        )
    assert recipients() == {people.handler.pk, people.mediator.pk, people.head.pk, people.dispatcher.pk}
    # Not unit staff by role, inactive, or of another unit: nothing.
    assert Notification.objects.count() == 4


def test_it_skips_inactive_and_unknown_named_users(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(Message(kind="red_case", title="红色预警", user_ids=(people.retired.pk, 987654321, people.leader.pk)))
    assert recipients() == {people.leader.pk}


def test_it_writes_one_row_per_recipient_for_repeated_messages(people, tree, django_capture_on_commit_callbacks):
    same = {"kind": "supervision_issued", "title": "督办：限期整改", "order_id": 7, "data": {"due": "2026-03-01"}}
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            Message(**same, user_ids=(people.leader.pk,)),
            Message(**same, user_ids=(people.leader.pk, people.dispatcher.pk)),
            Message(**same, unit_id=tree.community_b.pk),
            Message(**(same | {"title": "督办：另一件"}), user_ids=(people.leader.pk,)),
        )
    assert Notification.objects.filter(title="督办：限期整改").count() == 3
    assert recipients(title="督办：限期整改") == {people.leader.pk, people.dispatcher.pk, people.other_unit.pk}
    assert recipients(title="督办：另一件") == {people.leader.pk}
    row = Notification.objects.filter(recipient=people.leader, order_id=7).first()
    assert row.data == {"due": "2026-03-01"} and row.read_at is None


def test_it_writes_only_after_the_commit(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify(Message(kind="red_case", title="红色预警", user_ids=(people.leader.pk,)))
        assert Notification.objects.count() == 0
    assert len(callbacks) == 1
    callbacks[0]()
    assert recipients() == {people.leader.pk}


def test_it_refuses_a_malformed_message_in_the_callers_transaction():
    with pytest.raises(ValueError):
        notify(Message(kind="", title="无类型"))
    with pytest.raises(TypeError):
        notify(Message(kind="red_case", title="不可序列化", data={"x": object()}))


@pytest.mark.django_db(transaction=True)
def test_it_writes_nothing_and_sends_nothing_when_the_change_rolls_back(people, tree, closed_port_url):
    make_endpoint(closed_port_url)
    message = Message(kind="sla_overdue", title="案件超期", unit_id=tree.community_a.pk, sms=True)

    with pytest.raises(RuntimeError), transaction.atomic():
        notify(message)
        raise RuntimeError("the change failed")
    # A savepoint that rolls back takes its notifications with it; the outer change keeps its own.
    with transaction.atomic():
        notify(Message(kind="red_case", title="保留", user_ids=(people.leader.pk,)))
        try:
            with transaction.atomic():
                notify(message)
                raise RuntimeError("the inner change failed")
        except RuntimeError:
            pass

    assert list(Notification.objects.values_list("title", flat=True)) == ["保留"]
    assert list(WebhookDelivery.objects.values_list("kind", flat=True)) == ["red_case"]
    assert SmsMessage.objects.count() == 0

    # The same message in a transaction that commits does write, text and queue.
    with transaction.atomic():
        notify(message)
    assert recipients(title="案件超期") == {people.handler.pk, people.mediator.pk, people.head.pk}
    assert SmsMessage.objects.count() == 2  # the handler and the head have phones
    assert WebhookDelivery.objects.filter(kind="sla_overdue").count() == 1


def test_it_texts_recipients_with_a_phone_and_logs_only_the_masked_number(
    people, tree, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger="puan.sms")
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            Message(
                kind="sla_overdue", title="案件超期：占道经营", body="查询码 A1", unit_id=tree.community_a.pk, sms=True
            ),
            Message(kind="sla_reminder_50", title="时限提醒", user_ids=(people.grid_worker.pk,)),  # no sms
        )
    sent = {(m.phone, m.text) for m in SmsMessage.objects.all()}
    assert sent == {
        ("13812345678", "【埔安】案件超期：占道经营：查询码 A1"),
        ("13900001111", "【埔安】案件超期：占道经营：查询码 A1"),
    }
    assert {m.backend for m in SmsMessage.objects.all()} == {"logging"}
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM notifications_smsmessage")
        stored = {row[0] for row in cursor.fetchall()}
    assert "13812345678" not in stored  # encrypted at rest


class RecordingBackend:
    sent: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        RecordingBackend.sent.append((phone, text))


def test_it_hands_texts_to_the_backend_named_in_settings(people, settings, django_capture_on_commit_callbacks):
    settings.PUAN_SMS_BACKEND = f"{__name__}.RecordingBackend"
    RecordingBackend.sent = []
    with django_capture_on_commit_callbacks(execute=True):
        notify(Message(kind="red_case", title="红色预警", user_ids=(people.handler.pk, people.leader.pk), sms=True))
    assert RecordingBackend.sent == [("13812345678", "【埔安】红色预警")]  # the leader has no phone
    settings.PUAN_SMS_BACKEND = "puan.notifications.sms.NoSuchBackend"
    with pytest.raises(ImproperlyConfigured, match="PUAN_SMS_BACKEND"):
        sms_backend_class()


def _insert_batches(model, rows: int) -> int:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    per_insert = connection.ops.bulk_batch_size(fields, [None] * rows) if rows else 1
    return math.ceil(rows / max(per_insert, 1))


def test_it_notifies_ten_thousand_messages_with_a_bounded_number_of_queries(
    people, tree, closed_port_url, monkeypatch, django_capture_on_commit_callbacks
):
    make_endpoint(closed_port_url, kinds=["sla_overdue"])
    make_endpoint(closed_port_url, kinds=["red_case"])  # subscribed to nothing in this batch
    enqueued = []
    monkeypatch.setattr(services, "_enqueue_webhook_delivery", lambda: enqueued.append(1))
    units = [tree.community_a.pk, tree.community_b.pk, tree.district.pk]
    named = [people.dispatcher.pk, people.leader.pk, people.grid_worker.pk]
    messages = [
        Message(
            kind="sla_overdue",
            title=f"案件超期：案件{i}",
            case_id=None,
            unit_id=units[i % 3],
            user_ids=(named[i % 3],),
            data={"n": i},
            sms=i % 100 == 0,
        )
        for i in range(10_000)
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with CaptureQueriesContext(connection) as at_call:
            notify(*messages)
        assert len(at_call) == 0  # nothing happens before the commit
    with CaptureQueriesContext(connection) as at_commit, django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()

    inbox_rows = Notification.objects.count()
    deliveries = WebhookDelivery.objects.count()
    texts = SmsMessage.objects.count()
    # community A: handler, mediator, head + the named dispatcher; community B: its handler + the
    # named leader; district: the dispatcher (its only unit staff) + the named grid worker.
    assert inbox_rows == 3334 * 4 + 3333 * 2 + 3333 * 2
    assert deliveries == 10_000 and texts > 0
    assert enqueued == [1]  # one delivery task for the whole batch, not one per message

    statements = [q["sql"].lstrip().upper() for q in at_commit.captured_queries]
    inserts = [s for s in statements if s.startswith("INSERT")]
    others = [s for s in statements if not s.startswith(("INSERT", "SAVEPOINT", "RELEASE"))]
    assert len(others) <= 6, others  # staff, heads, named users, endpoints, phones
    allowed_inserts = (
        _insert_batches(Notification, inbox_rows)
        + _insert_batches(WebhookDelivery, deliveries)
        + _insert_batches(SmsMessage, texts)
    )
    assert len(inserts) <= allowed_inserts
