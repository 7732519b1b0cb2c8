from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from puan.notifications import services
from puan.notifications.models import DeliveryStatus, WebhookDelivery
from puan.notifications.services import Message, deliver_due_webhooks, notify
from puan.notifications.tests.factories import make_endpoint

pytestmark = pytest.mark.django_db


def test_it_delivers_a_signed_webhook_the_receiver_can_verify(people, receiver, django_capture_on_commit_callbacks):
    endpoint = make_endpoint(receiver.url, kinds=["sla_overdue"])
    make_endpoint(receiver.url, kinds=["red_case"])  # not subscribed to this kind
    make_endpoint(receiver.url, is_active=False)  # switched off
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            Message(
                kind="sla_overdue",
                title="案件超期：井盖缺失",
                body="查询码 HP26A",
                order_id=12,
                user_ids=(people.leader.pk,),
                data={"tier": 2},
            )
        )

    # Delivered at once, by the task enqueued after the commit.
    assert len(receiver.received) == 1
    request = receiver.received[0]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.endpoint_id, delivery.status, delivery.attempts) == (endpoint.pk, DeliveryStatus.DELIVERED, 1)
    assert delivery.last_status_code == 200 and delivery.delivered_at is not None

    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["x-puan-event"] == "sla_overdue"
    assert headers["x-puan-delivery"] == str(delivery.pk)
    timestamp = headers["x-puan-timestamp"]
    assert abs(int(timestamp) - timezone.now().timestamp()) < 60
    # What a receiver does: recompute the HMAC of "<timestamp>.<raw body>" with the shared secret.
    expected = hmac.new(endpoint.secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert headers["x-puan-signature"] == f"sha256={expected}"
    forged = hmac.new(b"wrong-secret", f"{timestamp}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert headers["x-puan-signature"] != f"sha256={forged}"

    body = json.loads(request.body)
    assert body == {
        "id": delivery.pk,
        "kind": "sla_overdue",
        "title": "案件超期：井盖缺失",
        "body": "查询码 HP26A",
        "case_id": None,
        "order_id": 12,
        "data": {"tier": 2},
        "created_at": body["created_at"],
    }


def test_it_retries_a_failing_endpoint_with_growing_backoff_then_keeps_it_failed(
    people, receiver, settings, django_capture_on_commit_callbacks
):
    settings.PUAN_WEBHOOK_MAX_ATTEMPTS = 8
    settings.PUAN_WEBHOOK_BACKOFF_SECONDS = 60
    receiver.statuses = [500]
    make_endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        notify(Message(kind="red_case", title="红色预警", user_ids=(people.leader.pk,)))

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    assert "HTTP 500" in delivery.last_error
    first_wait = delivery.next_attempt_at - delivery.created_at
    assert timedelta(seconds=59) < first_wait < timedelta(seconds=70)

    waits = []
    while delivery.status == DeliveryStatus.PENDING:
        due = delivery.next_attempt_at
        assert deliver_due_webhooks(now=due - timedelta(seconds=1)) == 0  # not before it is due
        assert deliver_due_webhooks(now=due) == 1
        delivery.refresh_from_db()
        if delivery.next_attempt_at:
            waits.append((delivery.next_attempt_at - due).total_seconds() / 60)

    assert waits == [2, 4, 8, 16, 32, 64]  # minutes after the 2nd … 7th failure
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 8
    assert delivery.last_status_code == 500 and "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at is None
    assert len(receiver.received) == 8
    assert deliver_due_webhooks(now=timezone.now() + timedelta(days=1)) == 0  # given up for good


def test_it_keeps_the_error_when_nothing_answers(people, closed_port_url, django_capture_on_commit_callbacks):
    make_endpoint(closed_port_url)
    with django_capture_on_commit_callbacks(execute=True):
        notify(Message(kind="red_case", title="红色预警", user_ids=(people.leader.pk,)))
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_status_code is None and "connection failed" in delivery.last_error


def test_it_never_delivers_one_delivery_twice_when_workers_race(receiver, monkeypatch, settings):
    # Sequential posts, so the second worker runs on this thread's connection and sees the rows.
    settings.PUAN_WEBHOOK_WORKERS = 1
    endpoint = make_endpoint(receiver.url)
    now = timezone.now()
    for n in range(3):
        WebhookDelivery.objects.create(endpoint=endpoint, kind="red_case", payload={"n": n}, next_attempt_at=now)

    real_post = services.webhook_post
    second_worker = []

    def post_while_another_worker_runs(**kwargs):
        # A second worker starts while the first holds its claim: it must find nothing to do.
        if not second_worker:
            second_worker.append(deliver_due_webhooks(now=now))
        return real_post(**kwargs)

    monkeypatch.setattr(services, "webhook_post", post_while_another_worker_runs)
    assert deliver_due_webhooks(now=now) == 3
    assert second_worker == [0]
    assert len(receiver.received) == 3
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.DELIVERED, 1)}


def test_it_lets_an_administrator_retry_a_failed_delivery_from_the_admin(
    people, receiver, client, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(receiver.url)
    failed = WebhookDelivery.objects.create(
        endpoint=endpoint,
        kind="red_case",
        payload={"kind": "red_case"},
        status=DeliveryStatus.FAILED,
        attempts=8,
        last_status_code=503,
        last_error="HTTP 503",
    )
    client.force_login(people.admin)
    listing = client.get("/admin/notifications/webhookdelivery/", {"status__exact": "failed"})
    assert listing.status_code == 200 and "HTTP 503" in listing.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/notifications/webhookdelivery/",
            {"action": "retry_now", "_selected_action": [failed.pk]},
        )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.DELIVERED and failed.attempts == 9 and failed.last_error == ""
    assert len(receiver.received) == 1


def test_it_lists_failed_deliveries_to_administrators_only(people, api, closed_port_url):
    endpoint = make_endpoint(closed_port_url, name="市级平台")
    WebhookDelivery.objects.create(
        endpoint=endpoint, kind="red_case", payload={}, status=DeliveryStatus.FAILED, attempts=8, last_error="HTTP 502"
    )
    WebhookDelivery.objects.create(endpoint=endpoint, kind="red_case", payload={}, status=DeliveryStatus.DELIVERED)

    response = api.login_as(people.admin).get("/api/v1/notifications/deliveries", {"status": "failed"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 1
    item = body["items"][0]
    assert (item["status"], item["attempts"], item["last_error"], item["endpoint_name"]) == (
        "failed",
        8,
        "HTTP 502",
        "市级平台",
    )
    assert api.get("/api/v1/notifications/deliveries", {"status": "lost"}).status_code == 422
    assert api.login_as(people.dispatcher).get("/api/v1/notifications/deliveries").status_code == 403
