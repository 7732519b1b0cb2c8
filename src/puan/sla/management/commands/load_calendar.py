import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from puan.core.errors import InvalidInput
from puan.sla.calendar import calendar_load


class Command(BaseCommand):
    help = "Load a year's public holidays and make-up working days from a JSON file (replaces that year)."

    def add_arguments(self, parser):
        parser.add_argument("file", help='JSON: {"year", "holidays": [{"name", "from", "to"}], "makeup_workdays": []}')

    def handle(self, *args, file: str, **options):
        try:
            data = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"无法读取 {file}：{exc}") from None
        try:
            count = calendar_load(data=data)
        except InvalidInput as exc:
            raise CommandError(f"{exc.message}（{exc.field}）") from None
        self.stdout.write(self.style.SUCCESS(f"{data['year']} 年工作日历已载入：{count} 个特殊日期。"))
