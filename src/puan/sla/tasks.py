"""Background schedule: the deadline sweep every minute."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from puan.sla.sweep import sweep


@db_periodic_task(crontab(minute="*"))
@lock_task("sla-sweep")
def sla_sweep_task() -> None:
    sweep()
