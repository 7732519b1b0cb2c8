from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.utils import timezone

from puan.notifications.models import Notification, WebhookEndpoint

_seq = itertools.count(1)


def make_notification(recipient, **extra) -> Notification:
    n = next(_seq)
    values = {
        "kind": "sla_overdue",
        "title": f"案件超期：测试案件{n}",
        "body": "请尽快办理。",
        "created_at": timezone.now(),
    }
    return Notification.objects.create(recipient=recipient, **(values | extra))


def make_endpoint(url: str, **extra) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(name=extra.pop("name", f"接收端{next(_seq)}"), url=url, **extra)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that answers with the next status of `statuses`
    (the last one repeats) and keeps every request it got."""

    url: str = ""
    statuses: list[int] = field(default_factory=lambda: [200])
    received: list[Received] = field(default_factory=list)


def start_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                receiver.received.append(Received(headers=dict(self.headers.items()), body=body))
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write("好".encode() if status < 300 else "服务器内部错误".encode())

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/puan"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server
