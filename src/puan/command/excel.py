"""Any dashboard panel's table as an Excel workbook (`?format=xlsx`)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone

# Columns holding ratios are shown as percentages; averages with two decimals.
PERCENT, DECIMAL = "0.00%", "0.00"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    number_format: str | None = None
    width: int = 14


def panel_workbook(
    *, title: str, subtitle: str, columns: Sequence[Column], rows: Sequence[dict], notes: Sequence[str] = ()
) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([subtitle])
    sheet.append([])
    sheet.append([c.header for c in columns])
    header_row = sheet.max_row
    for i, _ in enumerate(columns, start=1):
        cell = sheet.cell(row=header_row, column=i)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="1F4E79")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for row in rows:
        sheet.append([_cell_value(row.get(c.key)) for c in columns])
        # A row may carry its own formats (a column of mixed counts and percentages).
        own = row.get("_formats", {})
        for i, c in enumerate(columns, start=1):
            fmt = own.get(c.key) or c.number_format
            if fmt:
                sheet.cell(row=sheet.max_row, column=i).number_format = fmt
    for i, c in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = c.width
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    if notes:
        sheet.append([])
        for note in notes:
            sheet.append([note])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell_value(value):
    if isinstance(value, datetime):
        # Excel has no time zones: write the local wall-clock time.
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, date | int | float | str) or value is None:
        return value
    return str(value)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(body: bytes, filename: str, fallback: str) -> HttpResponse:
    """The workbook as a download named in Chinese (RFC 6266 `filename*`), with a plain
    ASCII name for clients that know only `filename`."""
    response = HttpResponse(body, content_type=XLSX)
    response["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
    )
    response["Cache-Control"] = "private, no-store"
    return response
