"""The command centre's panels under /api/v1/command: one endpoint per panel, each scoped
to the caller (a unit outside their area is a 404) and each able to hand its table over
as Excel (`format=xlsx`). Figures are defined in docs/kpis.md."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.utils import timezone
from ninja import Query, Router

from puan.cases.models import CaseState, Risk
from puan.command import selectors as sel
from puan.command import services
from puan.command.excel import DECIMAL, PERCENT, Column, panel_workbook, xlsx_response
from puan.command.geo import cell_outline_json
from puan.command.schemas import (
    AlertList,
    AlertOut,
    AlertQuery,
    DepartmentList,
    DepartmentQuery,
    Format,
    HexOut,
    HexQuery,
    KpisOut,
    MapOut,
    MapQuery,
    PanelQuery,
    TrendOut,
)
from puan.core.rendering import ApiJSONEncoder
from puan.org.models import Unit

router = Router(tags=["command"])


def _unit(u: Unit) -> dict:
    return {"id": u.pk, "name": u.name, "level": u.level}


def _head(request, query: PanelQuery, *, days: int = sel.DEFAULT_DAYS) -> tuple[Unit, sel.Period, dict]:
    unit = sel.command_unit_for(user=request.user, unit_id=query.unit)
    period = sel.period_from(query.from_, query.to, days=days)
    head = {
        "unit": _unit(unit),
        "breadcrumb": [_unit(u) for u in sel.unit_breadcrumb(user=request.user, unit=unit)],
        "period": {"from": period.first, "to": period.last},
        "as_of": sel.as_of(),
        "generated_at": timezone.now(),
    }
    return unit, period, head


def _subtitle(head: dict) -> str:
    as_of = head["as_of"]
    stamp = timezone.localtime(as_of).strftime("%Y-%m-%d %H:%M:%S") if as_of else "尚未汇总"
    return f"{head['unit']['name']}　{head['period']['from']} 至 {head['period']['to']}　数据截至 {stamp}"


def _filename(head: dict, panel: str) -> str:
    return f"指挥中心-{panel}-{head['unit']['name']}-{head['period']['from']}至{head['period']['to']}.xlsx"


NOTES = ("口径见 docs/kpis.md。“当前超期”为导出时的实时数，其余指标截至“数据截至”时刻（每分钟汇总）。",)


# --- KPIs -----------------------------------------------------------------------------------

KPI_ROWS = (
    ("handled_total", "累计办结（件）", None),
    ("handled", "期内办结（件）", None),
    ("registered", "期内登记（件）", None),
    ("rejected", "其中不予受理（件）", None),
    ("intake", "期内受理（件）", None),
    ("done", "其中已办结（件）", None),
    ("completion_rate", "办结率", PERCENT),
    ("on_time", "按期办结（件）", None),
    ("on_time_rate", "按期办结率", PERCENT),
    ("tier_community", "社区办结（件）", None),
    ("tier_street", "街镇办结（件）", None),
    ("tier_district", "区级办结（件）", None),
    ("tier_community_rate", "小事不出社区率", PERCENT),
    ("tier_within_street_rate", "大事不出街镇率", PERCENT),
    ("tier_district_rate", "区级办结占比", PERCENT),
    ("rated", "已评价（件）", None),
    ("satisfaction_avg", "平均满意度（1–5）", DECIMAL),
    ("open_red", "当前在办·红色（件）", None),
    ("open_orange", "当前在办·橙色（件）", None),
    ("open_yellow", "当前在办·黄色（件）", None),
    ("open_total", "当前在办（件）", None),
    ("overdue", "当前超期（件）", None),
)


@router.get("/kpis", response=KpisOut, by_alias=True, summary="Headline figures of a unit for a period")
def kpis(request, query: Query[PanelQuery]):
    """Cases handled (total and in the period), completion and on-time rates, shares
    resolved at each tier, satisfaction, open cases by colour and overdue now."""
    unit, period, head = _head(request, query)
    figures = sel.kpis_for(unit=unit, period=period)
    if query.format == Format.XLSX:
        rows = [{"name": label, "value": figures[key], "_formats": {"value": fmt}} for key, label, fmt in KPI_ROWS]
        body = panel_workbook(
            title="核心指标",
            subtitle=_subtitle(head),
            columns=[Column("name", "指标", width=24), Column("value", "数值", width=14)],
            rows=rows,
            notes=NOTES,
        )
        return xlsx_response(body, _filename(head, "核心指标"), "command-kpis.xlsx")
    return {**head, **figures}


# --- map --------------------------------------------------------------------------------------


@router.get("/map", response=MapOut, by_alias=True, summary="The unit's children as GeoJSON, coloured by a figure")
def unit_map(request, query: Query[MapQuery]):
    """District → streets, street → communities, community → grids; a grid shows itself.
    Click a feature to drill down (its `id` is the next `unit`)."""
    unit, period, head = _head(request, query)
    data = sel.map_for(unit=unit, metric=str(query.metric), period=period)
    if query.format == Format.XLSX:
        fmt = DECIMAL if data["metric"] == "satisfaction" else PERCENT if data["is_rate"] else None
        rows = [f["properties"] for f in data["features"]["features"]]
        body = panel_workbook(
            title=f"地图-{data['metric_label']}",
            subtitle=_subtitle(head),
            columns=[Column("name", "单位", width=24), Column("value", data["metric_label"], fmt, width=16)],
            rows=rows,
            notes=NOTES,
        )
        return xlsx_response(body, _filename(head, f"地图{data['metric_label']}"), f"command-map-{data['metric']}.xlsx")
    return {**head, **data}


# --- hexagons ---------------------------------------------------------------------------------


@router.get("/hexes", response=HexOut, by_alias=True, summary="Cases registered per h3 hexagon (heat map)")
def hexes(request, query: Query[HexQuery]):
    """Where people call: cases registered in the period, counted per h3 cell of their
    location, inside the unit."""
    unit, period, head = _head(request, query)
    data = sel.hexes_for(unit=unit, period=period, resolution=query.res)
    if query.format == Format.XLSX:
        import h3

        rows = []
        for c in data["cells"]:
            lat, lon = h3.cell_to_latlng(c["cell"])
            rows.append({"cell": c["cell"], "registered": c["registered"], "lon": round(lon, 6), "lat": round(lat, 6)})
        body = panel_workbook(
            title="热力分布",
            subtitle=f"{_subtitle(head)}　h3 分辨率 {data['resolution']}",
            columns=[
                Column("cell", "h3单元", width=20),
                Column("registered", "登记案件", width=12),
                Column("lon", "中心经度", width=12),
                Column("lat", "中心纬度", width=12),
            ],
            rows=rows,
            notes=NOTES,
        )
        return xlsx_response(body, _filename(head, "热力分布"), "command-hexes.xlsx")
    # A thousand hexagons of seven points each: validating and encoding them field by field
    # costs more than finding them. Each outline's JSON is made once per process.
    cells = ",".join(
        f'{{"cell":"{c["cell"]}","registered":{c["registered"]},"outline":{cell_outline_json(c["index"])}}}'
        for c in data["cells"]
    )
    text = json.dumps({**head, "resolution": data["resolution"], "max": data["max"], "cells": []}, cls=ApiJSONEncoder)
    return HttpResponse(f"{text[:-3]}[{cells}]}}", content_type="application/json; charset=utf-8")


# --- alerts -----------------------------------------------------------------------------------


def _alert(a) -> dict:
    case = a.case
    place = " · ".join(u.name for u in (case.street, case.community, case.grid) if u is not None)
    return {
        "id": a.pk,
        "case_id": case.pk,
        "tracking_code": case.tracking_code,
        "title": case.title,
        "message": a.message,
        "risk": case.risk,
        "state": case.state,
        "place": place,
        "created_at": a.created_at,
        "acknowledged": a.acknowledged_at is not None,
        "acknowledged_at": a.acknowledged_at,
    }


@router.get("/alerts", response=AlertList, summary="Live feed of red cases (poll with `after`)")
def alerts(request, query: Query[AlertQuery]):
    """Without `after`: the latest 20 (500 in Excel). With `after`: every alert since, up to 100. The page
    polls every 3 seconds, so a new red case is on screen within 5 seconds; it sends the ids it
    shows unsigned (`unsigned`), and `signed` tells which of them another screen has signed for."""
    unit = sel.command_unit_for(user=request.user, unit_id=query.unit)
    # The screen shows the latest few; a workbook may as well hold the latest few hundred.
    limit = sel.FEED_EXPORT if query.format == Format.XLSX else sel.FEED_FIRST
    items = [_alert(a) for a in sel.alerts_for(unit=unit, after=query.after, limit=limit)]
    now = timezone.now()
    if query.format == Format.XLSX:
        labels_state, labels_risk = dict(CaseState.choices), dict(Risk.choices)
        rows = [
            {**i, "state": labels_state.get(i["state"], i["state"]), "risk": labels_risk.get(i["risk"], i["risk"])}
            for i in items
        ]
        body = panel_workbook(
            title="红色预警",
            subtitle=f"{unit.name}　导出时间 {timezone.localtime(now):%Y-%m-%d %H:%M:%S}",
            columns=[
                Column("created_at", "预警时间", "yyyy-mm-dd hh:mm:ss", width=20),
                Column("tracking_code", "查询码", width=16),
                Column("title", "标题", width=40),
                Column("place", "地点", width=36),
                Column("risk", "当前风险", width=10),
                Column("state", "当前状态", width=10),
            ],
            rows=rows,
        )
        return xlsx_response(body, f"指挥中心-红色预警-{unit.name}.xlsx", "command-alerts.xlsx")
    last_id = max((i["id"] for i in items), default=query.after)
    signed = [{"id": pk, "acknowledged_at": at} for pk, at in sel.alerts_signed(unit=unit, ids=query.unsigned)]
    return {"unit": _unit(unit), "items": items, "signed": signed, "last_id": last_id, "generated_at": now}


@router.post(
    "/alerts/{alert_id}/acknowledge", response=AlertOut, summary="Sign for a red case's alert (once; again is a no-op)"
)
def alert_acknowledge(request, alert_id: int):
    """Whoever watches the command centre signs for an alert of their area. The answer is the
    alert as signed, first signature kept."""
    return _alert(services.alert_acknowledge(user=request.user, alert_id=alert_id))


# --- departments ------------------------------------------------------------------------------


@router.get("/departments", response=DepartmentList, by_alias=True, summary="Lead departments ranked")
def departments(request, query: Query[DepartmentQuery]):
    """Per lead department, over cases in the unit's area: latest resolutions in the period
    it led, on-time rate, average satisfaction, and its cases overdue now."""
    unit, period, head = _head(request, query)
    items = sel.departments_for(unit=unit, period=period, sort=str(query.sort))
    if query.format == Format.XLSX:
        body = panel_workbook(
            title="部门排名",
            subtitle=_subtitle(head),
            columns=[
                Column("rank", "名次", width=8),
                Column("department", "牵头部门", width=24),
                Column("handled", "办结", width=10),
                Column("on_time", "按期办结", width=10),
                Column("on_time_rate", "按期办结率", PERCENT, width=12),
                Column("rated", "已评价", width=10),
                Column("satisfaction_avg", "平均满意度", DECIMAL, width=12),
                Column("overdue", "当前超期", width=10),
            ],
            rows=items,
            notes=(
                *NOTES,
                f"按比率排序时，办结（或评价）少于 {sel.ranking_min_cases()} 件的部门不排名次（名次留空），列在最后。",
            ),
        )
        return xlsx_response(body, _filename(head, "部门排名"), "command-departments.xlsx")
    return {**head, "sort": str(query.sort), "min_cases": sel.ranking_min_cases(), "items": items}


# --- trend ------------------------------------------------------------------------------------


@router.get("/trend", response=TrendOut, by_alias=True, summary="Daily figures over the period (30 days by default)")
def trend(request, query: Query[PanelQuery]):
    unit, period, head = _head(request, query)
    days = sel.trend_for(unit=unit, period=period)
    if query.format == Format.XLSX:
        body = panel_workbook(
            title="30日趋势" if period.days == 30 else "趋势",
            subtitle=_subtitle(head),
            columns=[
                Column("day", "日期", "yyyy-mm-dd", width=12),
                Column("registered", "登记", width=10),
                Column("handled", "办结", width=10),
                Column("on_time", "按期办结", width=10),
                Column("on_time_rate", "按期办结率", PERCENT, width=12),
                Column("done", "当日登记已办结", width=14),
                Column("completion_rate", "当日登记办结率", PERCENT, width=14),
            ],
            rows=days,
            notes=NOTES,
        )
        return xlsx_response(body, _filename(head, "趋势"), "command-trend.xlsx")
    return {**head, "days": days}
