"""The wire format of outgoing webhooks: the signed request and one HTTP attempt.

A receiver verifies a delivery by recomputing
`hex(HMAC-SHA256(secret, f"{X-Puan-Timestamp}.{raw body}"))`, comparing it with
`X-Puan-Signature` (after `sha256=`) in constant time, and refusing timestamps older than
a few minutes, which stops an intercepted request from being replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

USER_AGENT = "Puan-Webhook/1"
_ERROR_CHARS = 1000


def webhook_body(delivery_id: int, payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent: the stored payload under the delivery's id."""
    return json.dumps({"id": delivery_id, **payload}, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_signature_valid(*, secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """For receivers written in Python, and for our tests."""
    return hmac.compare_digest(webhook_signature(secret=secret, timestamp=timestamp, body=body), signature)


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status_code: int | None = None
    error: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would re-send (or drop) a signed body to an address nobody configured;
    # it counts as a failed attempt instead, with the 3xx code on record.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def webhook_post(
    *, url: str, secret: str, delivery_id: int, kind: str, body: bytes, timestamp: str, timeout: float
) -> PostResult:
    """One attempt. Never raises: every failure comes back as a result to record."""
    if not url.lower().startswith(("http://", "https://")):
        # urllib would also open file:// and ftp:// addresses.
        return PostResult(ok=False, error=f"unsupported URL scheme: {url[:100]}")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Puan-Event": kind,
            "X-Puan-Delivery": str(delivery_id),
            "X-Puan-Timestamp": timestamp,
            "X-Puan-Signature": webhook_signature(secret=secret, timestamp=timestamp, body=body),
        },
    )
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
            response.read(1024)
    except urllib.error.HTTPError as exc:
        detail = ""
        try:
            detail = exc.read(300).decode("utf-8", "replace").strip()
        except Exception:  # the body of an error response is a courtesy, not a requirement
            detail = ""
        text = f"HTTP {exc.code} {exc.reason}" + (f": {detail}" if detail else "")
        return PostResult(ok=False, status_code=exc.code, error=text[:_ERROR_CHARS])
    except urllib.error.URLError as exc:
        return PostResult(ok=False, error=f"connection failed: {exc.reason}"[:_ERROR_CHARS])
    except TimeoutError:
        return PostResult(ok=False, error=f"timed out after {timeout:g} s")
    except (OSError, ValueError) as exc:
        return PostResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:_ERROR_CHARS])
    if 200 <= status < 300:
        return PostResult(ok=True, status_code=status)
    return PostResult(ok=False, status_code=status, error=f"HTTP {status}")
