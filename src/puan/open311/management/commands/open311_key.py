from django.core.management.base import BaseCommand, CommandError

from puan.core.errors import DomainError
from puan.open311 import services
from puan.open311.models import ClientSystem


class Command(BaseCommand):
    help = (
        "Issue an Open311 API key for a client system: `puan open311-key NAME` registers NAME and "
        "prints its key (once); with --rotate, replaces the key of an existing NAME. The key alone "
        "goes to stdout, so `KEY=$(puan open311-key NAME)` works."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="client system name, e.g. 12345 市民服务热线平台")
        parser.add_argument("--contact", default="", help="who runs it and how to reach them")
        parser.add_argument("--rotate", action="store_true", help="replace the key of an existing client system")

    def handle(self, *args, name: str, contact: str, rotate: bool, **options):
        client = ClientSystem.objects.filter(name=name.strip()).first()
        if client is not None and not rotate:
            raise CommandError(f"接入系统“{name}”已存在；如需更换密钥请加 --rotate（旧密钥将立即失效）。")
        if client is None and rotate:
            raise CommandError(f"接入系统“{name}”不存在。")
        try:
            if client is None:
                client, key = services.client_system_create(name=name, contact=contact)
            else:
                key = services.client_system_rotate_key(client=client)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        state = "（注意：该系统已停用，密钥不可用）" if client.revoked_at else ""
        self.stderr.write(f"“{client.name}”的 API key 如下，只显示这一次{state}：")
        self.stdout.write(key)
