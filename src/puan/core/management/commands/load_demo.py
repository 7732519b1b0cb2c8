import os

from django.core.management.base import BaseCommand

from puan.demo import DEMO_LOGINS, demo_load


class Command(BaseCommand):
    help = "Load the demo district (idempotent: does nothing if a district exists)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=20260630)

    def handle(self, *args, seed: int, **options):
        password = os.environ.get("PUAN_DEMO_PASSWORD") or "Puan@2026"
        summary = demo_load(password=password, seed=seed)
        state = "已存在，跳过加载" if summary.already_loaded else f"加载完成，用时 {summary.seconds:.1f} 秒"
        self.stdout.write(
            f"演示辖区{state}：{summary.streets} 个街镇，{summary.communities} 个社区/村，"
            f"{summary.grids} 个网格，{summary.departments} 个部门，{summary.police_units} 个警务与应急单元，"
            f"{summary.users} 个账号。"
        )
        self.stdout.write(f"演示账号（密码 {password}）：" + "、".join(login[0] for login in DEMO_LOGINS))
