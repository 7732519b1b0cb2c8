from __future__ import annotations

import socket
from dataclasses import dataclass

import pytest

from puan.accounts.tests.factories import make_user
from puan.notifications.tests.factories import start_receiver
from puan.org.models import Unit


@dataclass
class People:
    handler: object  # unit_handler of community A
    mediator: object  # mediator of community A
    head: object  # head of community A, a grid worker by role
    grid_worker: object  # community A, not unit staff
    retired: object  # inactive unit_handler of community A
    other_unit: object  # unit_handler of community B
    dispatcher: object  # district dispatcher
    leader: object  # read-only
    admin: object


@pytest.fixture
def people(tree) -> People:
    community = tree.community_a
    p = People(
        handler=make_user("unit_handler", unit=community, phone="13812345678"),
        mediator=make_user("mediator", unit=community),
        head=make_user("grid_worker", unit=community, phone="13900001111"),
        grid_worker=make_user("grid_worker", unit=community, phone="13700002222"),
        retired=make_user("unit_handler", unit=community),
        other_unit=make_user("unit_handler", unit=tree.community_b),
        dispatcher=make_user("dispatcher", unit=tree.district),
        leader=make_user("leader", unit=tree.district),
        admin=make_user("admin", unit=tree.district),
    )
    p.retired.is_active = False
    p.retired.save(update_fields=["is_active"])
    Unit.objects.filter(pk=community.pk).update(head=p.head)
    return p


@pytest.fixture
def receiver():
    receiver, server = start_receiver()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """An address where nothing listens: the connection is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
