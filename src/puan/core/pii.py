"""Personal data at rest and on screen.

ID numbers and phone numbers are stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256)
with a separate keyed blind index (HMAC-SHA256 of the normalised value), so the system
can find "the same person" across cases without being able to read the number from
the index. Roles without the right to see personal data get the masked form.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(key: bytes) -> Fernet:
    return Fernet(key)


def encrypt(value: str) -> str:
    return _fernet(settings.PUAN_PII_ENCRYPTION_KEY).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.PUAN_PII_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        # A value written under another key is unreadable here; say so rather than crash.
        return "[无法解密]"


def normalise(kind: str, value: str) -> str:
    value = re.sub(r"[\s\-]", "", value or "")
    if kind == "id_number":
        return value.upper()
    if kind == "phone":
        return re.sub(r"^(\+?86)", "", value)
    return value


def blind_index(kind: str, value: str) -> str:
    """Deterministic, keyed digest of a normalised value; empty for an empty value."""
    value = normalise(kind, value)
    if not value:
        return ""
    digest = hmac.new(settings.PUAN_PII_INDEX_KEY, f"{kind}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def mask_id_number(value: str) -> str:
    """110101199001011234 → 110***********1234 (first 3 and last 4 kept)."""
    value = normalise("id_number", value)
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value: str) -> str:
    """13812345678 → 138****5678."""
    value = normalise("phone", value)
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


MASKERS = {"id_number": mask_id_number, "phone": mask_phone}

_ID_RE = re.compile(r"^\d{17}[\dX]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def is_valid_id_number(value: str) -> bool:
    """Mainland resident ID (GB 11643): 18 characters with an ISO 7064 check digit."""
    value = normalise("id_number", value)
    if not _ID_RE.match(value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def is_valid_phone(value: str) -> bool:
    value = normalise("phone", value)
    return bool(re.fullmatch(r"1[3-9]\d{9}|0\d{2,3}\d{7,8}", value))


class EncryptedTextField(models.TextField):
    """A text column whose value is encrypted before it reaches the database."""

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)


# --- scrubbing free text ----------------------------------------------------------------

REDACTED = "[已隐去]"

_PII_PATTERNS = [
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),  # e-mail
    re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),  # resident ID, 18 characters
    re.compile(r"(?<!\d)\d{15}(?!\d)"),  # resident ID, old 15 digits
    re.compile(r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\d)"),  # mobile
    re.compile(r"(?<!\d)0\d{2,3}[-\s]?\d{7,8}(?!\d)"),  # landline
]


def scrub(text: str, known: list[str]) -> str:
    """`text` without the given personal values (longest first) and without anything
    shaped like a phone number, an ID number or an e-mail address: for text that leaves
    to people who may not see personal data (the public, a citizen)."""
    for value in known:
        text = text.replace(value, REDACTED)
    for pattern in _PII_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text
