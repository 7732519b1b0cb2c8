from __future__ import annotations

import itertools

from puan.accounts.models import User
from puan.accounts.services import user_create

PASSWORD = "Correct-Horse-9"
_seq = itertools.count(1)


def make_user(*roles: str, unit=None, username: str | None = None, **extra) -> User:
    return user_create(
        username=username or f"user{next(_seq)}",
        password=PASSWORD,
        unit=unit,
        roles=list(roles),
        **extra,
    )
