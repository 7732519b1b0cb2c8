from datetime import date

from django.core.management.base import BaseCommand, CommandError

from puan.command import selectors as sel
from puan.command.verify import verify_kpis
from puan.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "Recompute every command-centre figure from the raw case timeline and report any difference "
        "from what the dashboard serves (exit status 1 if there is one). See docs/kpis.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", type=date.fromisoformat, help="first day (default: 30 days ago)")
        parser.add_argument("--to", dest="last", type=date.fromisoformat, help="last day (default: today)")
        parser.add_argument(
            "--units",
            choices=["streets", "all"],
            default="streets",
            help="compare the KPIs of the district and streets, or of every unit down to the grids",
        )

    def handle(self, *args, first: date | None, last: date | None, units: str, **options):
        try:
            period = sel.period_from(first, last)
        except DomainError as err:
            raise CommandError(err.message) from err
        report = verify_kpis(period=period, units=units)
        self.stdout.write(
            f"核对 {report.cases:,} 件案件、{report.events:,} 条办理记录（至记录号 {report.horizon:,}）："
            f"{report.rows:,} 行汇总、{report.figures:,} 项指标（{period.first} 至 {period.last} 及累计），"
            f"用时 {report.seconds:.1f} 秒。"
        )
        for difference in report.differences:
            self.stdout.write(difference.as_line())
        if not report.ok:
            more = report.difference_count - len(report.differences)
            tail = f"（另有 {more} 处未列出）" if more > 0 else ""
            raise CommandError(
                f"发现 {report.difference_count} 处差异{tail}。可运行 `puan rollup --rebuild` 重建汇总。"
            )
        self.stdout.write("无差异：看板上的每个数字都与办理记录重算结果一致。")
