"""The API's schema base: every field in the OpenAPI document carries a description.

Fields named the same mean the same thing everywhere (one name per concept), so their
descriptions live once, here; a field with its own `description=` keeps it.
"""

from __future__ import annotations

from typing import Annotated, Any

from ninja import Schema as NinjaSchema
from pydantic import BaseModel, ConfigDict, Field

GLOSSARY: dict[str, str] = {
    "id": "Identifier",
    "code": "Stable code",
    "name": "Name (Chinese)",
    "name_en": "Name in English",
    "username": "Login name",
    "display_name": "Name shown to colleagues",
    "roles": "Role codes, e.g. dispatcher, grid_worker",
    "unit": "The unit the user belongs to",
    "unit_id": "Id of the unit the user belongs to",
    "parent_id": "Id of the parent unit; null for the district",
    "items": "The rows of this page",
    "count": "Number of rows matching, over all pages",
    "total": "Number of rows matching, over all pages",
    "grid": "The grid (网格) where it happened",
    "community": "The community or village (社区/村)",
    "street": "The street or town (街道/镇)",
    "district": "The district (区)",
    "description": "Description",
    "keywords": "Search keywords",
    "lead_department_name": "Name of the lead department",
    "categories": "Categories of this item group",
    "department": "The department",
    "department_id": "Id of a department unit",
    "task": "What the assisting department is asked to do",
    "note": "Free text: reason, instructions or comment",
    "created_at": "When it was created",
    "closed_at": "When it was closed; null while open",
    "content_type": "MIME type, from the file's content",
    "size": "Size in bytes",
    "url": "Where to download it (same authentication)",
    "tracking_code": "Tracking code (查询码) the reporter uses to follow the case",
    "kind": "Case kind: event | dispute | petition | hazard | appeal | emergency",
    "channel": "Intake channel: patrol | app | hotline | window | letter | online | iot | video | referral",
    "category_name": "Category name",
    "title": "Short title",
    "state": "Lifecycle state: registered, accepted, rejected, triaged, assigned, in_progress, escalated, "
    "returned, resolved, verified, rated, closed, reopened",
    "lane": "Lane: urgent | simple | complex | difficult (急事急办、简事快办、繁事精办、难事认真办)",
    "owner_unit": "The unit that owns the case now (community, street or district)",
    "lead_department": "The lead department (牵头部门)",
    "resolve_due_at": "Deadline to resolve",
    "respond_due_at": "Deadline to respond",
    "version": "Version for optimistic concurrency; send it back with every move",
    "lon": "Longitude (WGS-84)",
    "lat": "Latitude (WGS-84)",
    "address": "Address as given",
    "risk_reasons": "Why the case has its colour: every rule that fired, and any override",
    "risk_facts": "The facts the colour was computed from",
    "risk_override": "The dispatcher's reason for overriding the colour; empty if none",
    "handled_on_spot": "Handled on the spot by the grid worker",
    "outcome": "What was done",
    "satisfaction": "The reporter's rating, 1–5; null until rated",
    "reporter_name": "Name of the person who reported it",
    "parties": "Parties to the matter (personal data masked unless revealed)",
    "assists": "Assisting departments and their tasks",
    "attachments": "Photos and files",
    "timeline": "Every step, in order",
    "revealed": "True when personal data is shown unmasked (audited)",
    "seq": "Position in the timeline, from 1",
    "from_state": "State before the step",
    "to_state": "State after the step",
    "actor_unit": "Unit of who did it",
    "tier": "Tier: 1 community, 2 street, 3 district",
    "data": "Structured details of the step",
    "at": "When it happened",
    "case": "The case",
    "role": "Part in the matter: applicant | respondent | other",
}


def _describe(schema: dict[str, Any], cls: type) -> None:
    for name, prop in schema.get("properties", {}).items():
        if "description" not in prop and name in GLOSSARY:
            prop["description"] = GLOSSARY[name]


# A row's id in a request body. Bounded by the largest id either database stores: a larger
# integer would otherwise reach SQLite, which cannot bind it, as a 500 instead of a 422.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


class Schema(NinjaSchema):
    model_config = ConfigDict(json_schema_extra=_describe)


class InputSchema(BaseModel):
    """A request body: a plain pydantic model. ninja's Schema wraps every model, nested
    ones included, in a validator that reads attributes off ORM objects, which answers
    need and requests do not: for a report with its facts and parties that wrapper cost
    some twenty times the validation itself."""

    model_config = ConfigDict(json_schema_extra=_describe)
