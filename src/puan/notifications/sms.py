"""SMS gateways behind one small interface, chosen by dotted path in `PUAN_SMS_BACKEND`.

A real gateway (a carrier's or a government SMS platform's) is a class with `send`; it
may also offer `send_many` to take a whole batch in one call, which `notify` prefers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from puan.core.pii import mask_phone
from puan.notifications.models import SmsMessage, SmsStatus

log = logging.getLogger("puan.sms")


class SmsBackend(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class LoggingSmsBackend:
    """The default: sends nothing, logs the masked number and keeps the text on record."""

    name = "logging"

    def send(self, phone: str, text: str) -> None:
        self.send_many([(phone, text)])

    def send_many(self, items: Iterable[tuple[str, str]]) -> None:
        rows = [SmsMessage(phone=phone, text=text, backend=self.name, status=SmsStatus.LOGGED) for phone, text in items]
        for row in rows:
            # The log leaves the database's protection, so the number is masked there.
            log.info("SMS to %s: %s", mask_phone(row.phone), row.text)
        SmsMessage.objects.bulk_create(rows, batch_size=1000)


def sms_backend_class() -> type:
    path = settings.PUAN_SMS_BACKEND
    try:
        backend_class = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"PUAN_SMS_BACKEND={path!r} cannot be imported: {exc}.") from None
    if not callable(getattr(backend_class, "send", None)):
        raise ImproperlyConfigured(f"PUAN_SMS_BACKEND={path!r} has no send(phone, text) method.")
    return backend_class


def sms_backend() -> SmsBackend:
    # A fresh instance per batch: a gateway client may hold a connection for one batch only.
    return sms_backend_class()()


def sms_send_all(items: list[tuple[str, str]]) -> None:
    """Hand a batch to the configured backend; one bad number must not stop the others."""
    if not items:
        return
    backend = sms_backend()
    send_many = getattr(backend, "send_many", None)
    if send_many is not None:
        send_many(items)
        return
    for phone, text in items:
        try:
            backend.send(phone, text)
        except Exception:
            log.exception("SMS to %s failed", mask_phone(phone))
