"""What a citizen without an account may do to a case: rate its outcome.

`cases.services.case_rate` needs an actor with a relation to the case (reporter, owner,
supervisor); a citizen who appealed on the public page has no user at all. They prove
the case is theirs with the tracking code plus the phone number they gave, compared
through the keyed blind index (the number itself is never decrypted for this), and the
rating is `cases.services.case_rate_by_reporter`'s.
"""

from __future__ import annotations

import hmac

from puan.cases import services as svc
from puan.cases.models import Case, CaseParty, PartyRole
from puan.cases.selectors import case_get_by_tracking_code
from puan.core.errors import NotAllowed
from puan.core.pii import blind_index


def citizen_owns(case: Case, phone: str) -> bool:
    """True when `phone` is the number the case was reported with, or one a later report
    that joined the case gave (its reporter is a party of the case as 反映人)."""
    given = blind_index("phone", phone)
    if not given:
        return False
    if case.reporter_phone_index and hmac.compare_digest(given, case.reporter_phone_index):
        return True
    return CaseParty.objects.filter(case=case, role=PartyRole.REPORTER, phone_index=given).exists()


def case_rate_by_citizen(*, tracking_code: str, phone: str, version: int, satisfaction: int, note: str = "") -> Case:
    """The citizen's verdict (1–5) on a verified case; unsatisfied (1–2) within 15 days of
    the resolution reopens it at once, exactly as `case_rate` does."""
    case = case_get_by_tracking_code(tracking_code=tracking_code.strip())
    if not citizen_owns(case, phone):
        raise NotAllowed("手机号码与反映时留下的号码不一致，不能评价。")
    return svc.case_rate_by_reporter(case=case, version=version, satisfaction=satisfaction, note=note.strip()[:500])
