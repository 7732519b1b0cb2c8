from django.core.management.base import BaseCommand

from puan.command.rollup import rollup_fold, rollup_rebuild


class Command(BaseCommand):
    help = (
        "Bring the command-centre roll-ups up to date: fold every case event since the last run "
        "(what the background worker does every minute), or --rebuild them from the whole timeline "
        "(after a bulk load, or when verify-kpis reports a difference)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="recompute everything from the timeline")

    def handle(self, *args, rebuild: bool, **options):
        if rebuild:
            report = rollup_rebuild()
            self.stdout.write(report.as_line())
        # After a rebuild, fold what arrived while it was reading.
        report = rollup_fold()
        self.stdout.write(report.as_line())
