from __future__ import annotations

import re

import pytest
from django.conf import settings

from puan.notifications.models import Notification
from puan.notifications.tests.factories import make_notification

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_it_shows_my_inbox_with_unread_ones_bold(client, people):
    unread = make_notification(people.handler, title="案件超期：占道经营")
    read = make_notification(people.handler, title="督办：限期整改", kind="supervision_issued")
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)
    make_notification(people.dispatcher, title="别人的消息")
    client.force_login(people.handler)

    response = client.get("/inbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "消息中心" in html and "未读 1 条" in html
    assert re.search(rf'id="notification-{unread.pk}" class="notification unread"', html)
    assert re.search(rf'id="notification-{read.pk}" class="notification"', html)
    assert f'hx-post="/inbox/{unread.pk}/read/"' in html and "督办下发" in html
    assert "别人的消息" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)  # no inline script

    only_unread = client.get("/inbox/", {"unread": "1"}).content.decode()
    assert "案件超期：占道经营" in only_unread and "督办：限期整改" not in only_unread


def test_it_marks_one_read_with_htmx_and_updates_the_badge(client, people):
    n = make_notification(people.handler)
    make_notification(people.handler)
    client.force_login(people.handler)
    response = client.post(f"/inbox/{n.pk}/read/", headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="notification-{n.pk}" class="notification"' in html and "已读" in html
    assert 'id="unread-badge"' in html and 'hx-swap-oob="true"' in html and "未读 1 条" in html
    assert "<html" not in html  # a partial, not the page
    assert Notification.objects.get(pk=n.pk).read_at is not None
    # Without HTMX the same form posts and comes back to the page.
    other = make_notification(people.handler)
    assert client.post(f"/inbox/{other.pk}/read/").url == "/inbox/"


def test_it_marks_all_read_with_htmx(client, people):
    for _ in range(2):
        make_notification(people.leader)  # read-only roles keep their own inbox
    client.force_login(people.leader)
    response = client.post("/inbox/", headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="inbox-list"' in html and "没有未读消息" in html and "<html" not in html
    assert not Notification.objects.filter(recipient=people.leader, read_at__isnull=True).exists()


def test_it_hides_anothers_notification(client, people):
    theirs = make_notification(people.dispatcher)
    client.force_login(people.handler)
    assert client.post(f"/inbox/{theirs.pk}/read/", headers=HTMX).status_code == 404
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get("/inbox/")
    assert response.status_code == 302 and response.url.startswith(settings.LOGIN_URL)
    assert client.post("/inbox/1/read/").status_code == 302


def test_it_refuses_other_methods(client, people):
    n = make_notification(people.handler)
    client.force_login(people.handler)
    assert client.put("/inbox/").status_code == 405
    assert client.delete("/inbox/").status_code == 405
    assert client.get(f"/inbox/{n.pk}/read/").status_code == 405
