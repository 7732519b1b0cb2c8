"""Service definitions: the extra questions an Open311 client asks the citizen, per item
group, and how the answers become the case's risk facts (`puan.cases.risk`).

Attribute codes are the risk-fact names themselves, so they are stable and say what they
feed; the order and the required flags may change per group without renaming anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from puan.core.errors import InvalidInput
from puan.taxonomy.models import Category, Lane

YES_NO = (("yes", "是"), ("no", "否"))


@dataclass(frozen=True)
class AttributeDef:
    code: str
    datatype: str  # string | number | datetime | text | singlevaluelist | multivaluelist
    description: str
    datatype_description: str = ""
    values: tuple[tuple[str, str], ...] = ()
    variable: bool = True  # False: information shown to the user, not a question
    fact: str | None = None  # the risk fact the answer feeds
    maximum: int | None = None


@dataclass(frozen=True)
class Attribute:
    """An attribute as one service presents it: the definition plus its place and flag."""

    spec: AttributeDef
    order: int
    required: bool

    @property
    def code(self) -> str:
        return self.spec.code


def _yes_no(code: str, description: str) -> AttributeDef:
    return AttributeDef(code, "singlevaluelist", description, "选择“是”或“否”", YES_NO, fact=code)


ATTRIBUTES: dict[str, AttributeDef] = {
    a.code: a
    for a in [
        AttributeDef(
            "people_involved",
            "number",
            "涉及多少人？（估计人数即可）",
            "填写 0 或正整数",
            fact="people_involved",
            maximum=100_000,
        ),
        _yes_no("injury", "是否已有人员受伤？"),
        _yes_no("danger_to_life", "是否危及生命安全？（如有人被困、火势蔓延、结构可能坍塌）"),
        _yes_no("public_place", "是否发生在公共场所（道路、广场、商场、学校周边等）？"),
        _yes_no("vulnerable_people", "是否涉及老人、儿童、残疾人、孕妇等需要特别关照的人？"),
        _yes_no("group_incident", "是否有多人聚集、可能发生群体性事件？"),
        _yes_no("safety_hazard", "是否存在可能伤人的安全隐患？"),
        AttributeDef(
            "property_loss",
            "number",
            "财产损失估计（元）",
            "填写 0 或正整数，单位元",
            fact="property_loss",
            maximum=10_000_000_000,
        ),
    ]
}

# Shown first on urgent services: Open311 is not an emergency line.
EMERGENCY_NOTICE = AttributeDef(
    "emergency_notice",
    "string",
    "如正在发生危及生命财产安全的紧急情况，请立即拨打 110、119 或 120；本渠道不能替代紧急报警。",
    variable=False,
)

# (attribute code, required) per item group code. Groups not listed ask nothing extra.
GROUP_ATTRIBUTES: dict[str, list[tuple[str, bool]]] = {
    "G03": [("injury", False), ("vulnerable_people", False), ("people_involved", False)],
    "G04": [
        ("people_involved", True),
        ("injury", True),
        ("danger_to_life", False),
        ("public_place", False),
        ("vulnerable_people", False),
    ],
    "G05": [("danger_to_life", True), ("people_involved", False), ("injury", False), ("public_place", False)],
    "G06": [("people_involved", False), ("public_place", False), ("vulnerable_people", False)],
    "G07": [("public_place", False), ("safety_hazard", False)],
    "G08": [("people_involved", True), ("group_incident", False), ("property_loss", False)],
    "G09": [("danger_to_life", True), ("injury", False), ("people_involved", False), ("public_place", False)],
    "G10": [("people_involved", False), ("public_place", False)],
    "G11": [("public_place", False), ("safety_hazard", False)],
    "G12": [("people_involved", False), ("property_loss", False)],
    "G13": [("vulnerable_people", False), ("injury", False), ("danger_to_life", False)],
    "G14": [("danger_to_life", True), ("injury", False), ("people_involved", False), ("property_loss", False)],
    "G15": [
        ("people_involved", True),
        ("injury", False),
        ("vulnerable_people", False),
        ("group_incident", False),
        ("property_loss", False),
    ],
    "G16": [("people_involved", True), ("group_incident", False), ("vulnerable_people", False)],
}


def attributes_for(category: Category) -> list[Attribute]:
    """The service definition of a category, in presentation order (1 first)."""
    specs: list[tuple[AttributeDef, bool]] = []
    if category.default_lane == Lane.URGENT:
        specs.append((EMERGENCY_NOTICE, False))
    specs += [(ATTRIBUTES[code], required) for code, required in GROUP_ATTRIBUTES.get(category.group.code, [])]
    return [Attribute(spec=s, order=i, required=r) for i, (s, r) in enumerate(specs, start=1)]


def facts_from_answers(attributes: list[Attribute], answers: dict[str, list[str]]) -> tuple[dict, dict]:
    """Validate `attribute[code]` answers against the definition.

    Returns (risk facts for intake, the cleaned answers to keep on record). Every problem
    is an `InvalidInput` whose field is the parameter the client sent, e.g. `attribute[injury]`.
    """
    by_code = {a.code: a for a in attributes}
    for code in answers:
        attribute = by_code.get(code)
        if attribute is None:
            raise InvalidInput(f"该服务没有名为 {code} 的属性。", field=f"attribute[{code}]")
        if not attribute.spec.variable:
            raise InvalidInput(f"{code} 是说明信息，不接受填写。", field=f"attribute[{code}]")
    facts: dict = {}
    cleaned: dict = {}
    for attribute in attributes:
        spec = attribute.spec
        field = f"attribute[{spec.code}]"
        values = [v.strip() for v in answers.get(spec.code, []) if v.strip()]
        if not values:
            if attribute.required:
                raise InvalidInput(f"缺少必填属性 {spec.code}（{spec.description}）。", field=field)
            continue
        if spec.datatype != "multivaluelist" and len(values) > 1:
            raise InvalidInput(f"属性 {spec.code} 只能填写一个值。", field=field)
        if spec.datatype == "number":
            number = _whole_number(values[0], field=field, maximum=spec.maximum)
            cleaned[spec.code] = number
            if spec.fact:
                facts[spec.fact] = number
        elif spec.datatype in ("singlevaluelist", "multivaluelist"):
            keys = {k for k, _ in spec.values}
            for value in values:
                if value not in keys:
                    allowed = "、".join(sorted(keys))
                    raise InvalidInput(f"属性 {spec.code} 的取值须为 {allowed} 之一，收到 {value!r}。", field=field)
            cleaned[spec.code] = values if spec.datatype == "multivaluelist" else values[0]
            if spec.fact:
                facts[spec.fact] = values[0] == "yes"
        else:
            cleaned[spec.code] = values[0][:500]
    return facts, cleaned


def _whole_number(raw: str, *, field: str, maximum: int | None) -> int:
    try:
        number = int(raw)
    except ValueError:
        raise InvalidInput(f"{field} 须为整数，收到 {raw!r}。", field=field) from None
    if number < 0:
        raise InvalidInput(f"{field} 不能为负数。", field=field)
    if maximum is not None and number > maximum:
        raise InvalidInput(f"{field} 不能超过 {maximum}。", field=field)
    return number
