import os

from django.core.management.base import BaseCommand

from puan.demo import DEMO_LOGINS, demo_load, demo_load_history


class Command(BaseCommand):
    help = "Load the demo district and a year of case history (idempotent: skips what exists)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=20260630)
        parser.add_argument(
            "--cases",
            type=int,
            default=100_000,
            help="cases of history to load when the district has none (0: none)",
        )

    def handle(self, *args, seed: int, cases: int, **options):
        password = os.environ.get("PUAN_DEMO_PASSWORD") or "Puan@2026"
        summary = demo_load(password=password, seed=seed)
        state = "已存在，跳过加载" if summary.already_loaded else f"加载完成，用时 {summary.seconds:.1f} 秒"
        self.stdout.write(
            f"演示辖区{state}：{summary.streets} 个街镇，{summary.communities} 个社区/村，"
            f"{summary.grids} 个网格，{summary.departments} 个部门，{summary.police_units} 个警务与应急单元，"
            f"{summary.users} 个账号。"
        )
        if cases > 0:
            history = demo_load_history(count=cases, seed=seed)
            if history.already_loaded:
                self.stdout.write("历史案件已存在，跳过加载。")
            else:
                self.stdout.write(
                    f"历史案件加载完成：{history.cases} 件案件，{history.events} 条办理记录，"
                    f"用时 {history.seconds:.1f} 秒。"
                )
        self.stdout.write(f"演示账号（密码 {password}）：" + "、".join(login[0] for login in DEMO_LOGINS))
        # The demo's Open311 client system (a 12345 hotline platform) with a known key.
        from puan.open311.services import open311_demo_client

        key = os.environ.get("PUAN_DEMO_OPEN311_KEY") or "demo-open311-key-2026"
        client = open311_demo_client(key=key)
        self.stdout.write(f"Open311 演示接入方“{client.name}”的 api_key：{key}（/open311/v2/discovery.json）")
