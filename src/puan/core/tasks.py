"""Background housekeeping: idempotency answers past their keeping time, every night."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from puan.core.idempotency import idempotency_purge


@db_periodic_task(crontab(minute="17", hour="3"))
def idempotency_purge_task() -> None:
    idempotency_purge()
