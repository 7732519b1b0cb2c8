from __future__ import annotations

import pytest

from puan.notifications.models import Notification
from puan.notifications.tests.factories import make_notification

pytestmark = pytest.mark.django_db


def test_it_lists_only_my_notifications_newest_first_with_the_unread_count(api, people):
    older = make_notification(people.handler, title="时限提醒（已过50%）：占道经营", kind="sla_reminder_50")
    newer = make_notification(people.handler, title="案件超期：占道经营", case=None, order_id=3, data={"tier": 1})
    make_notification(people.handler, title="已读的", read_at=older.created_at)
    make_notification(people.dispatcher, title="别人的")

    body = api.login_as(people.handler).get("/api/v1/inbox").json()
    assert [i["title"] for i in body["items"]] == ["已读的", "案件超期：占道经营", "时限提醒（已过50%）：占道经营"]
    assert (body["count"], body["unread"]) == (3, 2)
    item = body["items"][1]
    assert item["id"] == newer.pk and item["kind_label"] == "案件超期" and item["order_id"] == 3
    assert item["data"] == {"tier": 1} and item["read_at"] is None

    unread = api.get("/api/v1/inbox", {"unread": "true", "limit": 1, "offset": 1}).json()
    assert [i["title"] for i in unread["items"]] == ["时限提醒（已过50%）：占道经营"]
    assert (unread["count"], unread["unread"]) == (2, 2)


def test_it_marks_one_read_and_hides_others_notifications(api, people):
    mine = make_notification(people.handler)
    theirs = make_notification(people.dispatcher)
    api.login_as(people.handler)

    response = api.post(f"/api/v1/inbox/{mine.pk}/read")
    assert response.status_code == 200 and response.json()["read_at"] is not None
    first_read = Notification.objects.get(pk=mine.pk).read_at
    api.post(f"/api/v1/inbox/{mine.pk}/read")  # again: no change, no error
    assert Notification.objects.get(pk=mine.pk).read_at == first_read

    response = api.post(f"/api/v1/inbox/{theirs.pk}/read")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert api.post("/api/v1/inbox/999999/read").status_code == 404


def test_it_marks_all_of_mine_read(api, people):
    for _ in range(3):
        make_notification(people.leader)  # a read-only role still keeps its own inbox
    theirs = make_notification(people.dispatcher)
    response = api.login_as(people.leader).post("/api/v1/inbox/read-all")
    assert response.status_code == 200 and response.json() == {"updated": 3}
    assert api.get("/api/v1/inbox").json()["unread"] == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_it_refuses_anonymous_callers(api):
    assert api.get("/api/v1/inbox").status_code == 401
    assert api.post("/api/v1/inbox/read-all").status_code == 401
