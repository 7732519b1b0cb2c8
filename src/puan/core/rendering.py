"""How the API writes JSON.

Times go out in UTC, to the microsecond, in the form pydantic gives them
("2026-11-28T09:11:07.509180Z"), instead of Django's default millisecond cut: an answer
rendered here and one built by a schema for an idempotent replay read the same, and two
timeline steps within one millisecond do not look simultaneous. A time computed in local
time (a working-time deadline) reads as it will when read back from the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder


class ApiJSONEncoder(NinjaJSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, datetime):
            text = (o.astimezone(UTC) if o.tzinfo is not None else o).isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return super().default(o)


class ApiRenderer(JSONRenderer):
    encoder_class = ApiJSONEncoder
