"""What an upload really is, from its first bytes, never from its name or declared type."""

from __future__ import annotations

from django.conf import settings

from puan.core.errors import InvalidInput

# (content type, extension, test on the first bytes)
_SIGNATURES = [
    ("image/jpeg", "jpg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ("image/png", "png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/gif", "gif", lambda b: b[:6] in (b"GIF87a", b"GIF89a")),
    ("image/webp", "webp", lambda b: b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    ("image/heic", "heic", lambda b: b[4:8] == b"ftyp" and b[8:12] in (b"heic", b"heix", b"mif1", b"msf1")),
    ("video/mp4", "mp4", lambda b: b[4:8] == b"ftyp" and b[8:12] in (b"isom", b"iso2", b"mp41", b"mp42", b"avc1")),
    ("application/pdf", "pdf", lambda b: b.startswith(b"%PDF-")),
    ("audio/amr", "amr", lambda b: b.startswith(b"#!AMR")),
]


def max_upload_bytes() -> int:
    return int(getattr(settings, "PUAN_MAX_UPLOAD_MB", 10)) * 1024 * 1024


def sniff(head: bytes) -> tuple[str, str]:
    """(content type, extension) of a supported file, or a 422 naming what is accepted."""
    for content_type, ext, test in _SIGNATURES:
        if test(head):
            return content_type, ext
    raise InvalidInput(
        "不支持的文件类型：仅接受 JPEG、PNG、GIF、WEBP、HEIC 图片，MP4 视频，AMR 录音和 PDF 文件。", field="file"
    )


def check_size(size: int) -> None:
    if size <= 0:
        raise InvalidInput("文件为空。", field="file")
    if size > max_upload_bytes():
        raise InvalidInput(f"文件超过 {max_upload_bytes() // (1024 * 1024)} MB 的上限。", field="file")
