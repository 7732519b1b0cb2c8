"""Risk colour (分级预警) from a configurable rule table.

Facts describe the case along three dimensions:
- impact: people_involved, group_incident, public_place, vulnerable_people
- harm: injury, danger_to_life, property_loss (yuan), safety_hazard
- trend: repeat_reports, escalations
Each active `RiskRule` says "when fact ≥ threshold, at least this colour, because …".
The case takes the highest colour any rule gives; a second pass lets a rule on the derived
fact `orange_dimensions` (how many dimensions reached orange or worse) lift it further.
Every rule that fired is a reason shown to the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from puan.cases.models import RISK_RANK, Risk, RiskRule
from puan.core.cache import TimedCopy

BOOLEAN_FACTS = ("group_incident", "public_place", "vulnerable_people", "injury", "danger_to_life", "safety_hazard")
COUNT_FACTS = ("people_involved", "property_loss", "repeat_reports", "escalations")
FACTS = BOOLEAN_FACTS + COUNT_FACTS
DERIVED_FACTS = ("orange_dimensions",)

# (code, dimension, fact, threshold, colour, reason): the defaults an administrator starts from.
DEFAULT_RULES: list[tuple[str, str, str, int, str, str]] = [
    ("impact-people-5", "impact", "people_involved", 5, Risk.ORANGE, "涉及5人以上"),
    ("impact-people-30", "impact", "people_involved", 30, Risk.RED, "涉及30人以上"),
    ("impact-group", "impact", "group_incident", 1, Risk.RED, "存在群体性事件苗头"),
    ("impact-public", "impact", "public_place", 1, Risk.ORANGE, "发生在公共场所"),
    ("impact-vulnerable", "impact", "vulnerable_people", 1, Risk.ORANGE, "涉及老幼病残孕等弱势群体"),
    ("harm-injury", "harm", "injury", 1, Risk.ORANGE, "已造成人员受伤"),
    ("harm-life", "harm", "danger_to_life", 1, Risk.RED, "危及生命安全"),
    ("harm-property-100k", "harm", "property_loss", 100_000, Risk.ORANGE, "财产损失10万元以上"),
    ("harm-property-1m", "harm", "property_loss", 1_000_000, Risk.RED, "财产损失100万元以上"),
    ("harm-hazard", "harm", "safety_hazard", 1, Risk.ORANGE, "存在安全隐患"),
    ("trend-repeat-2", "trend", "repeat_reports", 2, Risk.ORANGE, "同一事项重复反映"),
    ("trend-repeat-5", "trend", "repeat_reports", 5, Risk.RED, "同一事项多次反映、持续发酵"),
    ("trend-escalated-2", "trend", "escalations", 2, Risk.RED, "多次上报仍未化解"),
    ("combined-orange-2", "trend", "orange_dimensions", 2, Risk.RED, "两个以上维度达到橙色"),
]


@dataclass(frozen=True)
class RuleRow:
    code: str
    dimension: str
    fact: str
    threshold: int
    colour: str
    reason: str


@dataclass(frozen=True)
class Grade:
    colour: str
    reasons: tuple[str, ...]


def clean_facts(raw: dict | None) -> dict[str, int]:
    """Only known facts, as non-negative whole numbers (booleans as 0/1)."""
    raw = raw or {}
    facts: dict[str, int] = {}
    for name in FACTS:
        value = raw.get(name)
        if value is None or value is False:
            continue
        facts[name] = 1 if value is True else max(0, int(value))
    return facts


# Rules change rarely and are read on every intake and escalation: each process keeps
# them for a minute (an edit in the admin takes effect everywhere within that time).
def _load_rules() -> list[RuleRow]:
    rows = RiskRule.objects.filter(is_active=True).values_list(
        "code", "dimension", "fact", "threshold", "colour", "reason"
    )
    return [RuleRow(*r) for r in rows]


_rules = TimedCopy(_load_rules, depends_on=["cases.RiskRule"])


def active_rules() -> list[RuleRow]:
    return _rules.get()


def rules_invalidate() -> None:
    _rules.invalidate()


def grade(facts: dict[str, int], rules: list[RuleRow]) -> Grade:
    colour = Risk.YELLOW
    reasons: list[str] = []
    dimensions_orange: set[str] = set()
    for rule in rules:
        if rule.fact in DERIVED_FACTS:
            continue
        if facts.get(rule.fact, 0) >= rule.threshold:
            reasons.append(rule.reason)
            if RISK_RANK[rule.colour] <= RISK_RANK[Risk.ORANGE]:
                dimensions_orange.add(rule.dimension)
            if RISK_RANK[rule.colour] < RISK_RANK[colour]:
                colour = Risk(rule.colour)
    derived = {"orange_dimensions": len(dimensions_orange)}
    for rule in rules:
        if rule.fact in derived and derived[rule.fact] >= rule.threshold:
            reasons.append(rule.reason)
            if RISK_RANK[rule.colour] < RISK_RANK[colour]:
                colour = Risk(rule.colour)
    if not reasons:
        reasons.append("未触发预警规则")
    return Grade(colour=colour, reasons=tuple(dict.fromkeys(reasons)))


def risk_rules_install_defaults() -> int:
    """Create the default rules that do not exist yet (by code); returns how many."""
    have = set(RiskRule.objects.values_list("code", flat=True))
    new = [
        RiskRule(code=c, dimension=d, fact=f, threshold=t, colour=col, reason=r)
        for c, d, f, t, col, r in DEFAULT_RULES
        if c not in have
    ]
    RiskRule.objects.bulk_create(new)
    transaction.on_commit(rules_invalidate)  # bulk_create sends no signals
    return len(new)
