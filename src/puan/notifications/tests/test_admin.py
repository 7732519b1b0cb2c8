from __future__ import annotations

import pytest

from puan.notifications.models import SmsMessage, WebhookDelivery, WebhookEndpoint
from puan.notifications.tests.factories import make_endpoint, make_notification

pytestmark = pytest.mark.django_db


def test_it_lets_an_administrator_configure_endpoints_and_read_the_logs(client, people):
    client.force_login(people.admin)
    response = client.post(
        "/admin/notifications/webhookendpoint/add/",
        {
            "name": "市级指挥平台",
            "url": "https://city.example.gov.cn/hooks",
            "kinds": '["red_case"]',
            "is_active": "on",
            "secret": "a-long-shared-secret-for-signing-0001",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.kinds == ["red_case"] and endpoint.accepts("red_case") and not endpoint.accepts("sla_overdue")

    bad = client.post(
        "/admin/notifications/webhookendpoint/add/",
        {"name": "坏地址", "url": "file:///etc/passwd", "kinds": '"red_case"', "secret": "x" * 32},
    )
    assert bad.status_code == 200 and WebhookEndpoint.objects.count() == 1  # form errors shown

    WebhookDelivery.objects.create(endpoint=endpoint, kind="red_case", payload={}, status="failed")
    listing = client.get("/admin/notifications/webhookendpoint/").content.decode()
    assert "市级指挥平台" in listing and "red_case" in listing

    SmsMessage.objects.create(phone="13812345678", text="【埔安】红色预警", backend="logging")
    sms = client.get("/admin/notifications/smsmessage/").content.decode()
    assert "138****5678" in sms and "13812345678" not in sms

    make_notification(people.handler, title="案件超期：占道经营")
    assert "案件超期：占道经营" in client.get("/admin/notifications/notification/").content.decode()


def test_it_keeps_other_roles_out_of_the_webhook_admin(client, people):
    make_endpoint("https://city.example.gov.cn/hooks")
    client.force_login(people.dispatcher)
    response = client.get("/admin/notifications/webhookendpoint/")
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_it_lets_an_administrator_retry_one_delivery_through_the_api(api, people, closed_port_url):
    endpoint = make_endpoint(closed_port_url)
    failed = WebhookDelivery.objects.create(endpoint=endpoint, kind="red_case", payload={}, status="failed", attempts=8)
    assert (
        api.login_as(people.dispatcher).post(f"/api/v1/notifications/deliveries/{failed.pk}/retry").status_code == 403
    )

    response = api.login_as(people.admin).post(f"/api/v1/notifications/deliveries/{failed.pk}/retry")
    assert response.status_code == 200 and response.json() == {"retried": 1}
    failed.refresh_from_db()
    assert failed.status == "pending" and failed.next_attempt_at is not None
    assert api.post("/api/v1/notifications/deliveries/999999/retry").status_code == 404
