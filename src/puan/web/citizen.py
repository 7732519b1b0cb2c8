"""What a citizen without an account may do to a case: rate its outcome.

`cases.services.case_rate` needs an actor with a relation to the case (reporter, owner,
supervisor); a citizen who appealed on the public page has no user at all. They prove
the case is theirs with the tracking code plus the phone number they gave, compared
through the keyed blind index (the number itself is never decrypted for this).

Until `case_rate` accepts that proof itself (see the report of this change), this
service makes the same move through the same compare-and-set commit and timeline event
as `case_rate`, with no actor (as the system does for the deadline sweep).
"""

from __future__ import annotations

import hmac

from django.db import transaction
from django.utils import timezone

from puan.cases import services as svc
from puan.cases.models import Case, CaseState
from puan.cases.selectors import case_get_by_tracking_code
from puan.cases.transitions import MOVES
from puan.core.errors import Conflict, InvalidInput, NotAllowed
from puan.core.pii import blind_index


def citizen_owns(case: Case, phone: str) -> bool:
    """True when `phone` is the number the case was reported with."""
    given = blind_index("phone", phone)
    return bool(given and case.reporter_phone_index) and hmac.compare_digest(given, case.reporter_phone_index)


@transaction.atomic
def case_rate_by_citizen(*, tracking_code: str, phone: str, version: int, satisfaction: int, note: str = "") -> Case:
    """The citizen's verdict (1–5) on a verified case; unsatisfied (1–2) within 15 days of
    the resolution reopens it at once, exactly as `case_rate` does."""
    case = case_get_by_tracking_code(tracking_code=tracking_code.strip())
    if not citizen_owns(case, phone):
        raise NotAllowed("手机号码与反映时留下的号码不一致，不能评价。")
    if case.state not in MOVES["rate"].sources:
        raise Conflict(f"案件当前状态为“{CaseState(case.state).label}”，暂不能评价。", code="wrong_state")
    if satisfaction not in range(1, 6):
        raise InvalidInput("满意度须为1至5。", field="satisfaction")
    now = timezone.now()
    note = note.strip()[:500]
    case = svc._commit_move(
        case,
        actor=None,
        action="rate",
        version=version,
        now=now,
        note=note,
        changes={"satisfaction": satisfaction},
        data={"satisfaction": satisfaction, "by": "citizen"},
    )
    if satisfaction <= svc.UNSATISFIED_AT_MOST and case.resolved_at and now - case.resolved_at <= svc.REOPEN_WINDOW:
        case = svc._commit_move(
            case,
            actor=None,
            action="reopen",
            version=case.version,
            now=now,
            note=note or "群众评价不满意，案件重启办理。",
            data={"because": "unsatisfied", "by": "citizen"},
            changes=svc._deadline_changes(case, now),
        )
    return case
