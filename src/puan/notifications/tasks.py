"""Background work: webhook delivery, right after a notification commits and every minute
for retries that have come due."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from puan.notifications.services import deliver_all_due_webhooks


@db_task()
def webhooks_deliver_now() -> None:
    # One task per committed batch, not per message: it drains whatever is due.
    deliver_all_due_webhooks()


@db_periodic_task(crontab(minute="*"))
def webhooks_deliver_due() -> None:
    deliver_all_due_webhooks()
