from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from puan.sla.sweep import sweep


class Command(BaseCommand):
    help = "Run the deadline sweep once: case reminders, overdue marks, escalations; overdue supervision orders."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="Act as if it were this moment (ISO 8601), e.g. 2026-12-01T09:00+08:00")

    def handle(self, *args, at: str | None = None, **options):
        now = None
        if at:
            try:
                now = datetime.fromisoformat(at.replace("Z", "+00:00").replace(" ", "T", 1))
            except ValueError:
                raise CommandError(f"--at {at!r} 不是有效的 ISO 8601 时间。") from None
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        report = sweep(now=now)
        self.stdout.write(f"时限巡检完成：{report.as_line()}")
        # Supervision orders have deadlines too: an unanswered one goes to the unit's head.
        from puan.supervision.services import orders_escalate_overdue

        escalated = orders_escalate_overdue(now=now)
        self.stdout.write(f"督办巡检完成：{escalated} 件逾期未反馈的督办已报单位负责人。")
