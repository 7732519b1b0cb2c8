import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from puan.core.errors import InvalidInput
from puan.org.services import grids_import


class Command(BaseCommand):
    help = "Import grid boundaries from a GeoJSON FeatureCollection (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="GeoJSON file; each feature has properties code, name, community")

    def handle(self, *args, file: str, **options):
        path = Path(file)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CommandError(f"找不到文件 {path}。") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CommandError(f"{path} 不是有效的 JSON：{exc}") from None
        try:
            report = grids_import(feature_collection=data)
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"网格导入完成：新增 {report.created} 个，更新 {report.updated} 个。"))
