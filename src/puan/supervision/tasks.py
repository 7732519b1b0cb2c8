"""Background schedule: escalate unanswered supervision orders every five minutes.

The deadline sweep (`puan.sla`) may call `orders_escalate_overdue` as well; the
compare-and-set claim makes running both harmless."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from puan.supervision.services import orders_escalate_overdue


@db_periodic_task(crontab(minute="*/5"))
@lock_task("supervision-escalate")
def supervision_escalate_task() -> int:
    return orders_escalate_overdue()
