"""What every PDF of the project shares: ReportLab's built-in Chinese font (no font file
to ship) and the escaping of text put into Paragraph markup. ReportLab itself is imported
when a PDF is made, not when a process starts."""

from __future__ import annotations

CJK_FONT = "STSong-Light"


def cjk_font() -> str:
    """The font's name, registered with ReportLab on first use."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    return CJK_FONT


def pdf_escape(text: str) -> str:
    """Paragraph text is a small markup language: a citizen's words must not be read as tags."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
