"""Fixed-window request limits counted in the database, shared by every worker process:
Open311 clients per key and per address, and the public pages per address."""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from puan.core.errors import RateLimited
from puan.core.models import RateCounter


def rate_limit_hit(*, bucket: str, limit: int, now: datetime | None = None) -> int:
    """Count one request against `bucket` in the current minute; `RateLimited` past `limit`
    (0 = no limit). Returns the count so far in this window.

    One atomic upsert, so any number of worker processes share the count. Rejected requests
    count too: a client hammering past its limit does not get a fresh allowance by being
    refused."""
    if limit <= 0:
        return 0
    now = now or timezone.now()
    minute = int(now.timestamp() // 60)
    q = connection.ops.quote_name
    table = q(RateCounter._meta.db_table)
    # A savepoint of its own when called inside a transaction, its own commit otherwise.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({q('bucket')}, {q('minute')}, {q('count')}) VALUES (%s, %s, 1) "
            f"ON CONFLICT ({q('bucket')}, {q('minute')}) DO UPDATE SET {q('count')} = {table}.{q('count')} + 1 "
            f"RETURNING {q('count')}",
            [bucket, minute],
        )
        count = cursor.fetchone()[0]
        if count == 1:
            # First hit of a new window for this bucket: sweep windows nobody needs any more.
            RateCounter.objects.filter(minute__lt=minute - 1).delete()
    if count > limit:
        error = RateLimited(f"请求过于频繁：每分钟最多 {limit} 次，请稍后再试。")
        error.retry_after = max(1, math.ceil((minute + 1) * 60 - now.timestamp()))
        raise error
    return count


def client_ip(request) -> str:
    """The client's address; behind a reverse proxy, the last entry of the configured
    header (the one the proxy itself appended and vouches for)."""
    header = getattr(settings, "PUAN_CLIENT_IP_HEADER", "") or getattr(settings, "PUAN_OPEN311_IP_HEADER", "")
    if header:
        candidates = [v.strip() for v in request.headers.get(header, "").split(",") if v.strip()]
        if candidates:
            return candidates[-1]
    return request.META.get("REMOTE_ADDR", "")


def address_digest(request) -> str:
    """A keyed digest of the client's address, to count requests per address without
    keeping it (a plain hash of an IPv4 address is reversible by trying them all)."""
    return hmac.new(settings.SECRET_KEY.encode(), client_ip(request).encode(), hashlib.sha256).hexdigest()[:32]
