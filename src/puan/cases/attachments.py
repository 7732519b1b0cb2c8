"""Attachments: photos and files stored through Django storage, typed by their content."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.db import transaction

from puan.accounts.selectors import require_writer
from puan.cases.models import Attachment
from puan.core.uploads import check_size, sniff


@transaction.atomic
def attachment_upload(*, actor, name: str, content: bytes, purpose: str = "evidence") -> Attachment:
    require_writer(actor)
    check_size(len(content))
    content_type, ext = sniff(content[:32])
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(
        original_name=(name or f"upload.{ext}")[:200],
        content_type=content_type,
        size=len(content),
        sha256=digest,
        purpose=purpose,
        uploaded_by=actor,
    )
    attachment.file.save(f"{digest[:16]}.{ext}", ContentFile(content), save=False)
    attachment.save()
    return attachment
