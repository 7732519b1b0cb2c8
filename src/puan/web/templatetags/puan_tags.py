"""Template filters the pages share: remaining time, timeline labels, traffic lights."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language, gettext

from puan.cases.transitions import MOVES

register = template.Library()

# Timeline kinds that are not moves of the transition table.
EVENT_LABELS = {
    "register": "登记",
    "duplicate_report": "重复反映（已合并）",
    "route_red": "红色预警，升至区级",
    "route_orange": "橙色预警，升至街（镇）级",
    "overdue": "超过办结时限",
    "supervision_issued": "督办下发",
    "supervision_responded": "督办反馈",
    "supervision_escalated": "督办超期升级",
    "supervision_returned": "督办退回",
    "supervision_closed": "督办办结",
}

LIGHT_LABELS = {
    "green": "时限充足",
    "yellow": "时间已过半",
    "red": "时间已过80%",
    "overdue": "已超期",
    "paused": "已挂起",
    "stopped": "已停止计时",
}


@register.filter
def event_label(kind: str) -> str:
    if kind in MOVES:
        return gettext(MOVES[kind].label)
    return gettext(EVENT_LABELS.get(kind, kind))


@register.filter
def top_errors(form) -> list[str]:
    """The errors shown above a form: its own, and those of hidden fields, which have no
    place of their own on the page (a map point, the version or key a page carries)."""
    errors = list(form.non_field_errors())
    hidden = {field.name for field in form.hidden_fields() if field.errors}
    if hidden & {"lon", "lat"}:
        errors.append(gettext("地图上选择的位置无效，请重新点选。"))
    if hidden - {"lon", "lat"}:
        errors.append(gettext("页面上的数据已失效，请刷新页面后重试。"))
    return errors


@register.filter
def move_label(action: str) -> str:
    return gettext(MOVES[action].label) if action in MOVES else action


@register.filter
def light_label(light: str) -> str:
    return gettext(LIGHT_LABELS.get(light, light))


@register.filter
def duration(seconds: int | None) -> str:
    """Remaining time as a person says it: "2天3小时", "45分钟", "已超期 5小时"."""
    if seconds is None:
        return "—"
    overdue = seconds < 0
    minutes = abs(int(seconds)) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = gettext("%(d)s天%(h)s小时") % {"d": days, "h": hours}
    elif hours:
        text = gettext("%(h)s小时%(m)s分钟") % {"h": hours, "m": mins}
    else:
        text = gettext("%(m)s分钟") % {"m": mins}
    return gettext("已超期 %(t)s") % {"t": text} if overdue else gettext("剩余 %(t)s") % {"t": text}


@register.filter
def is_image(content_type: str) -> bool:
    return content_type.startswith("image/") and content_type != "image/heic"


def localized_name(obj) -> str:
    """A taxonomy entry's name in the page's language (item groups and categories carry
    an English name beside the Chinese one)."""
    english = getattr(obj, "name_en", "")
    return english if english and (get_language() or "").startswith("en") else obj.name


register.filter("localized_name", localized_name)
