import time

from django.core.management.base import BaseCommand, CommandError

from puan.cases.bulk import cases_bulk_load
from puan.core.errors import DomainError


class Command(BaseCommand):
    help = "Load COUNT realistic cases with complete timelines into the loaded district (load tests, demos)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--days", type=int, default=365, help="spread the cases over this many days before now")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--dry-run", action="store_true", help="plan the cases and report, write nothing")

    def handle(self, *args, count: int, seed: int, days: int, batch_size: int, dry_run: bool, **options):
        if count < 0 or days < 1 or batch_size < 1:
            raise CommandError("--count must be ≥ 0, --days and --batch-size ≥ 1.")
        started = time.perf_counter()
        step = max(batch_size, count // 20)  # about twenty progress lines
        shown = [0]

        def progress(done: int) -> None:
            if done - shown[0] >= step or done == count:
                shown[0] = done
                rate = done / (time.perf_counter() - started)
                self.stdout.write(f"  {done:>9,} / {count:,} 件  {rate:,.0f} 件/秒")
                self.stdout.flush()

        try:
            report = cases_bulk_load(
                count=count, seed=seed, days=days, batch_size=batch_size, progress=progress, dry_run=dry_run
            )
        except DomainError as err:
            raise CommandError(err.message) from err
        done = "试运行（未写入数据库），计划" if dry_run else "已加载"
        self.stdout.write(
            f"{done} {report.cases:,} 件案件、{report.events:,} 条办理记录、{report.assists:,} 项协办任务、"
            f"{report.alerts:,} 条红色预警（{report.database}），当前超期未结 {report.overdue:,} 件；"
            f"用时 {report.seconds:.1f} 秒：{report.cases_per_second:,.0f} 件/秒，"
            f"{report.events_per_second:,.0f} 条记录/秒。"
        )
        self.stdout.write("各状态：" + "，".join(f"{state} {n:,}" for state, n in report.states.items()))
        if report.defaulted:
            self.stderr.write("以下字段按模型默认值填充：" + "、".join(sorted(report.defaulted)))
