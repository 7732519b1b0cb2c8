"""Bulk loading of a realistic case history: `puan load-cases`, `make demo`, load tests.

The per-case services check permissions, query for duplicates and write row by row; they
manage a few hundred cases a second, and a district's history is a million. This module
writes the same rows straight to the tables (SQLite: multi-row INSERTs on the raw
connection; PostgreSQL: COPY), after working out in numpy what the services and the
deadline sweep would have written:

- every case follows a path through the transition table (`transitions.MOVES`) from
  `register` to where it is now; its timeline has seq 1..version, times never go back, and
  each per-state timestamp (`accepted_at`, ...) is the time of the last event entering
  that state, exactly as `services._commit_move` leaves them;
- colour comes from grading realistic facts with the active risk rules, lane and tier from
  `routing.route`, owner and lead department as intake sets them; every move that starts
  a deadline clock gets the SLA policy's deadlines on the working calendar;
- a handling that runs past its deadline is marked overdue and escalated one tier by the
  sweep, as `puan.sla.sweep` does; a case turning red lights up the command centre;
- every timeline is planned to its end and then cut at `end` ("now"), so the open cases
  are the recent ones, as in a real district, plus a few hard old ones, overdue.

Nothing here is random per se: the same seed and count give the same cases.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import chain

import numpy as np
import shapely
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from puan.accounts.models import User
from puan.accounts.roles import Role
from puan.cases.models import (
    OPEN_STATES,
    AssistStatus,
    AssistTask,
    Case,
    CaseEvent,
    CaseKind,
    CaseState,
    Channel,
    CommandAlert,
    Risk,
)
from puan.cases.risk import active_rules, clean_facts, grade
from puan.cases.routing import MIN_TIER_FOR_RISK, route
from puan.cases.services import _TRACKING_ALPHABET, STATE_TIMESTAMP
from puan.cases.transitions import MOVES
from puan.core.errors import Conflict
from puan.core.pii import blind_index, encrypt
from puan.demo import GIVEN, SURNAMES
from puan.org import geo
from puan.org.demo_geo import _FIRST_ROAD, _ROAD_KINDS, _ROAD_STEMS, _chinese_number
from puan.org.models import PATH_SEGMENT_WIDTH, Unit, UnitLevel
from puan.sla.calendar import working_calendar
from puan.sla.engine import active_policies, policy_for
from puan.taxonomy.models import Category, Lane

log = logging.getLogger(__name__)

S = CaseState
MINUTE, HOUR, DAY = 60, 3600, 86400

# --- what the district's cases look like ------------------------------------------------

# Indexes into these tuples are what the arrays below hold.
CHANNELS = (
    Channel.PATROL,
    Channel.HOTLINE,
    Channel.APP,
    Channel.WINDOW,
    Channel.ONLINE,
    Channel.LETTER,
    Channel.IOT,
    Channel.VIDEO,
    Channel.REFERRAL,
)
CH_PATROL, CH_HOTLINE, CH_APP, CH_WINDOW, CH_ONLINE, CH_LETTER, CH_IOT, CH_VIDEO, CH_REFERRAL = range(9)
KINDS = tuple(CaseKind.values)
COLOURS = (Risk.YELLOW, Risk.ORANGE, Risk.RED)
YELLOW, ORANGE, RED = range(3)
LANES = (Lane.URGENT, Lane.SIMPLE, Lane.COMPLEX, Lane.DIFFICULT)
LANE_URGENT, LANE_SIMPLE, LANE_COMPLEX = (LANES.index(lane) for lane in (Lane.URGENT, Lane.SIMPLE, Lane.COMPLEX))

# Where reports come from, per kind of matter (weights in CHANNELS order). Grid workers'
# patrols bring in most of a district's cases; the 12345 hotline is next.
CHANNEL_PROFILES: dict[str, tuple[float, ...]] = {
    #            patrol hotline app window online letter iot video referral
    "street": (62, 12, 11, 3, 2, 1.5, 0, 3, 1),
    "sensor": (42, 16, 8, 2, 1, 1, 18, 2.5, 1),
    "security": (45, 25, 8, 3, 2, 2, 0, 6, 2),
    "people": (38, 20, 9, 20, 8, 6, 0, 0, 3),
    "labour": (20, 30, 8, 25, 9, 8, 0, 0, 3),
    "service": (50, 20, 10, 12, 4, 5, 0, 0, 3),
    "petition": (4, 24, 5, 30, 20, 16, 0, 0, 3),
    "internal": (70, 4, 0, 8, 0, 4, 0, 0, 10),
}
# P(yellow, orange, red) per category's risk class.
RISK_CLASSES: dict[str, tuple[float, float, float]] = {
    "low": (0.865, 0.115, 0.02),
    "mid": (0.59, 0.31, 0.10),
    "high": (0.36, 0.40, 0.24),
    "crisis": (0.15, 0.40, 0.45),
}
# Facts a case of each flavour typically carries, graded with the active rules at load
# time; a case picks a profile whose grade is the colour drawn for it.
FACT_PROFILES: dict[str, tuple[dict, ...]] = {
    "general": (
        {},
        {"people_involved": 1},
        {"people_involved": 2},
        {"public_place": 1},
        {"safety_hazard": 1},
        {"people_involved": 6},
        {"public_place": 1, "safety_hazard": 1},
        {"people_involved": 30},
    ),
    "safety": (
        {},
        {"people_involved": 2},
        {"safety_hazard": 1},
        {"safety_hazard": 1, "people_involved": 3},
        {"public_place": 1},
        {"danger_to_life": 1},
        {"safety_hazard": 1, "public_place": 1, "people_involved": 8},
        {"danger_to_life": 1, "injury": 1},
    ),
    "people": (
        {"people_involved": 2},
        {"people_involved": 3},
        {"people_involved": 4, "repeat_reports": 1},
        {"people_involved": 6},
        {"people_involved": 12},
        {"repeat_reports": 2, "people_involved": 2},
        {"property_loss": 150_000, "people_involved": 2},
        {"people_involved": 35, "group_incident": 1},
        {"people_involved": 50},
        {"repeat_reports": 5, "people_involved": 3},
    ),
    "security": (
        {"people_involved": 2},
        {"people_involved": 3},
        {"injury": 1},
        {"public_place": 1},
        {"people_involved": 6},
        {"injury": 1, "public_place": 1},
        {"danger_to_life": 1},
        {"group_incident": 1, "people_involved": 30},
    ),
    "care": (
        {},
        {"people_involved": 1},
        {"vulnerable_people": 1},
        {"injury": 1},
        {"vulnerable_people": 1, "injury": 1},
        {"danger_to_life": 1},
    ),
}

# Departments that typically assist, per item group (codes without the `dept.` prefix).
ASSIST_POOLS: dict[str, tuple[str, ...]] = {
    "G01": ("civil_affairs", "women"),
    "G02": ("justice", "police", "health", "procuratorate"),
    "G03": ("police", "urban", "market"),
    "G04": ("police", "urban", "justice"),
    "G05": ("fire", "urban", "housing", "police"),
    "G06": ("health", "urban"),
    "G07": ("police", "transport", "urban"),
    "G08": ("labour", "justice", "mediation_labour", "housing"),
    "G09": ("housing", "planning", "emergency", "market"),
    "G10": ("environment", "urban", "police"),
    "G11": ("urban", "planning", "transport"),
    "G12": ("market", "health", "police"),
    "G13": ("civil_affairs", "women", "health", "police"),
    "G14": ("emergency", "fire", "housing", "police"),
    "G15": ("justice", "court", "housing", "women", "mediation_labour"),
    "G16": ("xinfang", "justice", "court", "housing", "planning"),
}


@dataclass(frozen=True)
class CategorySpec:
    """How often a category comes up, what kind of case it is, where its reports come
    from, how risky it runs, whether a grid worker may settle it on the spot, and the
    words its cases are written in ({c} community, {road}, {no}, {bld}, {estate}, {shop},
    {firm}, {river}, {school}, {market}, {n}, {months}, {amount})."""

    weight: float
    kinds: str  # "hazard" or "event:8 emergency:2"
    channels: str
    risk: str
    flavour: str
    on_spot: bool
    titles: tuple[str, ...]
    details: tuple[str, ...]
    outcomes: tuple[str, ...]


def _c(weight, kinds, channels, risk, flavour, on_spot, titles, details, outcomes) -> CategorySpec:
    return CategorySpec(weight, kinds, channels, risk, flavour, on_spot, titles, details, outcomes)


# fmt: off
CATEGORY_SPECS: dict[str, CategorySpec] = {
    # G01 党建
    "G01-01": _c(0.3, "event", "internal", "low", "general", False,
                 ("{c}第{k}党支部未按期开展组织生活", "{c}{estate}党支部换届筹备工作需指导"),
                 ("支部近两个季度未按要求召开组织生活会，学习记录不全。",),
                 ("已指导支部制定整改计划，补开组织生活会并完善台账。",)),
    "G01-02": _c(0.3, "event", "internal", "low", "general", False,
                 ("{c}流动党员组织关系未转接", "{c}{estate}党员反映党费交纳渠道不清楚"),
                 ("该党员在辖区居住已两年，组织关系仍在原籍，未参加所在支部活动。",),
                 ("已联系原籍党组织办理组织关系转接，纳入所在支部管理。",)),
    "G01-03": _c(1.5, "appeal", "service", "low", "care", False,
                 ("{c}党群服务站申请开展周末义诊志愿服务", "{c}{estate}居民希望党员联系户上门帮扶"),
                 ("居民反映行动不便，希望党员志愿者定期上门提供帮助。",),
                 ("已协调党员志愿者结对帮扶，按期开展上门服务。",)),
    # G02 政法
    "G02-01": _c(0.1, "event", "internal", "crisis", "security", False,
                 ("{c}{road}一带有人强揽工程、欺行霸市", "{c}{market}有人强收摊位“管理费”"),
                 ("群众反映有数名社会人员以暴力威胁方式垄断建材运输，商户不敢报警。",),
                 ("线索已移交公安分局核查，相关人员已依法处理。",)),
    "G02-02": _c(0.6, "event", "internal", "mid", "security", False,
                 ("{c}重点人员近期情绪异常需加强稳控", "{c}{road}{no}号重点人员外出未报告"),
                 ("网格员走访发现该人员近期多次与家人争吵，扬言要去上访。",),
                 ("已落实包联稳控措施，派出所、社区联合开展心理疏导。",)),
    "G02-03": _c(0.4, "event", "internal", "low", "security", False,
                 ("{c}社区矫正对象未按时报到", "{c}社区矫正对象擅自离开居住地"),
                 ("该矫正对象本月未按规定到司法所报到，电话无法联系。",),
                 ("司法所已约谈矫正对象并给予训诫，重新落实监管措施。",)),
    "G02-04": _c(0.5, "event", "internal", "mid", "care", False,
                 ("{c}{road}{no}号严重精神障碍患者停药", "{c}{estate}精神障碍患者监护人外出务工无人看护"),
                 ("家属反映患者近期拒绝服药，夜间叫喊，邻居担心安全。",),
                 ("已协调社区医生上门随访，落实监护补贴和服药管理。",)),
    "G02-05": _c(0.1, "event", "internal", "mid", "people", False,
                 ("{c}{road}{no}号出租屋疑似私设聚会点", "{c}{market}附近有人散发传教资料"),
                 ("每周日有十余名外来人员在屋内聚集，疑似非法宗教活动。",),
                 ("统战、公安联合核查，已劝散聚会并登记相关人员信息。",)),
    "G02-06": _c(0.2, "appeal", "people", "low", "general", False,
                 ("{river}沿岸国有林地被非法占用", "{c}公共绿地被圈占改作停车场"),
                 ("有企业长期占用公共用地经营，涉嫌损害社会公共利益。",),
                 ("检察院已立案调查并发出诉前检察建议，相关单位已整改恢复。",)),
    # G03 教育
    "G03-01": _c(1.0, "hazard", "street", "low", "care", False,
                 ("{school}门口上下学时段流动摊贩聚集", "{school}周边道路缺少护学岗，交通秩序混乱"),
                 ("放学时段摊贩占道、家长车辆乱停，学生通行存在安全隐患。",),
                 ("已联合城管、交警设置护学岗，清理校门口流动摊贩。",)),
    "G03-02": _c(0.3, "event", "people", "mid", "care", False,
                 ("{school}学生反映被同学多次欺凌", "{school}附近发生学生群殴"),
                 ("家长反映孩子多次被高年级学生索要财物并殴打。",),
                 ("教育局督促学校开展调查，对涉事学生批评教育，双方家长达成谅解。",)),
    "G03-03": _c(0.4, "appeal", "people", "low", "people", False,
                 ("{c}{road}{no}号无证培训机构违规招生", "{c}{estate}培训机构停业拒不退费"),
                 ("该机构未取得办学许可，收取学员预付费用后停业，涉及家长{n}人。",),
                 ("教育、市场监管联合查处，已责令停止办学并协调退费。",)),
    "G03-04": _c(0.1, "event", "service", "low", "care", False,
                 ("{c}适龄儿童未按时入学", "{c}{road}{no}号初中生长期辍学在家"),
                 ("家长外出务工，孩子由老人照看，已一个多月未到校。",),
                 ("学校和社区上门劝返，学生已返校就读。",)),
    # G04 社会治安
    "G04-01": _c(1.2, "event:8 emergency:2", "security", "high", "security", False,
                 ("{c}{road}{shop}门口发生打架斗殴", "{c}{market}门口两伙人持械对峙"),
                 ("双方因琐事发生口角后互殴，现场有人受伤。",),
                 ("民警到场处置，涉事人员已带回派出所调查处理。",)),
    "G04-02": _c(0.6, "event", "security", "mid", "security", False,
                 ("{c}{road}路边发现不明包裹", "{c}{estate}有可疑人员撬动电动车"),
                 ("群众发现可疑情况，担心存在安全隐患，请求核查。",),
                 ("民警现场核查，已排除险情。",)),
    "G04-03": _c(0.4, "event", "security", "mid", "security", False,
                 ("{c}{road}{no}号出租屋疑似聚众赌博", "{c}{road}一带疑似有人吸毒"),
                 ("深夜经常有陌生人员进出，屋内吵闹，疑似违法犯罪活动。",),
                 ("公安机关已开展清查，依法查处违法人员。",)),
    "G04-04": _c(3.5, "event", "street", "low", "general", True,
                 ("{c}{road}{no}号出租屋流动人口未登记", "{c}{estate}群租房人员底数不清"),
                 ("该出租屋住有多名来穗人员，未按规定办理居住登记。",),
                 ("已督促房东为租住人员办理居住登记，签订治安责任书。",)),
    "G04-05": _c(0.15, "event:6 emergency:4", "people", "crisis", "people", False,
                 ("{c}{estate}业主拟聚集维权", "{c}{firm}员工在厂门口聚集"),
                 ("网上有人串联组织，计划到区政府聚集表达诉求，参与人数较多。",),
                 ("区指挥中心协调相关部门提前介入，召开协调会回应诉求，人员已劝返。",)),
    # G05 消防安全
    "G05-01": _c(0.5, "emergency", "sensor", "high", "safety", False,
                 ("{c}{road}{no}号楼冒出浓烟", "{c}{road}{shop}发生火情"),
                 ("现场有明火和浓烟，已拨打119，请求调度处置。",),
                 ("消防救援人员到场扑灭明火，无人员伤亡，已开展现场勘查。",)),
    "G05-02": _c(5.0, "hazard", "street", "low", "safety", True,
                 ("{c}{road}{no}号楼下消防通道被电动车堵塞", "{c}{estate}消防通道被私家车长期占用",
                  "{c}{road}{no}号楼道堆放杂物堵塞疏散通道"),
                 ("消防通道被杂物和车辆占用，消防车无法通行。", "楼道内堆满纸箱和旧家具，一旦起火无法疏散。"),
                 ("已清理通道杂物，联系车主挪车，并施划禁停标线。", "已督促住户清走楼道杂物，物业加强日常巡查。")),
    "G05-03": _c(3.0, "hazard", "sensor", "low", "safety", True,
                 ("{c}{estate}{bld}栋灭火器过期", "{c}{road}{no}号楼道消防栓无水"),
                 ("楼道内灭火器压力不足已过期，应急照明损坏。",),
                 ("物业已更换灭火器并维修应急照明，已复查。",)),
    "G05-04": _c(5.0, "hazard", "street", "low", "safety", True,
                 ("{c}{road}{no}号楼电动车飞线充电", "{c}{estate}{bld}栋居民将电动车推入电梯上楼充电"),
                 ("住户从窗口拉电线到楼下给电动车充电，存在火灾隐患。",),
                 ("已劝导住户拆除飞线，引导到集中充电点充电。",)),
    "G05-05": _c(2.5, "hazard", "street", "mid", "safety", False,
                 ("{c}{road}{no}号小作坊“三合一”违规住人", "{c}{road}{shop}违规住人存在消防隐患"),
                 ("店铺内生产、储存、住宿混在一起，仅有一个出口。",),
                 ("已责令搬离住宿人员，落实防火分隔，复查合格。",)),
    # G06 疫情防控
    "G06-01": _c(0.2, "emergency", "service", "high", "care", False,
                 ("{school}出现多名学生发热", "{c}{estate}出现聚集性发热病例"),
                 ("短期内出现多名相同症状人员，疑似聚集性疫情。",),
                 ("疾控部门已开展流行病学调查和消杀，病例已隔离治疗。",)),
    "G06-02": _c(3.0, "hazard", "street", "low", "general", True,
                 ("{c}{road}{no}号天台积水孳生蚊虫", "{c}{estate}绿化带积水蚊虫多"),
                 ("天台及周边废旧容器积水，蚊虫孳生，居民担心登革热。",),
                 ("已清理积水容器并开展灭蚊消杀。",)),
    "G06-03": _c(0.5, "event", "internal", "low", "care", False,
                 ("{c}入境人员健康监测未按时上报", "{c}{road}{no}号重点人员随访失联"),
                 ("需跟进健康监测人员，社区医生多次联系未果。",),
                 ("已联系到本人，按规定完成健康随访。",)),
    # G07 五类车
    "G07-01": _c(2.0, "event", "street", "low", "general", False,
                 ("{c}{road}地铁站口摩的非法载客", "{c}{market}门口电动车非法营运"),
                 ("多辆摩托车、电动车在路口招揽乘客，影响交通秩序。",),
                 ("交警、城管联合整治，暂扣非法营运车辆。",)),
    "G07-02": _c(1.2, "event", "street", "low", "general", False,
                 ("{c}{road}残疾人机动轮椅车非法载客", "{c}{market}附近三轮车拉客"),
                 ("多辆三轮车在路口揽客，车况差，存在交通安全隐患。",),
                 ("已依法查扣非法营运三轮车，对驾驶人进行教育。",)),
    "G07-03": _c(1.0, "event", "street", "low", "general", True,
                 ("{c}{road}老年代步车无牌上路", "{school}门口微型电动车违规接送学生"),
                 ("无牌微型电动车在机动车道行驶，存在交通安全隐患。",),
                 ("已劝导车主停止违规上路，登记车辆信息。",)),
    "G07-04": _c(6.0, "event", "street", "low", "general", True,
                 ("{c}{road}人行道电动车乱停放", "{c}{road}地铁站口摩托车占道停放"),
                 ("电动车、摩托车占用人行道，行人只能走机动车道。",),
                 ("已清理乱停车辆，施划停放区域。",)),
    # G08 劳动保障
    "G08-01": _c(1.2, "dispute:6 appeal:4", "labour", "mid", "people", False,
                 ("{c}{firm}拖欠{n}名农民工工资", "{c}{road}工地包工头拖欠工资"),
                 ("工人反映已被拖欠{months}个月工资约{amount}万元，多次讨要无果。",),
                 ("劳动监察约谈企业负责人，已督促足额支付拖欠工资。",)),
    "G08-02": _c(0.2, "dispute", "labour", "crisis", "people", False,
                 ("{c}{firm}数十名工人聚集讨薪", "{c}{road}工地工人围堵项目部讨薪"),
                 ("工人反映工资拖欠{months}个月，情绪激动，聚集人数较多。",),
                 ("区级协调总包单位垫付工资，工人已有序离开。",)),
    "G08-03": _c(0.4, "event", "labour", "low", "people", False,
                 ("{c}{firm}疑似使用童工", "{c}{firm}员工未签劳动合同超时加班"),
                 ("员工反映每天工作十二小时以上，未签订劳动合同，未缴纳社保。",),
                 ("劳动监察已立案调查，责令企业整改并补签劳动合同。",)),
    # G09 住房建设
    "G09-01": _c(0.5, "hazard", "sensor", "high", "safety", False,
                 ("{c}{road}{no}号老房墙体开裂", "{c}{road}{no}号房屋出现沉降"),
                 ("房屋墙体出现多处裂缝，雨后渗水，住户担心倒塌。",),
                 ("已组织房屋安全鉴定，疏散住户并设置警戒，落实加固措施。",)),
    "G09-02": _c(1.2, "hazard", "street", "mid", "safety", False,
                 ("{c}{road}在建工地脚手架搭设不规范", "{c}{road}工地深基坑未设置防护"),
                 ("工地临边防护缺失，工人未系安全带高处作业。",),
                 ("住建部门已责令停工整改，复查合格后复工。",)),
    "G09-03": _c(0.6, "emergency", "sensor", "high", "safety", False,
                 ("{c}{estate}{bld}栋电梯故障困人", "{c}{road}{no}号写字楼电梯困人"),
                 ("电梯停在两层之间，有居民被困，请求救援。",),
                 ("维保人员到场解救被困人员，电梯已停用检修。",)),
    "G09-04": _c(0.3, "appeal:6 dispute:4", "petition", "mid", "people", False,
                 ("{c}村民反映征地补偿款未落实", "{c}{road}拆迁安置房迟迟未交付"),
                 ("涉及{n}户村民，补偿款拖欠多年，群众意见较大。",),
                 ("已召开协调会说明补偿政策，分期落实补偿安置。",)),
    # G10 生态环境
    "G10-01": _c(3.5, "appeal", "sensor", "low", "general", False,
                 ("{c}{road}夜间施工噪音扰民", "{c}{estate}广场舞音响声音过大"),
                 ("晚上十点后仍有施工，居民休息受影响。",),
                 ("已责令施工单位夜间停工，协调广场舞团队调低音量、调整时间。",)),
    "G10-02": _c(0.8, "appeal:7 hazard:3", "sensor", "low", "general", False,
                 ("{c}{firm}排放刺鼻废气", "{c}{road}一带有人露天焚烧垃圾"),
                 ("附近居民闻到刺鼻气味，夜间尤为明显。",),
                 ("生态环境部门现场检查，责令企业整改废气处理设施。",)),
    "G10-03": _c(0.8, "hazard:6 appeal:4", "sensor", "low", "general", False,
                 ("{river}{c}段水体发黑发臭", "{c}{road}附近排口向{river}偷排污水"),
                 ("河涌水面漂浮垃圾，散发臭味，疑似有污水直排。",),
                 ("已封堵偷排口，开展河涌清淤，水质复测达标。",)),
    "G10-04": _c(2.0, "appeal", "street", "low", "general", False,
                 ("{c}{road}{shop}油烟直排扰民", "{c}{road}烧烤档油烟大"),
                 ("店铺油烟直接排向居民楼，住户无法开窗。",),
                 ("已督促商户安装油烟净化设施并定期清洗。",)),
    # G11 城市管理
    "G11-01": _c(8.0, "event", "street", "low", "general", True,
                 ("{c}{road}{market}门口占道经营", "{c}{road}流动摊贩乱摆卖", "{c}{road}{shop}出店经营"),
                 ("摊档占用人行道经营，行人通行不便。",),
                 ("已劝离流动摊贩，规范出店经营。",)),
    "G11-02": _c(2.5, "event", "street", "low", "general", False,
                 ("{c}{road}{no}号楼顶违法搭建", "{c}{estate}业主私自加建"),
                 ("业主在楼顶搭建铁皮房，邻居担心安全。",),
                 ("已下达责令限期拆除通知书，违建已拆除。",)),
    "G11-03": _c(5.0, "event", "street", "low", "general", True,
                 ("{c}{road}墙面乱张贴小广告", "{c}{estate}楼道“牛皮癣”"),
                 ("墙面、电线杆上贴满办证、开锁小广告。",),
                 ("已清理小广告，对张贴号码进行停机处理。",)),
    "G11-04": _c(4.0, "event", "street", "low", "general", True,
                 ("{c}{road}地铁站口共享单车堆积", "{c}{road}共享单车占用盲道"),
                 ("大量共享单车堆放路口，占用人行道和盲道。",),
                 ("已通知企业调度清运车辆，规范停放秩序。",)),
    "G11-05": _c(1.2, "hazard", "sensor", "mid", "safety", False,
                 ("{c}{road}井盖缺失", "{c}{road}{no}号门前井盖破损塌陷"),
                 ("井盖缺失，夜间行人车辆经过存在安全隐患。",),
                 ("已设置警示围挡，权属单位更换井盖。",)),
    # G12 市场监管
    "G12-01": _c(1.0, "event", "street", "mid", "care", False,
                 ("{c}{road}{shop}售卖过期食品", "{c}{road}无证餐饮店卫生条件差"),
                 ("群众购买到过期食品，担心食品安全。",),
                 ("市场监管部门现场检查，下架过期食品并立案查处。",)),
    "G12-02": _c(1.5, "event", "street", "low", "general", False,
                 ("{c}{road}{no}号无照经营", "{c}{road}{shop}无证经营"),
                 ("该店铺未办理营业执照，长期经营。",),
                 ("已责令办理营业执照或停止经营。",)),
    "G12-03": _c(2.0, "dispute", "people", "low", "people", False,
                 ("{c}{road}健身房预付卡退费难", "{c}{road}{shop}拒绝退换货"),
                 ("商家关门停业，会员卡余额无法退还。",),
                 ("经调解，商家同意退还剩余费用。",)),
    "G12-04": _c(0.4, "event", "street", "low", "general", False,
                 ("{c}{market}销售假冒品牌商品", "{c}{road}{shop}销售“三无”产品"),
                 ("商品无厂名厂址，疑似假冒伪劣。",),
                 ("已查扣假冒商品，依法立案处理。",)),
    # G13 民政
    "G13-01": _c(2.0, "appeal", "service", "low", "care", True,
                 ("{c}{road}{no}号独居老人多日未出门", "{c}{estate}独居老人需定期探访"),
                 ("邻居反映老人多日未见出门，电话无人接听。",),
                 ("社区工作人员上门探访，老人身体状况良好，已纳入定期探访名单。",)),
    "G13-02": _c(1.0, "appeal", "service", "low", "care", False,
                 ("{c}{road}{no}号居民因病致贫申请临时救助", "{c}困难家庭申请低保"),
                 ("家庭主要劳动力患病，生活困难，申请救助。",),
                 ("已指导申请临时救助，救助金已发放。",)),
    "G13-03": _c(0.6, "appeal", "service", "low", "care", False,
                 ("{c}残疾人申请无障碍改造", "{c}{road}{no}号残疾人申请康复服务"),
                 ("家中无障碍设施缺失，出行困难。",),
                 ("已纳入年度无障碍改造计划，完成入户改造。",)),
    "G13-04": _c(0.3, "event", "people", "high", "care", False,
                 ("{c}{road}{no}号疑似发生家庭暴力", "{c}{estate}妇女反映遭受家暴"),
                 ("邻居听到屋内有打骂声和呼救声。",),
                 ("妇联、派出所联合介入，已出具告诫书并提供庇护帮扶。",)),
    # G14 安全生产
    "G14-01": _c(0.15, "emergency", "security", "crisis", "safety", False,
                 ("{c}{firm}发生生产安全事故", "{c}{road}工地发生坍塌"),
                 ("现场有人员受伤，请求救援。",),
                 ("应急、住建部门到场处置，伤员已送医，事故调查启动。",)),
    "G14-02": _c(1.5, "hazard", "street", "mid", "safety", False,
                 ("{c}{firm}危化品存放不规范", "{c}{firm}有限空间作业未审批"),
                 ("企业仓库内危化品与普通货物混放，未设置警示标识。",),
                 ("已责令企业停业整改，复查隐患已消除。",)),
    "G14-03": _c(0.4, "emergency", "sensor", "high", "safety", False,
                 ("{c}{road}{no}号闻到浓烈燃气味", "{c}{road}{shop}液化气瓶泄漏"),
                 ("楼道内燃气味很重，担心发生爆炸。",),
                 ("燃气公司和消防到场关阀处置，已排除泄漏隐患。",)),
    "G14-04": _c(0.6, "emergency:6 hazard:4", "sensor", "high", "safety", False,
                 ("{c}{road}路段水浸严重", "{c}{road}{no}号地下车库进水"),
                 ("暴雨导致路面积水过膝，车辆无法通行。",),
                 ("已启动排涝，设置警示并疏导交通，积水已排除。",)),
    # G15 矛盾纠纷
    "G15-01": _c(4.0, "dispute", "people", "low", "people", False,
                 ("{c}{estate}{bld}栋楼上漏水引发邻里纠纷", "{c}{road}{no}号邻居宠物扰邻",
                  "{c}{road}{no}号邻里因公共通道使用发生争执"),
                 ("双方多次争吵，矛盾有激化苗头。",),
                 ("经人民调解，双方达成调解协议。",)),
    "G15-02": _c(1.0, "dispute", "people", "low", "people", False,
                 ("{c}{road}{no}号兄弟因赡养老人产生纠纷", "{c}居民离婚后抚养费纠纷"),
                 ("双方多次协商未果，老人生活无人照料。",),
                 ("经调解，双方就赡养费用分担达成协议。",)),
    "G15-03": _c(2.5, "dispute", "people", "low", "people", False,
                 ("{c}{estate}业主与物业因物业费发生纠纷", "{c}{estate}电梯维修基金使用纠纷"),
                 ("业主认为物业服务不到位拒交物业费，物业停止部分服务。",),
                 ("社区组织业主、物业协商，达成维修方案。",)),
    "G15-04": _c(0.8, "dispute", "people", "low", "people", False,
                 ("{c}{road}{no}号房东与租客押金纠纷", "{c}居民借款纠纷"),
                 ("涉及金额约{amount}千元，双方各执一词。",),
                 ("经调解达成还款协议，已申请司法确认。",)),
    "G15-05": _c(1.0, "dispute", "labour", "low", "people", False,
                 ("{c}{firm}员工工伤赔偿争议", "{c}{firm}解除劳动合同经济补偿争议"),
                 ("员工与企业就赔偿金额分歧较大。",),
                 ("劳动争议调解委员会调解成功，企业支付经济补偿。",)),
    "G15-06": _c(0.4, "dispute", "people", "mid", "people", False,
                 ("{c}村民宅基地边界纠纷", "{c}集体土地承包经营权纠纷"),
                 ("双方对界址认定分歧较大，曾发生推搡。",),
                 ("经街道调处，双方确认界址，签订调解协议。",)),
    # G16 信访诉求
    "G16-01": _c(1.5, "petition", "petition", "low", "people", False,
                 ("{c}居民来访反映{estate}配套设施未完善", "{c}群众来信反映{road}路灯长期不亮"),
                 ("信访人反映问题已久，希望尽快解决。",),
                 ("已按程序受理并答复信访人，问题已解决。",)),
    "G16-02": _c(0.4, "petition", "petition", "mid", "people", False,
                 ("{c}信访人再次反映拆迁补偿问题", "{c}信访人反复反映同一事项"),
                 ("该事项已多次答复，信访人仍不满意。",),
                 ("已落实包案领导，召开听证会，信访人息诉罢访。",)),
    "G16-03": _c(0.15, "petition", "petition", "crisis", "people", False,
                 ("{c}{estate}业主集体上访反映交楼延期", "{c}村民联名信反映集体资产分配问题"),
                 ("{n}余名群众联名反映，情绪较为激动。",),
                 ("区级协调开发商制定交楼方案，已向群众公开答复。",)),
    "G16-04": _c(0.4, "petition", "petition", "mid", "people", False,
                 ("{c}信访人反映判决长期未执行", "{c}当事人对判决不服申诉"),
                 ("信访人认为判决不公，多次到区、市信访。",),
                 ("法院已释法明理并依法推进执行。",)),
    "G16-05": _c(1.5, "petition:4 appeal:6", "petition", "low", "people", False,
                 ("{c}居民咨询劳动仲裁程序", "{c}老人申请法律援助"),
                 ("当事人不了解维权途径，希望获得法律帮助。",),
                 ("公共法律服务工作站律师已解答并指派法律援助。",)),
}
# fmt: on
FALLBACK_SPEC = _c(
    0.5,
    "event",
    "street",
    "low",
    "general",
    False,
    ("{c}{road}{cat}问题",),
    ("群众反映{cat}相关问题，请求处理。",),
    ("已按职责处理并答复反映人。",),
)

ESTATES = (
    "丰乐北小区", "怡园小区", "港湾花园", "荔景苑", "金碧御水山庄", "东方新世界花园", "香雪山花园",
    "万科城", "翡翠绿洲", "海伦堡花园", "凤凰城", "珠江花园", "南方花园", "锦绣香江", "中海誉城",
    "黄船宿舍区", "文船生活区", "石化小区", "港务局宿舍", "沙步新村", "下沙新村", "怡港花园",
    "科城山庄", "萝岗和苑", "开创公寓",
)  # fmt: skip
SHOPS = (
    "便利店", "大排档", "五金店", "快餐店", "烧腊店", "理发店", "小卖部", "电动车维修店", "茶餐厅",
    "麻辣烫店", "网吧", "洗车店", "废品回收站", "早餐店", "水果店",
)  # fmt: skip
FIRMS = (
    "恒发电子厂", "联顺物流公司", "宏达五金厂", "捷运汽车配件公司", "建兴建筑劳务公司", "美味佳食品厂",
    "锦华制衣厂", "永兴塑料制品厂", "安居装修公司", "智联科技公司", "南方化工公司", "华美家具厂",
)  # fmt: skip
RIVERS = ("南岗河", "乌涌", "文涌", "双岗涌", "沙步涌", "水声涌", "金坑河", "凤凰河", "宏岗河", "平岗河", "西福河")

CHANNEL_INTRO = (
    "网格员巡查发现：",
    "12345热线转办，市民来电反映：",
    "群众通过“埔安”小程序反映：",
    "群众到综治中心窗口反映：",
    "网上信访反映：",
    "群众来信反映：",
    "物联感知设备告警：",
    "视频智能分析发现：",
    "{dept}移交：",
)
REJECT_NOTES = (
    "不属于本辖区管辖范围，已告知反映人向相关部门反映。",
    "反映事项已进入诉讼程序，依法不予受理，已告知反映人。",
    "经核实为重复反映，已并入原案件办理。",
    "反映内容不具体、无法核实，已电话告知补充材料。",
    "经现场核实，物联设备误报。",
)
ESCALATE_NOTES = {
    1: ("社区层面无法协调解决，提请街道会诊。", "涉及多个部门职责，需街道统筹联合处置。"),
    2: ("街道协调未果，提请区级终诊。", "矛盾有激化风险，提请区指挥中心统筹处置。"),
}
RETURN_NOTES = (
    "经研判属下级职责范围，退回办理，请加强与当事人沟通。",
    "已明确处置方案，退回属地按方案落实。",
)
VERIFY_NOTES = ("", "经核查，处置结果属实。", "现场核查已整改到位。", "电话回访核实已处理。")
ASSIST_TASKS = ("配合现场核查并提出处置意见", "依职责开展联合执法", "提供法律意见并参与调解", "配合做好当事人稳控工作")
ASSIST_DONE_NOTES = ("已按要求完成协办任务。", "已派员参与联合处置。")
ASSIST_WAIVED_NOTE = "经现场核实无需该部门协办。"
REOPEN_NOTE = "群众评价不满意，案件重启办理。"
RATE_NOTES = {1: "问题没有解决。", 2: "处理不及时，不满意。", 3: "", 4: "", 5: "处理及时，非常满意。"}
# What the deadline sweep writes (`puan.sla.sweep`).
OVERDUE_NOTE = "已超过办结时限"
SWEEP_ESCALATE_NOTE = "超过本级办结时限，系统自动上报"


# --- timelines --------------------------------------------------------------------------

# Steps of a timeline. Each is one CaseEvent; its kind is the move's action name, except
# the two the deadline sweep writes (`overdue`, and its own `escalate`).
REGISTER, ON_SPOT, ACCEPT, REJECT, TRIAGE, ASSIGN, START, ESCALATE, RETURN = range(9)
CLOSE_ASSIST, RESOLVE, VERIFY, RATE, REOPEN, CLOSE, OVERDUE, SWEEP_ESCALATE = range(9, 17)
STEP_KIND = (
    "register", "resolve", "accept", "reject", "triage", "assign", "start", "escalate", "return",
    "close_assist", "resolve", "verify", "rate", "reopen", "close", "overdue", "escalate",
)  # fmt: skip
N_CODES = len(STEP_KIND)


def _code_set(*codes: int) -> np.ndarray:
    table = np.zeros(N_CODES + 1, dtype=bool)  # the extra slot answers for padding (-1)
    table[list(codes)] = True
    return table


# Moves that start a fresh deadline clock (`plan_for`): intake, triage, assign, escalate
# (the handler's or the sweep's), return, reopen.
RESETS_CLOCK = _code_set(REGISTER, TRIAGE, ASSIGN, ESCALATE, SWEEP_ESCALATE, RETURN, REOPEN)
# Steps that simply happen some time after the previous one.
DELAYED = _code_set(ACCEPT, REJECT, TRIAGE, ASSIGN, START, ESCALATE, RETURN, VERIFY, RATE, CLOSE)
ESCALATES = _code_set(ESCALATE, SWEEP_ESCALATE)
MAY_RAISE_ALERT = _code_set(REGISTER, TRIAGE, ESCALATE, SWEEP_ESCALATE)

# Delay classes: how long after the previous step a step happens, per lane (median
# seconds for urgent, simple, complex, difficult), with a log-normal spread and a cap.
D_NONE, D_ACCEPT, D_REJECT, D_TRIAGE, D_ASSIGN, D_ASSIGN_AGAIN, D_START, D_ESCALATE = range(8)
D_RETURN, D_RETURN_DOWN, D_RESOLVE, D_VERIFY, D_RATE, D_CLOSE_RATED, D_CLOSE_VERIFIED, D_RETRIAGE = range(8, 16)
D_ASSIGN_RETURNED = 16
DELAYS = {
    D_NONE: ((0, 0, 0, 0), 0.0, 0),
    D_ACCEPT: ((8 * MINUTE, 2 * HOUR, 3 * HOUR, 4 * HOUR), 0.8, 3 * DAY),
    D_REJECT: ((20 * MINUTE, 4 * HOUR, 6 * HOUR, 8 * HOUR), 0.8, 3 * DAY),
    D_TRIAGE: ((5 * MINUTE, 30 * MINUTE, 45 * MINUTE, HOUR), 0.7, DAY),
    D_ASSIGN: ((5 * MINUTE, 40 * MINUTE, HOUR, 2 * HOUR), 0.7, DAY),
    D_ASSIGN_AGAIN: ((20 * MINUTE, 5 * HOUR, 8 * HOUR, 12 * HOUR), 0.8, 3 * DAY),
    D_START: ((10 * MINUTE, 2 * HOUR, 4 * HOUR, 8 * HOUR), 0.8, 3 * DAY),
    D_ESCALATE: ((3 * HOUR, 36 * HOUR, 3 * DAY, 5 * DAY), 0.7, 20 * DAY),
    D_RETURN: ((HOUR, 6 * HOUR, 8 * HOUR, 12 * HOUR), 0.7, 3 * DAY),
    D_RETURN_DOWN: ((30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR), 0.7, 2 * DAY),
    # Handling: from starting work to resolving it.
    D_RESOLVE: ((5 * HOUR, 29 * HOUR, 6 * DAY, 14 * DAY), 0.85, 200 * DAY),
    D_VERIFY: ((4 * HOUR, 18 * HOUR, DAY, 36 * HOUR), 0.7, 5 * DAY),
    D_RATE: ((DAY, DAY, DAY, DAY), 0.7, 6 * DAY),
    D_CLOSE_RATED: ((3 * HOUR, 3 * HOUR, 3 * HOUR, 3 * HOUR), 0.8, 3 * DAY),
    D_CLOSE_VERIFIED: ((DAY, DAY, DAY, DAY), 0.7, 5 * DAY),
    # A reopened case waits for the dispatcher, a returned one for the lower tier to take
    # it up again: often the next working day.
    D_RETRIAGE: ((2 * HOUR, 14 * HOUR, 18 * HOUR, 20 * HOUR), 0.8, 3 * DAY),
    D_ASSIGN_RETURNED: ((HOUR, 16 * HOUR, 20 * HOUR, 24 * HOUR), 0.8, 4 * DAY),
}
DELAY_MEDIAN = np.array([DELAYS[d][0] for d in range(len(DELAYS))], dtype=np.float64)
DELAY_SIGMA = np.array([DELAYS[d][1] for d in range(len(DELAYS))], dtype=np.float64)
DELAY_CAP = np.array([DELAYS[d][2] for d in range(len(DELAYS))], dtype=np.float64)
# About one case in three hundred is a hard one whose handling drags on for months: the
# sweep marks it overdue and sends it up tier by tier, and it is still open a long time on.
HARD_CASE_SHARE, HARD_CASE_FACTOR = 0.003, (8.0, 25.0)

# Who acts at a step, to fill `actor_unit` (and `actor` for the grid worker's own steps).
A_NONE, A_REGISTRAR, A_GRID, A_OWNER, A_PREVIOUS_OWNER, A_HANDLER, A_SUPERVISOR, A_RATER, A_ASSIST = range(9)
STEP_ACTOR = {
    REGISTER: A_REGISTRAR,
    ON_SPOT: A_GRID,
    ACCEPT: A_OWNER,
    REJECT: A_OWNER,
    TRIAGE: A_OWNER,
    ASSIGN: A_OWNER,
    START: A_HANDLER,
    ESCALATE: A_PREVIOUS_OWNER,
    RETURN: A_PREVIOUS_OWNER,
    CLOSE_ASSIST: A_ASSIST,
    RESOLVE: A_HANDLER,
    VERIFY: A_SUPERVISOR,
    RATE: A_RATER,
    REOPEN: A_RATER,
    CLOSE: A_OWNER,
    OVERDUE: A_NONE,
    SWEEP_ESCALATE: A_NONE,
}

ROUTE_PLAIN, ROUTE_ESCALATE, ROUTE_ESCALATE_RETURN, ROUTE_RETURN = range(4)
RATING_NONE, RATING_RATED, RATING_REOPENED = range(3)
MAX_ASSISTS = 2
# Overdue → escalate → assign → start, at most three times (community → street →
# district, then overdue at the district with nowhere further to go).
OVERDUE_ROUNDS = 3
# Every case state by index, "" (no state before registration) last.
STATES = (*S.values, "")
STATE_INDEX = {s: i for i, s in enumerate(STATES)}
OPEN_STATE_INDEXES = np.array([s in OPEN_STATES for s in STATES])
TIMESTAMP_FIELDS = tuple(dict.fromkeys(STATE_TIMESTAMP.values()))


@dataclass(frozen=True)
class Step:
    code: int
    delay: int = D_NONE
    assist: int = -1  # which assisting task a close_assist step closes
    attaches: bool = False  # the assign step that creates the assisting tasks
    rating: int = -1  # first or second rating of the case
    round: int = -1  # the overdue round an optional step belongs to
    phase: int = 0  # 1: the first handling (start…resolve), 2: the handling after a reopen


def _standard_steps(route_kind: int, assists: int, rating: int) -> list[Step]:
    steps = [Step(REGISTER), Step(ACCEPT, D_ACCEPT), Step(TRIAGE, D_TRIAGE)]
    if route_kind == ROUTE_RETURN:
        # The tier the category names first finds it belongs one tier down.
        steps += [Step(RETURN, D_RETURN_DOWN), Step(ASSIGN, D_ASSIGN_RETURNED)]
    else:
        steps.append(Step(ASSIGN, D_ASSIGN))
    if route_kind in (ROUTE_ESCALATE, ROUTE_ESCALATE_RETURN):
        steps += [Step(START, D_START), Step(ESCALATE, D_ESCALATE)]
        if route_kind == ROUTE_ESCALATE_RETURN:
            steps += [Step(RETURN, D_RETURN), Step(ASSIGN, D_ASSIGN_RETURNED)]
        else:
            steps.append(Step(ASSIGN, D_ASSIGN_AGAIN))
    if assists:
        steps[-1] = Step(ASSIGN, steps[-1].delay, attaches=True)
    steps.append(Step(START, D_START, phase=1))
    # Only taken when the handling runs past the deadline (see `simulate`).
    for r in range(OVERDUE_ROUNDS):
        steps += [
            Step(OVERDUE, round=r),
            Step(SWEEP_ESCALATE, round=r),
            Step(ASSIGN, D_ASSIGN_AGAIN, round=r),
            Step(START, D_START, round=r, phase=1),
        ]
    steps += [Step(CLOSE_ASSIST, assist=i, phase=1) for i in range(assists)]
    steps += [Step(RESOLVE, phase=1), Step(VERIFY, D_VERIFY)]
    if rating == RATING_NONE:
        steps.append(Step(CLOSE, D_CLOSE_VERIFIED))
    elif rating == RATING_RATED:
        steps += [Step(RATE, D_RATE, rating=0), Step(CLOSE, D_CLOSE_RATED)]
    else:
        # Unsatisfied within the reopen window: `case_rate` reopens at once, and the case
        # goes round again from triage.
        steps += [
            Step(RATE, D_RATE, rating=0),
            Step(REOPEN),
            Step(TRIAGE, D_RETRIAGE),
            Step(ASSIGN, D_ASSIGN),
            Step(START, D_START, phase=2),
            Step(RESOLVE, phase=2),
            Step(VERIFY, D_VERIFY),
            Step(RATE, D_RATE, rating=1),
            Step(CLOSE, D_CLOSE_RATED),
        ]
    return steps


def _on_spot_steps(rated: bool) -> list[Step]:
    steps = [Step(REGISTER), Step(ON_SPOT), Step(VERIFY, D_VERIFY)]
    if rated:
        return [*steps, Step(RATE, D_RATE, rating=0), Step(CLOSE, D_CLOSE_RATED)]
    return [*steps, Step(CLOSE, D_CLOSE_VERIFIED)]


class Templates:
    """Every timeline shape as padded arrays, so a batch's timelines are one gather."""

    def __init__(self) -> None:
        shapes: list[list[Step]] = []
        self.standard = np.zeros((4, MAX_ASSISTS + 1, 3), dtype=np.int64)
        for r in range(4):
            for a in range(MAX_ASSISTS + 1):
                for rating in range(3):
                    self.standard[r, a, rating] = len(shapes)
                    shapes.append(_standard_steps(r, a, rating))
        self.on_spot = np.array([len(shapes), len(shapes) + 1])
        shapes += [_on_spot_steps(False), _on_spot_steps(True)]
        self.reject = len(shapes)
        shapes.append([Step(REGISTER), Step(REJECT, D_REJECT)])

        n, width = len(shapes), max(len(s) for s in shapes)
        self.width = width
        self.code = np.full((n, width), -1, dtype=np.int64)
        self.delay = np.zeros((n, width), dtype=np.int64)
        self.assist = np.full((n, width), -1, dtype=np.int64)
        self.attaches = np.zeros((n, width), dtype=bool)
        self.rating = np.full((n, width), -1, dtype=np.int64)
        self.round = np.full((n, width), -1, dtype=np.int64)
        self.phase = np.zeros((n, width), dtype=np.int64)
        self.from_state = np.full((n, width), STATE_INDEX[""], dtype=np.int64)
        self.to_state = np.full((n, width), STATE_INDEX[""], dtype=np.int64)
        self.timestamp = np.full((n, width), -1, dtype=np.int64)  # index into TIMESTAMP_FIELDS
        self.actor = np.zeros((n, width), dtype=np.int64)
        for t, steps in enumerate(shapes):
            state = ""
            for j, step in enumerate(steps):
                # Optional steps leave the state where they found it when skipped: every
                # overdue round starts and ends in progress.
                target = self._target(step.code) or state
                self._check(step.code, state, target)
                self.code[t, j], self.delay[t, j] = step.code, step.delay
                self.assist[t, j], self.attaches[t, j], self.rating[t, j] = step.assist, step.attaches, step.rating
                self.round[t, j], self.phase[t, j] = step.round, step.phase
                self.from_state[t, j], self.to_state[t, j] = STATE_INDEX[state], STATE_INDEX[target]
                if target != state and target in STATE_TIMESTAMP:
                    self.timestamp[t, j] = TIMESTAMP_FIELDS.index(STATE_TIMESTAMP[target])
                self.actor[t, j] = STEP_ACTOR[step.code]
                state = target
        self.running = OPEN_STATE_INDEXES[self.to_state]

    @staticmethod
    def _target(code: int) -> str | None:
        if code == REGISTER:
            return S.REGISTERED
        if code == ON_SPOT:
            return S.RESOLVED
        if code == OVERDUE:
            return None
        return MOVES[STEP_KIND[code]].target

    @staticmethod
    def _check(code: int, state: str, target: str) -> None:
        """A shape the transition table does not allow is a bug here, not bad data."""
        if code in (REGISTER, ON_SPOT):
            return
        if code == OVERDUE:
            if state not in OPEN_STATES or target != state:
                raise AssertionError(f"the sweep marks only open cases overdue, not {state}")
            return
        move = MOVES[STEP_KIND[code]]
        if state not in move.sources or (move.target or state) != target:
            raise AssertionError(f"timeline step {move.action} from {state} is not in the transition table")


TEMPLATES = Templates()


# --- the district, looked up once -------------------------------------------------------


@dataclass
class CategoryTable:
    ids: np.ndarray
    codes: list[str]
    names: list[str]
    specs: list[CategorySpec]
    lead: np.ndarray
    weight: np.ndarray  # normalised
    channel_cdf: np.ndarray  # (categories, channels)
    kind_cdf: np.ndarray  # (categories, kinds)
    colour_cdf: np.ndarray  # (categories, colours)
    lane: np.ndarray  # (categories, colours) index into LANES, from routing.route
    tier: np.ndarray  # (categories, colours)
    first_tier: np.ndarray
    on_spot: np.ndarray
    profiles: np.ndarray  # (categories, colours, k) profile indexes, padded
    profile_count: np.ndarray  # (categories, colours)
    assist_pool: list[np.ndarray]  # department ids per category (lead excluded)


@dataclass
class District:
    grid_ids: np.ndarray
    grid_paths: list[str]
    grid_geoms: np.ndarray
    grid_bounds: np.ndarray  # (grids, 4)
    grid_weight: np.ndarray  # normalised
    grid_community: np.ndarray  # index into communities
    grid_worker: np.ndarray  # user id, 0 when the grid has none
    community_ids: np.ndarray
    community_paths: list[str]
    community_names: list[str]
    community_street: np.ndarray  # index into streets
    community_roads: list[list[str]]
    street_ids: np.ndarray
    street_paths: list[str]
    street_names: list[str]
    district_id: int
    district_path: str
    department_names: dict[int, str]
    dispatchers: np.ndarray
    categories: CategoryTable
    profile_facts: list[dict[str, int]]
    profile_colour: np.ndarray  # (profiles, escalations 0..3)
    profile_reasons: list[tuple[str, ...]]  # reasons JSON per number of escalations


class DistrictNotLoaded(Conflict):
    code = "district_not_loaded"


def _cdf(weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum(axis=-1, keepdims=True)
    cdf = np.cumsum(w, axis=-1)
    cdf[..., -1] = 1.0
    return cdf


def _pick(cdf_rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per row, the index whose cumulative weight first exceeds u (inverse-CDF sampling)."""
    return np.minimum((u[:, None] >= cdf_rows).sum(axis=1), cdf_rows.shape[1] - 1)


def _kinds_row(spec: str) -> np.ndarray:
    row = np.zeros(len(KINDS))
    for part in spec.split():
        name, _, weight = part.partition(":")
        row[KINDS.index(name)] = float(weight or 1)
    return row


def _community_roads(name: str, rng: np.random.Generator) -> list[str]:
    """A community's lanes, named like the emergency units' (and 深井社区 has 安来街, where
    the source's fire was)."""
    stems = rng.choice(_ROAD_STEMS, 4, replace=False).tolist()
    kinds = rng.choice(_ROAD_KINDS, 4).tolist()
    chosen = list(zip(stems, kinds, strict=True))
    first = _FIRST_ROAD.get(name)
    if first is not None:
        chosen = [first, *[r for r in chosen if r[0] != first[0]]][:4]
    return [f"{stem}{_chinese_number(k)}{kind}" for stem, kind in chosen for k in (1, 2, 3)]


def load_district(seed: int) -> District:
    """Everything the planner needs, in a handful of queries."""
    district = Unit.objects.filter(level=UnitLevel.DISTRICT).defer("boundary").first()
    if district is None:
        raise DistrictNotLoaded("尚未加载辖区（区、街镇、社区、网格），请先运行 `puan load-demo` 或导入网格。")
    units = list(
        Unit.objects.filter(is_active=True, level__in=[UnitLevel.STREET, UnitLevel.COMMUNITY, UnitLevel.DEPARTMENT])
        .order_by("path")
        .values_list("id", "path", "name", "level", "code")
    )
    streets = [u for u in units if u[3] == UnitLevel.STREET]
    communities = [u for u in units if u[3] == UnitLevel.COMMUNITY]
    departments = {u[0]: u for u in units if u[3] == UnitLevel.DEPARTMENT}
    index = geo.grid_index()
    if not len(index) or not communities or not departments:
        raise DistrictNotLoaded("辖区缺少网格、社区或职能部门，请先运行 `puan load-demo`。")
    categories = list(
        Category.objects.filter(is_active=True, lead_department__is_active=True)
        .select_related("group")
        .order_by("code")
    )
    if not categories:
        raise DistrictNotLoaded("尚未加载事项分类，请先运行 `puan load-demo`。")

    rng = np.random.default_rng([seed, 1])
    w = PATH_SEGMENT_WIDTH
    street_at = {p: i for i, (_, p, *_) in enumerate(streets)}
    community_at = {p: i for i, (_, p, *_) in enumerate(communities)}
    grid_community = np.array([community_at.get(h.path[: 3 * w], -1) for h in index.hits])
    keep = grid_community >= 0  # a grid outside any active community takes no cases
    hits = [h for h, k in zip(index.hits, keep, strict=True) if k]
    geoms = index.geometries[keep]
    grid_community = grid_community[keep]
    community_street = np.array([street_at[p[: 2 * w]] for _, p, *_ in communities])

    # Old town streets along the river are busier than the rural north; grids within a
    # street vary too.
    street_busy = np.array([0.6 if name.endswith("镇") or name in ("九佛街",) else 1.0 for _, _, name, *_ in streets])
    grid_weight = street_busy[community_street[grid_community]] * rng.lognormal(0.0, 0.45, len(hits))

    workers: dict[int, int] = {}
    for unit_id, user_id in (
        User.objects.filter(is_active=True, unit__level=UnitLevel.GRID, role_grants__role=Role.GRID_WORKER)
        .order_by("id")
        .values_list("unit_id", "id")
    ):
        workers.setdefault(unit_id, user_id)
    dispatchers = np.array(
        User.objects.filter(is_active=True, unit_id=district.pk, role_grants__role=Role.DISPATCHER)
        .order_by("id")
        .values_list("id", flat=True),
        dtype=np.int64,
    )

    profile_facts, profile_colour, profile_reasons, by_flavour = _grade_profiles()
    table = _category_table(categories, departments, by_flavour, profile_colour[:, 0])
    return District(
        grid_ids=np.array([h.grid_id for h in hits], dtype=np.int64),
        grid_paths=[h.path for h in hits],
        grid_geoms=geoms,
        grid_bounds=shapely.bounds(geoms),
        grid_weight=grid_weight / grid_weight.sum(),
        grid_community=grid_community,
        grid_worker=np.array([workers.get(h.grid_id, 0) for h in hits], dtype=np.int64),
        community_ids=np.array([c[0] for c in communities], dtype=np.int64),
        community_paths=[c[1] for c in communities],
        community_names=[c[2] for c in communities],
        community_street=community_street,
        community_roads=[_community_roads(c[2], rng) for c in communities],
        street_ids=np.array([s[0] for s in streets], dtype=np.int64),
        street_paths=[s[1] for s in streets],
        street_names=[s[2] for s in streets],
        district_id=district.pk,
        district_path=district.path,
        department_names={pk: u[2] for pk, u in departments.items()},
        dispatchers=dispatchers,
        categories=table,
        profile_facts=profile_facts,
        profile_colour=profile_colour,
        profile_reasons=profile_reasons,
    )


def _grade_profiles():
    """Grade every fact profile with the active rules, as intake would, and again as each
    escalation would (`escalations` is a fact too: two of them make a case red)."""
    rules = active_rules()
    facts_list: list[dict[str, int]] = []
    colours: list[list[int]] = []
    reasons: list[tuple[str, ...]] = []
    by_flavour: dict[str, list[int]] = {}
    for flavour, profiles in FACT_PROFILES.items():
        for raw in profiles:
            facts = clean_facts(raw)
            graded = [grade({**facts, "escalations": e} if e else facts, rules) for e in range(4)]
            by_flavour.setdefault(flavour, []).append(len(facts_list))
            facts_list.append(facts)
            colours.append([COLOURS.index(g.colour) for g in graded])
            reasons.append(tuple(json.dumps(list(g.reasons), ensure_ascii=False) for g in graded))
    return facts_list, np.array(colours), reasons, by_flavour


def _category_table(categories, departments, by_flavour, profile_colour) -> CategoryTable:
    dept_by_code = {u[4]: pk for pk, u in departments.items()}
    n = len(categories)
    specs = [CATEGORY_SPECS.get(c.code, FALLBACK_SPEC) for c in categories]
    channel_w = np.array([CHANNEL_PROFILES[s.channels] for s in specs], dtype=np.float64)
    public = np.array([c.public for c in categories])
    # Citizens report through the app or online only for public categories (as intake
    # insists); the rest come from staff.
    channel_w[~public, CH_APP] = 0
    channel_w[~public, CH_ONLINE] = 0
    lane = np.zeros((n, 3), dtype=np.int64)
    tier = np.zeros((n, 3), dtype=np.int64)
    width = max(len(v) for v in by_flavour.values())
    profiles = np.zeros((n, 3, width), dtype=np.int64)
    profile_count = np.zeros((n, 3), dtype=np.int64)
    every = [i for v in by_flavour.values() for i in v]
    for i, (category, spec) in enumerate(zip(categories, specs, strict=True)):
        for colour in range(3):
            way = route(category, COLOURS[colour])
            lane[i, colour], tier[i, colour] = LANES.index(way.lane), way.tier
            chosen = [p for p in by_flavour[spec.flavour] if profile_colour[p] == colour]
            # Custom rules may leave a flavour without a profile of some colour: borrow
            # one from another flavour, or (failing that) take the colour the rules give.
            chosen = chosen or [p for p in every if profile_colour[p] == colour] or by_flavour[spec.flavour]
            profiles[i, colour, : len(chosen)] = chosen
            profile_count[i, colour] = len(chosen)
    pools = []
    for category in categories:
        codes = ASSIST_POOLS.get(category.group.code, ())
        ids = [dept_by_code.get(f"dept.{code}") for code in codes]
        pools.append(np.array([d for d in ids if d and d != category.lead_department_id], dtype=np.int64))
    weight = np.array([s.weight for s in specs])
    return CategoryTable(
        ids=np.array([c.pk for c in categories], dtype=np.int64),
        codes=[c.code for c in categories],
        names=[c.name for c in categories],
        specs=specs,
        lead=np.array([c.lead_department_id for c in categories], dtype=np.int64),
        weight=weight / weight.sum(),
        channel_cdf=_cdf(channel_w),
        kind_cdf=_cdf(np.array([_kinds_row(s.kinds) for s in specs])),
        colour_cdf=_cdf(np.array([RISK_CLASSES[s.risk] for s in specs])),
        lane=lane,
        tier=tier,
        first_tier=np.array([int(c.first_tier) for c in categories]),
        on_spot=np.array([s.on_spot for s in specs]),
        profiles=profiles,
        profile_count=profile_count,
        assist_pool=pools,
    )


# --- time and deadlines --------------------------------------------------------------------

_EPOCH = date(1970, 1, 1)


class Calendar:
    """Local days and working time over the whole load, vectorised.

    `add` is `WorkingCalendar.add` (working time runs through every working day and stops
    on the others) on arrays: a moment is mapped to "working seconds since the first day",
    moved on, and mapped back. The tests hold it to the real `plan_for`."""

    def __init__(self, tz, first: int, last: int) -> None:
        self.tz = tz
        self._offsets: dict[int, int] = {}
        self.base = int(self.local_day(np.array([first]))[0]) - 2
        # Far enough ahead for the longest handling and the longest deadline after it.
        top = int(self.local_day(np.array([last]))[0]) + 4 * 365
        calendar = working_calendar()
        days = [_EPOCH + timedelta(days=d) for d in range(self.base, top + 1)]
        self.working = np.array([calendar.is_working_day(day) for day in days])
        self.before = np.concatenate([[0], np.cumsum(self.working)[:-1]])  # working days before each day
        self.working_days = np.nonzero(self.working)[0]

    def offset(self, seconds: np.ndarray) -> np.ndarray:
        """UTC offset (seconds) of the local zone at each moment, looked up once per day."""
        days = np.asarray(seconds) // DAY
        unique, inverse = np.unique(days, return_inverse=True)
        values = np.array([self._offset_of(int(d)) for d in unique], dtype=np.int64)
        return values[inverse].reshape(days.shape)

    def _offset_of(self, utc_day: int) -> int:
        if utc_day not in self._offsets:
            moment = datetime.fromtimestamp(utc_day * DAY + DAY // 2, tz=UTC).astimezone(self.tz)
            self._offsets[utc_day] = int(moment.utcoffset().total_seconds())
        return self._offsets[utc_day]

    def local_day(self, seconds: np.ndarray) -> np.ndarray:
        return (seconds + self.offset(seconds)) // DAY

    def add(self, start: np.ndarray, seconds: np.ndarray, working: np.ndarray) -> np.ndarray:
        out = start + seconds
        if not working.any():
            return out
        s, x = start[working], seconds[working]
        local = s + self.offset(s)
        day = (local // DAY - self.base).clip(0, len(self.working) - 1)
        into_day = np.where(self.working[day], local % DAY, 0)
        target = self.before[day] * DAY + into_day + x
        k, rem = np.divmod(target, DAY)
        # A target on a day boundary is the end (midnight) of the k-th working day, which
        # is where `WorkingCalendar.add` stops too.
        index = np.where(rem > 0, k, k - 1).clip(0, len(self.working_days) - 1)
        result_local = (self.working_days[index] + self.base + (rem == 0)) * DAY + rem
        out[working] = result_local - self.offset(result_local - self.offset(s))
        return out


class SlaTable:
    """Which policy each (lane, tier, colour, kind) gets, from the active SLA policies:
    respond and resolve minutes and whether they count working time."""

    def __init__(self) -> None:
        policies = active_policies()
        shape = (len(LANES), 4, len(COLOURS), len(KINDS))
        self.respond = np.zeros(shape, dtype=np.int64)
        self.resolve = np.zeros(shape, dtype=np.int64)
        self.working = np.zeros(shape, dtype=bool)
        for li, lane in enumerate(LANES):
            for tier in (1, 2, 3):
                for ci, colour in enumerate(COLOURS):
                    for ki, kind in enumerate(KINDS):
                        p = policy_for(lane=lane, tier=tier, risk=colour, kind=kind, policies=policies)
                        key = (li, tier, ci, ki)
                        self.respond[key], self.resolve[key] = p.respond_minutes, p.resolve_minutes
                        self.working[key] = p.working_time


def _created_times(rng: np.random.Generator, count: int, end: int, days: int, calendar: Calendar) -> np.ndarray:
    """Registration times over `days` before `end`, sorted: fewer at weekends and at
    night, a little busier as the year goes on (the platform is used more)."""
    start = end - days * DAY
    first_local_day = int(calendar.local_day(np.array([start]))[0])
    n_days = int(calendar.local_day(np.array([end]))[0]) - first_local_day + 1
    day_numbers = first_local_day + np.arange(n_days)
    weekday = (day_numbers + 3) % 7  # 1970-01-01 was a Thursday
    day_w = np.where(weekday >= 5, 0.72, 1.0) * np.linspace(0.9, 1.1, n_days)
    hour_w = np.array([2, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 8, 9, 12, 13, 12, 11, 9, 8, 7, 6, 4, 3], dtype=float)
    day_cdf, hour_cdf = _cdf(day_w), _cdf(hour_w)
    out = np.empty(count, dtype=np.int64)
    todo = np.arange(count)
    while len(todo):
        n = len(todo)
        day = np.searchsorted(day_cdf, rng.random(n), side="right")
        hour = np.searchsorted(hour_cdf, rng.random(n), side="right")
        local = (first_local_day + day) * DAY + hour * HOUR + rng.integers(0, HOUR, n)
        utc = local - calendar.offset(local)
        out[todo] = utc
        todo = todo[(utc < start) | (utc > end)]
    out.sort()
    return out


# --- one batch, planned ------------------------------------------------------------------


@dataclass
class Timelines:
    """Per case and template slot: whether the step happens, when, and the case's state
    just after it (tier, colour, lane, deadline clock)."""

    active: np.ndarray
    at: np.ndarray
    tier: np.ndarray
    colour: np.ndarray
    escalations: np.ndarray
    lane: np.ndarray
    clock_started: np.ndarray
    respond_due: np.ndarray
    resolve_due: np.ndarray
    mark_50: np.ndarray
    mark_80: np.ndarray
    overdue: np.ndarray  # the current clock has been marked overdue by the sweep
    overdue_at: np.ndarray
    running: np.ndarray  # the case is open, so the clock runs
    stopped_stage: np.ndarray  # the sweep's stage when the clock last stopped
    alert_at: np.ndarray  # per case: when it first turned red (-1: never)


def simulate(
    d: District,
    sla: SlaTable,
    calendar: Calendar,
    rng: np.random.Generator,
    *,
    template: np.ndarray,
    created: np.ndarray,
    category: np.ndarray,
    kind: np.ndarray,
    profile: np.ndarray,
    lane: np.ndarray,
    tier: np.ndarray,
) -> Timelines:
    """Walk every case's template slot by slot (vectorised over the batch), doing what
    the services and the deadline sweep would do: each step starts some time after the
    previous one; moves that start a clock get `plan_for`'s deadlines; while the clock
    runs, ordinary steps happen before the deadline, but a handling that runs past it is
    marked overdue at the deadline and (below the district) escalated by the sweep, then
    assigned and started again one tier up."""
    T, cat = TEMPLATES, d.categories
    n, width = len(template), T.width
    rows = np.arange(n)
    code = T.code[template]
    delay = T.delay[template]
    rounds, phase = T.round[template], T.phase[template]
    lane0 = lane.copy()
    spread = np.exp(DELAY_SIGMA[delay] * rng.standard_normal((n, width)))
    delays = np.minimum(DELAY_MEDIAN[delay, lane0[:, None]] * spread, DELAY_CAP[delay]).astype(np.int64)
    # How long handling takes: at first, one tier up after the sweep escalated it, and
    # after a reopen. One tier up and after a reopen it goes faster, unless the case is a
    # hard one.
    handle = DELAY_MEDIAN[D_RESOLVE, lane0][:, None] * np.exp(DELAY_SIGMA[D_RESOLVE] * rng.standard_normal((n, 3)))
    handle = np.minimum(handle, DELAY_CAP[D_RESOLVE]) * (1.0, 0.6, 0.5)
    handle[:, :2] *= np.where(rng.random(n) < HARD_CASE_SHARE, rng.uniform(*HARD_CASE_FACTOR, n), 1.0)[:, None]
    handle = handle.astype(np.int64)
    squeeze = rng.uniform(0.4, 0.95, (n, width))

    colour = d.profile_colour[profile, 0].copy()
    tier, lane = tier.copy(), lane.copy()
    escalations = np.zeros(n, dtype=np.int64)
    t_prev = created.copy()
    planned_resolve = np.zeros(n, dtype=np.int64)
    started = np.zeros(n, dtype=np.int64)
    respond_due = np.zeros(n, dtype=np.int64)
    resolve_due = np.zeros(n, dtype=np.int64)
    mark_50 = np.zeros(n, dtype=np.int64)
    mark_80 = np.zeros(n, dtype=np.int64)
    overdue = np.zeros(n, dtype=bool)
    overdue_at = np.full(n, -1, dtype=np.int64)
    running = np.zeros(n, dtype=bool)
    stopped_stage = np.zeros(n, dtype=np.int64)
    alert_at = np.full(n, -1, dtype=np.int64)
    fired = np.zeros(n, dtype=bool)  # this overdue round's overdue step happened
    escalated = np.zeros(n, dtype=bool)  # ... and the sweep escalated

    def record() -> dict[str, np.ndarray]:
        return {k: np.empty((n, width), dtype=v.dtype) for k, v in current().items()}

    def current() -> dict[str, np.ndarray]:
        return {
            "tier": tier,
            "colour": colour,
            "escalations": escalations,
            "lane": lane,
            "clock_started": started,
            "respond_due": respond_due,
            "resolve_due": resolve_due,
            "mark_50": mark_50,
            "mark_80": mark_80,
            "overdue": overdue,
            "overdue_at": overdue_at,
            "running": running,
            "stopped_stage": stopped_stage,
        }

    out = record()
    active = np.zeros((n, width), dtype=bool)
    at = np.full((n, width), np.iinfo(np.int64).max, dtype=np.int64)
    for j in range(width):
        c = code[:, j]
        act = c >= 0
        r = rounds[:, j]
        # The optional overdue rounds.
        is_overdue_step = act & (c == OVERDUE)
        fired[is_overdue_step] = (running & ~overdue & (planned_resolve > resolve_due))[is_overdue_step]
        escalated[is_overdue_step] = False
        act &= ~is_overdue_step | fired
        is_sweep = act & (c == SWEEP_ESCALATE)
        escalated[is_sweep] = (fired & (tier < 3))[is_sweep]
        act &= (r < 0) | (c == OVERDUE) | escalated

        t = t_prev.copy()
        step = act & DELAYED[c]
        t[step] += delays[step, j]
        resolving = act & (c == RESOLVE)
        t = np.where(resolving & (phase[:, j] == 1), np.maximum(planned_resolve, t_prev), t)
        t = np.where(resolving & (phase[:, j] == 2), np.maximum(planned_resolve, t_prev), t)
        closing = act & (c == CLOSE_ASSIST)
        t = np.where(closing, t_prev + np.maximum(planned_resolve - t_prev, 0) // 2, t)
        t = np.where(act & (c == OVERDUE), np.maximum(resolve_due, t_prev), t)
        # While the clock runs, work gets done before the deadline; only the handling of
        # the first cycle is allowed to run over (and then the sweep acts, above).
        may_not_run_over = (step | closing | (resolving & (phase[:, j] == 2))) & running & ~overdue
        squeezed = may_not_run_over & (t >= resolve_due)
        t[squeezed] = t_prev[squeezed] + (
            np.maximum(resolve_due[squeezed] - t_prev[squeezed], 0) * squeeze[squeezed, j]
        ).astype(np.int64)

        # What the step does to the case.
        up = act & ESCALATES[c]
        if up.any():
            escalations[up] += 1
            colour[up] = d.profile_colour[profile[up], np.minimum(escalations[up], 3)]
            tier[up] = np.where(colour[up] == RED, 3, np.minimum(tier[up] + 1, 3))
            # Red after an escalation: the urgent lane, as `escalation_changes` (`lane_for_risk`).
            hurried = up & (colour == RED) & np.isin(lane, [LANE_SIMPLE, LANE_COMPLEX])
            lane[hurried] = LANE_URGENT
        down = act & (c == RETURN)
        tier[down] -= 1
        triage = act & (c == TRIAGE)
        if triage.any():
            lane[triage] = cat.lane[category[triage], colour[triage]]
            tier[triage] = np.maximum(tier[triage], cat.tier[category[triage], colour[triage]])
        alert = act & MAY_RAISE_ALERT[c] & (colour == RED) & (alert_at < 0)
        alert_at[alert] = t[alert]
        reset = act & RESETS_CLOCK[c]
        if reset.any():
            key = (lane[reset], tier[reset], colour[reset], kind[reset])
            working = sla.working[key]
            s = t[reset]
            started[reset] = s
            respond_due[reset] = calendar.add(s, sla.respond[key] * MINUTE, working)
            resolve_due[reset] = calendar.add(s, sla.resolve[key] * MINUTE, working)
            mark_50[reset] = calendar.add(s, sla.resolve[key] * 30, working)
            mark_80[reset] = calendar.add(s, sla.resolve[key] * 48, working)
            overdue[reset] = False
        marked = act & (c == OVERDUE)
        overdue[marked] = True
        overdue_at[marked] = t[marked]
        begins = act & (c == START) & (phase[:, j] > 0)
        which = np.where(phase[:, j] == 2, 2, np.where(r >= 0, 1, 0))
        planned_resolve[begins] = (t + handle[rows, which])[begins]
        now_running = np.where(act, T.running[template, j], running)
        stops = act & running & ~now_running
        stopped_stage[stops] = np.where(overdue, 3, _stage(t, mark_50, mark_80))[stops]
        running = now_running

        t_prev = np.where(act, t, t_prev)
        active[:, j] = act
        at[act, j] = t[act]
        for name, value in current().items():
            out[name][:, j] = value
    return Timelines(active=active, at=at, alert_at=alert_at, **out)


def _stage(now: np.ndarray, mark_50: np.ndarray, mark_80: np.ndarray) -> np.ndarray:
    """The sweep's reminder stage reached by `now` (0 none, 1 past 50%, 2 past 80%)."""
    return np.where(now >= mark_80, 2, np.where(now >= mark_50, 1, 0))


@dataclass
class Columns:
    """A table's rows as typed columns: the writer turns them into SQL values."""

    table: str
    values: dict[str, tuple[str, object]] = field(default_factory=dict)
    rows: int = 0

    def add(self, column: str, kind: str, data) -> None:
        self.values[column] = (kind, data)

    def prepare(self, vendor: str) -> None:
        """Turn every known column into SQL-ready values now (in the planning thread),
        so the writer only has the ids left to do."""
        for column, (kind, data) in list(self.values.items()):
            if data is not None and kind != "ready":
                self.values[column] = ("ready", _sql_values(vendor, kind, data, self.rows))


@dataclass
class Plan:
    cases: Columns
    events: Columns
    assists: Columns
    alerts: Columns
    states: np.ndarray
    overdue: int  # open cases the sweep has marked overdue
    close_assist_rows: np.ndarray  # positions (in events) of close_assist events
    close_assist_task: np.ndarray  # their task numbers (row in assists)
    created_day: np.ndarray  # local day of registration, for the tracking codes
    event_case: np.ndarray  # the case (row in the batch) of each event, task and alert
    assist_case: np.ndarray
    alert_case: np.ndarray
    defaulted: set[str] = field(default_factory=set)

    def prepare(self, vendor: str) -> None:
        for model, rows in ((Case, self.cases), (CaseEvent, self.events), (AssistTask, self.assists)):
            self.defaulted.update(_fill_defaults(model, rows))
            rows.prepare(vendor)
        self.defaulted.update(_fill_defaults(CommandAlert, self.alerts))
        self.alerts.prepare(vendor)

    def bind(self, ids: np.ndarray) -> None:
        """Fill in the case ids (and the tracking codes made from them)."""
        self.cases.add("id", "int", ids)
        self.cases.add("tracking_code", "str", _tracking_codes(ids, self.created_day))
        self.events.add("case_id", "int", ids[self.event_case])
        self.assists.add("case_id", "int", ids[self.assist_case])
        self.alerts.add("case_id", "int", ids[self.alert_case])


def plan_batch(
    d: District,
    sla: SlaTable,
    calendar: Calendar,
    *,
    seed: int,
    number: int,
    created: np.ndarray,
    end: int,
) -> Plan:
    """One batch's rows, planned without the database (so the next batch can be planned
    while this one is written); case ids are bound when they are known (`Plan.bind`)."""
    rng = np.random.default_rng([seed, 2, number])
    cat = d.categories
    n = len(created)
    rows = np.arange(n)

    c = np.searchsorted(np.cumsum(cat.weight), rng.random(n), side="right").clip(0, len(cat.ids) - 1)
    channel = _pick(cat.channel_cdf[c], rng.random(n))
    kind = _pick(cat.kind_cdf[c], rng.random(n))
    target_colour = _pick(cat.colour_cdf[c], rng.random(n))
    pick = (rng.random(n) * cat.profile_count[c, target_colour]).astype(np.int64)
    profile = cat.profiles[c, target_colour, pick]
    colour0 = d.profile_colour[profile, 0]
    lane0 = cat.lane[c, colour0]
    tier0 = cat.tier[c, colour0]

    g = np.searchsorted(np.cumsum(d.grid_weight), rng.random(n), side="right").clip(0, len(d.grid_ids) - 1)
    lon, lat = _points_in_grids(d, g, rng)
    community = d.grid_community[g]
    street = d.community_street[community]
    owner_by_tier = np.stack(
        [d.community_ids[community], d.street_ids[street], np.full(n, d.district_id, dtype=np.int64)], axis=1
    )
    grid_worker = d.grid_worker[g]
    patrol = channel == CH_PATROL

    # --- the shape of each timeline
    u = rng.random((n, 6))
    # Small yellow matters a grid worker sees on patrol are often settled there and then.
    on_spot = patrol & (colour0 == YELLOW) & (tier0 == 1) & cat.on_spot[c] & (grid_worker > 0) & (u[:, 0] < 0.5)
    reject_p = np.array([0.003, 0.025, 0.03, 0.015, 0.03, 0.03, 0.02, 0.01, 0.005])[channel]
    rejected = ~on_spot & (colour0 != RED) & (u[:, 1] < reject_p)
    # A handler's own escalation keeps the colour (else it would have gone to the
    # district at once); handing a case down must not take it below its colour's tier.
    can_escalate = (d.profile_colour[profile, 1] == colour0) & (tier0 < 3)
    min_tier = np.array([int(MIN_TIER_FOR_RISK[name]) for name in COLOURS])[colour0]
    can_return = tier0 - 1 >= min_tier
    r = u[:, 2]
    route_kind = np.full(n, ROUTE_PLAIN)
    esc_p = np.where(tier0 == 1, 0.06, 0.04)
    route_kind[can_escalate & (r < esc_p)] = ROUTE_ESCALATE
    route_kind[can_escalate & (r >= esc_p) & (r < esc_p + 0.02)] = ROUTE_ESCALATE_RETURN
    # A case routed up by its category, not its colour, is sometimes handed back down.
    by_category = cat.first_tier[c] == tier0
    route_kind[can_return & by_category & (r >= 0.08) & (r < 0.16)] = ROUTE_RETURN
    working_tier = tier0 + np.select([route_kind == ROUTE_ESCALATE, route_kind == ROUTE_RETURN], [1, -1], default=0)
    red = colour0 == RED
    assists = (u[:, 3] < np.where(red, 0.35, 0.22)).astype(np.int64) + (u[:, 3] < np.where(red, 0.6, 0.3))
    pool_size = np.array([len(p) for p in cat.assist_pool])[c]
    assists = np.where(working_tier >= 2, np.minimum(assists, pool_size), 0)
    citizen_facing = np.isin(channel, [CH_HOTLINE, CH_APP, CH_WINDOW, CH_ONLINE, CH_LETTER])
    rated = u[:, 4] < np.where(on_spot, 0.15, np.where(citizen_facing, 0.8, 0.3))
    rating = np.where(rated, np.where(u[:, 5] < 0.03, RATING_REOPENED, RATING_RATED), RATING_NONE)
    template = TEMPLATES.standard[route_kind, assists, rating]
    template = np.where(on_spot, TEMPLATES.on_spot[rated.astype(np.int64)], template)
    template = np.where(rejected, TEMPLATES.reject, template)

    tl = simulate(
        d,
        sla,
        calendar,
        rng,
        template=template,
        created=created,
        category=c,
        kind=kind,
        profile=profile,
        lane=lane0,
        tier=tier0,
    )
    # Everything after `end` has not happened yet.
    kept = tl.active & (tl.at <= end)
    version = kept.sum(axis=1)
    last = TEMPLATES.width - 1 - np.argmax(kept[:, ::-1], axis=1)

    def final(matrix: np.ndarray) -> np.ndarray:
        return matrix[rows, last]

    def last_kept(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask = mask & kept
        return mask.any(axis=1), TEMPLATES.width - 1 - np.argmax(mask[:, ::-1], axis=1)

    code = TEMPLATES.code[template]
    state = TEMPLATES.to_state[template, last]
    tier, colour, lane = final(tl.tier), final(tl.colour), final(tl.lane)
    escalations = final(tl.escalations)
    owner = owner_by_tier[rows, tier - 1]
    mark_50, mark_80, resolve_due = final(tl.mark_50), final(tl.mark_80), final(tl.resolve_due)
    running, overdue = final(tl.running), final(tl.overdue)
    # The sweep has run up to `end`: an open case's stage is where its marks put it now.
    stage = np.where(running, np.where(overdue, 3, _stage(np.full(n, end), mark_50, mark_80)), final(tl.stopped_stage))
    next_check = np.where(running & ~overdue, np.choose(np.minimum(stage, 2), [mark_50, mark_80, resolve_due]), -1)
    # A report nobody has accepted yet: intake's first look is its response deadline when
    # that comes first (`_with_response_look`), and the sweep has not reached it by `end`.
    respond_due = final(tl.respond_due)
    # An accepted one keeps that look: accepting does not start a new clock.
    waiting = np.isin(state, [STATE_INDEX[S.REGISTERED], STATE_INDEX[S.ACCEPTED]])
    unaccepted = waiting & running & ~overdue & (stage == 0) & (respond_due > end)
    next_check = np.where(unaccepted, np.minimum(respond_due, next_check), next_check)
    sat = np.stack(
        [
            np.where(
                rating == RATING_REOPENED,
                rng.choice([1, 2], n, p=[0.4, 0.6]),
                rng.choice([5, 4, 3], n, p=[0.72, 0.22, 0.06]),
            ),
            rng.choice([5, 4, 3], n, p=[0.35, 0.45, 0.2]),
        ],
        axis=1,
    )
    stamps = {}
    for i, name in enumerate(TIMESTAMP_FIELDS):
        has, idx = last_kept(TEMPLATES.timestamp[template] == i)
        stamps[name] = np.where(has, tl.at[rows, idx], -1)
    has_rating, rate_idx = last_kept(code == RATE)
    satisfaction = np.where(has_rating, sat[rows, TEMPLATES.rating[template, rate_idx].clip(0)], 0)
    has_outcome = (kept & ((code == RESOLVE) | (code == ON_SPOT))).any(axis=1)

    # --- people and words
    reporter = np.where(patrol, grid_worker, 0)
    lead = cat.lead[c]
    text = _texts(d, rng, c=c, community=community, street=street, channel=channel, on_spot=on_spot)
    phones = _phones(rng, channel)
    assist_depts = np.zeros((n, MAX_ASSISTS), dtype=np.int64)
    for i in np.nonzero(assists)[0].tolist():
        assist_depts[i, : assists[i]] = rng.choice(cat.assist_pool[c[i]], assists[i], replace=False)
    assist_done = rng.random((n, MAX_ASSISTS)) < 0.85
    outcomes = np.array(text.outcomes, dtype=object)

    cases = Columns(Case._meta.db_table, rows=n)
    cases.add("id", "int", None)  # bound later
    cases.add("tracking_code", "str", None)
    cases.add("kind", "str", np.array(KINDS, dtype=object)[kind].tolist())
    cases.add("channel", "str", np.array(CHANNELS, dtype=object)[channel].tolist())
    cases.add("category_id", "int", cat.ids[c])
    cases.add("title", "str", text.titles)
    cases.add("description", "str", text.descriptions)
    cases.add("lon", "float", lon)
    cases.add("lat", "float", lat)
    cases.add("address", "str", text.addresses)
    cases.add("grid_id", "int", d.grid_ids[g])
    cases.add("community_id", "int", d.community_ids[community])
    cases.add("street_id", "int", d.street_ids[street])
    cases.add("area_path", "str", [d.grid_paths[i] for i in g.tolist()])
    cases.add("risk", "str", np.array(COLOURS, dtype=object)[colour].tolist())
    reasons = [d.profile_reasons[p][min(e, 3)] for p, e in zip(profile.tolist(), escalations.tolist(), strict=True)]
    cases.add("risk_reasons", "json", reasons)
    cases.add("risk_facts", "json", _facts_json(d, profile, escalations))
    cases.add("risk_override", "str", [""] * n)
    cases.add("lane", "str", np.array(LANES, dtype=object)[lane].tolist())
    cases.add("tier", "int", tier)
    cases.add("owner_unit_id", "int", owner)
    cases.add("owner_path", "str", _owner_paths(d, tier, community, street))
    cases.add("lead_department_id", "int", lead)
    cases.add("state", "str", np.array(STATES, dtype=object)[state].tolist())
    cases.add("version", "int", version)
    cases.add("respond_due_at", "datetime", respond_due)
    cases.add("resolve_due_at", "datetime", resolve_due)
    cases.add("sla_started_at", "datetime", final(tl.clock_started))
    cases.add("sla_mark_50_at", "datetime", mark_50)
    cases.add("sla_mark_80_at", "datetime", mark_80)
    cases.add("next_sla_at", "datetime?", next_check)
    cases.add("sla_stage", "int", stage)
    cases.add("is_overdue", "bool", overdue)
    cases.add("overdue_at", "datetime?", final(tl.overdue_at))
    cases.add("suspended_at", "datetime?", np.full(n, -1))
    cases.add("extended", "bool", np.zeros(n, dtype=bool))
    cases.add("reporter_id", "int?", reporter)
    cases.add("reporter_name", "str", text.reporter_names)
    cases.add("reporter_phone", "str", phones[0])
    cases.add("reporter_phone_index", "str", phones[1])
    cases.add("reporter_id_number", "str", [""] * n)
    cases.add("reporter_id_index", "str", [""] * n)
    cases.add("duplicate_of_id", "int?", np.zeros(n, dtype=np.int64))
    cases.add("report_count", "int", np.ones(n, dtype=np.int64))
    cases.add("handled_on_spot", "bool", on_spot)
    cases.add("outcome", "str", np.where(has_outcome, outcomes, "").tolist())
    cases.add("satisfaction", "int?", satisfaction)
    cases.add("created_at", "datetime", created)
    # History is registered when it happened: no report waited in a phone's queue.
    cases.add("observed_at", "datetime?", np.full(n, -1))
    cases.add("updated_at", "datetime", final(tl.at))
    for name in TIMESTAMP_FIELDS:
        cases.add(name, "datetime?", stamps[name])

    # --- the timelines, flattened in (case, seq) order
    ev_case, ev_col = np.nonzero(kept)
    ev_template = template[ev_case]
    ev_code = code[ev_case, ev_col]
    ev_at = tl.at[ev_case, ev_col]
    ev_tier = tl.tier[ev_case, ev_col]
    ev_colour = tl.colour[ev_case, ev_col]
    # The tier before the step: the recorded tier of the previous kept step.
    seq = np.cumsum(kept, axis=1)[ev_case, ev_col]
    ev_prev_tier = np.where(seq > 1, np.roll(ev_tier, 1), ev_tier)
    ev_assist = TEMPLATES.assist[ev_template, ev_col]
    ev_assist_done = assist_done[ev_case, ev_assist.clip(0)]
    m = len(ev_case)
    actor_code = TEMPLATES.actor[ev_template, ev_col]
    registrar = np.select(
        [patrol, np.isin(channel, [CH_HOTLINE, CH_WINDOW, CH_LETTER]), channel == CH_REFERRAL],
        [d.grid_ids[g], np.full(n, d.district_id), lead],
        default=0,
    )
    ev_owner = owner_by_tier[ev_case, ev_tier - 1]
    ev_above = owner_by_tier[ev_case, np.minimum(ev_tier, 2)]  # the unit over the owner; the district at the top
    # A verdict is the citizen's on their page, or a supervising unit's after a callback (回访).
    ev_by_citizen = citizen_facing[ev_case]
    ev_by = np.where(ev_by_citizen, "citizen", "callback")
    actor_unit = np.select(
        [
            actor_code == A_REGISTRAR,
            actor_code == A_GRID,
            actor_code == A_OWNER,
            actor_code == A_PREVIOUS_OWNER,
            actor_code == A_HANDLER,
            actor_code == A_SUPERVISOR,
            actor_code == A_RATER,
            actor_code == A_ASSIST,
        ],
        [
            registrar[ev_case],
            d.grid_ids[g][ev_case],
            ev_owner,
            owner_by_tier[ev_case, ev_prev_tier - 1],
            np.where(ev_tier == 1, ev_owner, lead[ev_case]),
            ev_above,
            np.where(ev_by_citizen, 0, ev_above),
            np.where(ev_assist_done, assist_depts[ev_case, ev_assist.clip(0)], ev_owner),
        ],
        default=0,
    )
    actor = np.where(np.isin(ev_code, [REGISTER, ON_SPOT]) & patrol[ev_case], grid_worker[ev_case], 0)

    notes = np.full(m, "", dtype=object)
    data = np.full(m, "{}", dtype=object)
    sel = np.nonzero(ev_code == REGISTER)[0]
    data[sel] = _register_data(d, ev_case[sel], colour0, lane0, tier0, owner_by_tier, channel, profile)
    sel = np.nonzero(ev_code == ON_SPOT)[0]
    notes[sel] = outcomes[ev_case[sel]]
    data[sel] = '{"on_spot": true, "evidence": []}'
    sel = np.nonzero(ev_code == REJECT)[0]
    iot = channel[ev_case[sel]] == CH_IOT
    notes[sel] = np.array(REJECT_NOTES, dtype=object)[
        np.where(iot, len(REJECT_NOTES) - 1, ev_case[sel] % (len(REJECT_NOTES) - 1))
    ]
    sel = np.nonzero(ev_code == TRIAGE)[0]
    ev_lane = tl.lane[ev_case, ev_col]
    data[sel] = [
        f'{{"category": "{cat.codes[ci]}", "lane": "{LANES[la]}", "risk": "{COLOURS[co]}", "tier": {t}}}'
        for ci, la, co, t in zip(
            c[ev_case[sel]].tolist(),
            ev_lane[sel].tolist(),
            ev_colour[sel].tolist(),
            ev_tier[sel].tolist(),
            strict=True,
        )
    ]
    sel = np.nonzero(ev_code == ASSIGN)[0]
    attaches = TEMPLATES.attaches[ev_template[sel], ev_col[sel]]
    data[sel] = [
        f'{{"lead_department": {ld}, "assists": [{", ".join(str(x) for x in ad[:k]) if on else ""}]}}'
        for ld, ad, k, on in zip(
            lead[ev_case[sel]].tolist(),
            assist_depts[ev_case[sel]].tolist(),
            assists[ev_case[sel]].tolist(),
            attaches.tolist(),
            strict=True,
        )
    ]
    sel = np.nonzero(ev_code == ESCALATE)[0]
    notes[sel] = [
        ESCALATE_NOTES[t][i % 2] for t, i in zip(ev_prev_tier[sel].tolist(), ev_case[sel].tolist(), strict=True)
    ]
    data[sel] = [
        f'{{"tier": {t}, "owner_unit": {o}, "risk": "{COLOURS[co]}"}}'
        for t, o, co in zip(ev_tier[sel].tolist(), ev_owner[sel].tolist(), ev_colour[sel].tolist(), strict=True)
    ]
    sel = np.nonzero(ev_code == SWEEP_ESCALATE)[0]
    notes[sel] = SWEEP_ESCALATE_NOTE
    data[sel] = [
        f'{{"tier": {t}, "owner_unit": {o}, "risk": "{COLOURS[co]}", "by": "sweep"}}'
        for t, o, co in zip(ev_tier[sel].tolist(), ev_owner[sel].tolist(), ev_colour[sel].tolist(), strict=True)
    ]
    sel = np.nonzero(ev_code == OVERDUE)[0]
    notes[sel] = OVERDUE_NOTE
    data[sel] = [f'{{"at": "{s}"}}' for s in _utc_text(ev_at[sel], "+00:00", sep="T").tolist()]
    sel = np.nonzero(ev_code == RETURN)[0]
    notes[sel] = np.array(RETURN_NOTES, dtype=object)[ev_case[sel] % len(RETURN_NOTES)]
    data[sel] = [
        f'{{"tier": {t}, "owner_unit": {o}}}'
        for t, o in zip(ev_tier[sel].tolist(), ev_owner[sel].tolist(), strict=True)
    ]
    sel = np.nonzero(ev_code == RESOLVE)[0]
    notes[sel] = outcomes[ev_case[sel]]
    data[sel] = '{"evidence": []}'
    sel = np.nonzero(ev_code == VERIFY)[0]
    notes[sel] = np.array(VERIFY_NOTES, dtype=object)[ev_case[sel] % len(VERIFY_NOTES)]
    sel = np.nonzero(ev_code == RATE)[0]
    values = sat[ev_case[sel], TEMPLATES.rating[ev_template[sel], ev_col[sel]]]
    notes[sel] = [RATE_NOTES[v] for v in values.tolist()]
    rated = zip(values.tolist(), ev_by[sel].tolist(), strict=True)
    data[sel] = [f'{{"satisfaction": {v}, "by": "{b}"}}' for v, b in rated]
    sel = np.nonzero(ev_code == REOPEN)[0]
    # `case_rate` reopens with the citizen's note (or a standard one).
    notes[sel] = [RATE_NOTES[v] or REOPEN_NOTE for v in sat[ev_case[sel], 0].tolist()]
    data[sel] = [f'{{"because": "unsatisfied", "by": "{b}"}}' for b in ev_by[sel].tolist()]
    # close_assist events name their task by id, known only once the tasks have ids
    # (`_name_assist_tasks`); their notes are known now.
    ev_close = np.nonzero(ev_code == CLOSE_ASSIST)[0]
    notes[ev_close] = np.where(
        ev_assist_done[ev_close], np.array(ASSIST_DONE_NOTES, dtype=object)[ev_case[ev_close] % 2], ASSIST_WAIVED_NOTE
    )

    events = Columns(CaseEvent._meta.db_table, rows=m)
    events.add("case_id", "int", None)
    events.add("seq", "int", seq)
    events.add("kind", "str", np.array(STEP_KIND, dtype=object)[ev_code].tolist())
    events.add("from_state", "str", np.array(STATES, dtype=object)[TEMPLATES.from_state[ev_template, ev_col]].tolist())
    events.add("to_state", "str", np.array(STATES, dtype=object)[TEMPLATES.to_state[ev_template, ev_col]].tolist())
    events.add("actor_id", "int?", actor)
    events.add("actor_unit_id", "int?", actor_unit)
    events.add("tier", "int", ev_tier)
    events.add("note", "str", notes.tolist())
    events.add("data", "json", data.tolist())
    events.add("at", "datetime", ev_at)

    # --- assisting tasks: created by the assign that attaches them, closed (done or
    # waived) by their close_assist event if the timeline got that far
    attach_has, attach_idx = last_kept(TEMPLATES.attaches[template])
    task_case, task_no = np.nonzero((np.arange(MAX_ASSISTS)[None, :] < assists[:, None]) & attach_has[:, None])
    close_at = np.full((n, MAX_ASSISTS), -1, dtype=np.int64)
    cc, cj = np.nonzero(kept & (code == CLOSE_ASSIST))
    close_at[cc, TEMPLATES.assist[template[cc], cj]] = tl.at[cc, cj]
    task_closed = close_at[task_case, task_no] >= 0
    task_done = assist_done[task_case, task_no]
    assist_rows = Columns(AssistTask._meta.db_table, rows=len(task_case))
    assist_rows.add("case_id", "int", None)
    assist_rows.add("department_id", "int", assist_depts[task_case, task_no])
    assist_rows.add(
        "task", "str", np.array(ASSIST_TASKS, dtype=object)[(task_case + task_no) % len(ASSIST_TASKS)].tolist()
    )
    status = np.where(task_closed, np.where(task_done, AssistStatus.DONE, AssistStatus.WAIVED), AssistStatus.OPEN)
    assist_rows.add("status", "str", status.astype(object).tolist())
    note = np.where(
        task_closed,
        np.where(task_done, np.array(ASSIST_DONE_NOTES, dtype=object)[task_case % 2], ASSIST_WAIVED_NOTE),
        "",
    )
    assist_rows.add("note", "str", note.astype(object).tolist())
    assist_rows.add("created_at", "datetime", tl.at[task_case, attach_idx[task_case]])
    assist_rows.add("closed_at", "datetime?", close_at[task_case, task_no])
    # Which task row each close_assist event closes.
    task_row = np.full((n, MAX_ASSISTS), -1, dtype=np.int64)
    task_row[task_case, task_no] = np.arange(len(task_case))
    close_task = task_row[ev_case[ev_close], ev_assist[ev_close]]

    # --- a case turning red lights up the command centre (at intake, or when an
    # escalation turns it red)
    red_rows = np.nonzero((tl.alert_at >= 0) & (tl.alert_at <= end))[0]
    raised = tl.alert_at[red_rows]
    ack = raised + rng.integers(2 * MINUTE, 40 * MINUTE, len(red_rows))
    acknowledged = ack <= end
    who = np.zeros(len(red_rows), dtype=np.int64)
    if len(d.dispatchers):
        who = d.dispatchers[rng.integers(0, len(d.dispatchers), len(red_rows))]
    alerts = Columns(CommandAlert._meta.db_table, rows=len(red_rows))
    alerts.add("case_id", "int", None)
    alerts.add("kind", "str", ["red_case"] * len(red_rows))
    alerts.add("message", "str", [f"红色预警：{text.titles[i]}"[:300] for i in red_rows.tolist()])
    alerts.add("created_at", "datetime", raised)
    alerts.add("acknowledged_at", "datetime?", np.where(acknowledged, ack, -1))
    alerts.add("acknowledged_by_id", "int?", np.where(acknowledged, who, 0))
    return Plan(
        cases=cases,
        events=events,
        assists=assist_rows,
        alerts=alerts,
        states=state,
        overdue=int((running & overdue).sum()),
        close_assist_rows=ev_close,
        close_assist_task=close_task,
        created_day=calendar.local_day(created),
        event_case=ev_case,
        assist_case=task_case,
        alert_case=red_rows,
    )


def _points_in_grids(d: District, g: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A uniformly random point strictly inside each case's grid, rounded to six decimals
    before the check (so what is stored is what was checked): it resolves to that grid."""
    lon = np.empty(len(g))
    lat = np.empty(len(g))
    todo = np.arange(len(g))
    while len(todo):
        b = d.grid_bounds[g[todo]]
        x = np.round(b[:, 0] + rng.random(len(todo)) * (b[:, 2] - b[:, 0]), 6)
        y = np.round(b[:, 1] + rng.random(len(todo)) * (b[:, 3] - b[:, 1]), 6)
        inside = shapely.contains_xy(d.grid_geoms[g[todo]], x, y)
        lon[todo[inside]], lat[todo[inside]] = x[inside], y[inside]
        todo = todo[~inside]
    return lon, lat


@dataclass
class Texts:
    titles: list[str]
    descriptions: list[str]
    addresses: list[str]
    outcomes: list[str]
    reporter_names: list[str]


def _texts(d: District, rng, *, c, community, street, channel, on_spot) -> Texts:
    cat = d.categories
    n = len(c)
    u = rng.integers(0, 1 << 30, (n, 12)).tolist()  # Python ints: numpy scalars are slow one by one
    c, community, street, channel, on_spot = (a.tolist() for a in (c, community, street, channel, on_spot))
    titles, descriptions, addresses, outcomes, names = [], [], [], [], []
    dept_names = list(d.department_names.values())
    for i in range(n):
        ci, co, ch, r = c[i], community[i], channel[i], u[i]
        spec = cat.specs[ci]
        cname = d.community_names[co]
        stem = cname[:-2] if cname.endswith("社区") else cname[:-1]
        roads = d.community_roads[co]
        road = roads[r[0] % len(roads)]
        number = 1 + r[1] % 188
        people = 3 + r[10] % 38
        fill = {
            "c": cname,
            "road": road,
            "no": number,
            "bld": 1 + r[2] % 32,
            "estate": ESTATES[r[3] % len(ESTATES)],
            "shop": SHOPS[r[4] % len(SHOPS)],
            "firm": FIRMS[r[5] % len(FIRMS)],
            "river": RIVERS[r[6] % len(RIVERS)],
            "school": stem + "小学",
            "market": stem + "市场",
            "k": _chinese_number(1 + r[7] % 6),
            "n": people,
            "months": 2 + r[8] % 6,
            "amount": max(1, people * (2 + r[8] % 6) * 6 // 10),
            "cat": cat.names[ci],
        }
        title = spec.titles[r[9] % len(spec.titles)].format(**fill)
        detail = spec.details[r[9] % len(spec.details)]
        if "{" in detail:
            detail = detail.format(**fill)
        intro = CHANNEL_INTRO[ch]
        if ch == CH_REFERRAL:
            source = dept_names[r[11] % len(dept_names)]
            intro = intro.format(dept=source)
            names.append(source[:50])
        elif ch in (CH_PATROL, CH_IOT, CH_VIDEO):
            names.append("")
        elif ch == CH_HOTLINE or (ch == CH_APP and r[11] % 3):
            names.append(SURNAMES[r[11] % len(SURNAMES)] + ("先生" if r[11] & 1 else "女士"))
        elif ch in (CH_APP, CH_ONLINE) and r[11] % 5 == 0:
            names.append("")  # anonymous
        else:
            given = GIVEN[r[10] % len(GIVEN)] + (GIVEN[r[11] % len(GIVEN)] if r[11] % 10 < 7 else "")
            names.append(SURNAMES[r[11] % len(SURNAMES)] + given)
        titles.append(title[:200])
        descriptions.append(f"{intro}{title}。{detail}")
        addresses.append(f"{d.street_names[street[i]]}{cname}{road}{number}号")
        outcome = spec.outcomes[r[9] % len(spec.outcomes)]
        outcomes.append(("现场处置：" + outcome) if on_spot[i] else outcome)
    return Texts(titles, descriptions, addresses, outcomes, names)


def _phones(rng: np.random.Generator, channel: np.ndarray) -> tuple[list[str], list[str]]:
    """A small share of citizens leave a phone number: stored encrypted with its blind
    index, as intake does. Encryption is the slow part, so only a few."""
    n = len(channel)
    phones, indexes = [""] * n, [""] * n
    leaves = np.isin(channel, [CH_HOTLINE, CH_APP, CH_WINDOW, CH_ONLINE, CH_LETTER]) & (rng.random(n) < 0.06)
    prefixes = ("138", "139", "135", "137", "150", "158", "186", "189", "133", "177")
    for i in np.nonzero(leaves)[0].tolist():
        phone = prefixes[i % len(prefixes)] + f"{int(rng.integers(0, 100_000_000)):08d}"
        phones[i], indexes[i] = encrypt(phone), blind_index("phone", phone)
    return phones, indexes


def _facts_json(d: District, profile: np.ndarray, escalations: np.ndarray) -> list[str]:
    cache: dict[tuple[int, int], str] = {}
    out = []
    for p, e in zip(profile.tolist(), escalations.tolist(), strict=True):
        text = cache.get((p, e))
        if text is None:
            facts = dict(d.profile_facts[p])
            if e:
                facts["escalations"] = e
            text = cache[p, e] = json.dumps(facts)
        out.append(text)
    return out


def _owner_paths(d: District, tier: np.ndarray, community: np.ndarray, street: np.ndarray) -> list[str]:
    paths = (d.community_paths, d.street_paths)
    return [
        paths[t - 1][x] if t < 3 else d.district_path
        for t, x in zip(tier.tolist(), np.where(tier == 1, community, street).tolist(), strict=True)
    ]


def _register_data(d, cases, colour, lane, tier, owner_by_tier, channel, profile) -> list[str]:
    return [
        f'{{"risk": "{COLOURS[co]}", "reasons": {d.profile_reasons[p][0]}, "lane": "{LANES[la]}", "tier": {t}, '
        f'"owner_unit": {o}, "channel": "{CHANNELS[ch]}", "earlier_reports": 0}}'
        for co, p, la, t, o, ch in zip(
            colour[cases].tolist(),
            profile[cases].tolist(),
            lane[cases].tolist(),
            tier[cases].tolist(),
            owner_by_tier[cases, tier[cases] - 1].tolist(),
            channel[cases].tolist(),
            strict=True,
        )
    ]


_ALPHABET_CODES = np.array([ord(ch) for ch in _TRACKING_ALPHABET], dtype=np.uint32)
# The 6 characters encode the case id (30 bits), so the codes of bulk loads never collide.
# The low 10 bits are shuffled within each block of 1,024 ids (an odd multiplier is a
# bijection modulo 1,024): codes do not run in sequence, yet a batch's codes stay within a
# few blocks, so the unique index takes them on a few pages instead of thousands.
_CODE_BLOCK_BITS, _CODE_MULTIPLIER, _CODE_BITS = 10, 0x2C5, 30


def _tracking_codes(ids: np.ndarray, local_day: np.ndarray) -> list[str]:
    """HP + local date of registration + 6 characters, as `new_tracking_code` makes them."""
    n = len(ids)
    out = np.zeros((n, 14), dtype=np.uint32)
    out[:, 0], out[:, 1] = ord("H"), ord("P")
    dates = np.datetime_as_string(local_day.astype("datetime64[D]"), unit="D").astype("<U10")
    digits = dates.view(np.uint32).reshape(n, 10)
    out[:, 2:8] = digits[:, [2, 3, 5, 6, 8, 9]]
    ids = ids.astype(np.int64) & ((1 << _CODE_BITS) - 1)
    block, low = ids >> _CODE_BLOCK_BITS, ids & ((1 << _CODE_BLOCK_BITS) - 1)
    low = (low * _CODE_MULTIPLIER + block * 0x1B3) & ((1 << _CODE_BLOCK_BITS) - 1)
    mixed = (block << _CODE_BLOCK_BITS) | low
    for k in range(6):
        out[:, 8 + k] = _ALPHABET_CODES[(mixed >> (5 * (5 - k))) & 31]
    return out.view("<U14").ravel().tolist()


# --- writing -----------------------------------------------------------------------------


def _utc_text(seconds: np.ndarray, suffix: str = "", sep: str = " ") -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' in UTC (what Django stores on SQLite), built without a
    Python loop; `suffix` "+00" makes it PostgreSQL's, `sep` "T" and "+00:00" ISO 8601's."""
    seconds = np.asarray(seconds)
    text = np.datetime_as_string(seconds.clip(0).astype("datetime64[s]"), unit="s").astype("<U19")
    out = np.empty((len(text), 19 + len(suffix)), dtype=np.uint32)
    out[:, :19] = text.view(np.uint32).reshape(len(text), 19)
    out[:, 10] = ord(sep)
    for i, ch in enumerate(suffix):
        out[:, 19 + i] = ord(ch)
    return out.view(f"<U{19 + len(suffix)}").ravel()


class Writer:
    """Puts planned rows into the database: SQLite through executemany on the raw
    connection, PostgreSQL through COPY."""

    def __init__(self, *, dry_run: bool = False) -> None:
        self.vendor = connection.vendor
        self.dry_run = dry_run
        self._next_id: dict[str, int] = {}
        if self.vendor not in ("sqlite", "postgresql"):
            raise NotImplementedError(f"bulk loading supports SQLite and PostgreSQL, not {self.vendor}")

    def reserve_ids(self, model, count: int) -> np.ndarray:
        """`count` fresh primary keys, inside the current transaction."""
        table = model._meta.db_table
        if self.dry_run:
            first = self._next_id.get(table, 1)
            self._next_id[table] = first + count
            return np.arange(first, first + count, dtype=np.int64)
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                # The write lock is held from BEGIN IMMEDIATE, so nobody else can take these.
                cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
                top = cursor.fetchone()[0]
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
                row = cursor.fetchone()
                top = max(top, row[0] if row else 0)
                return np.arange(top + 1, top + 1 + count, dtype=np.int64)
            # Taken from the sequence like any insert's, so concurrent writers never clash.
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return np.sort(np.array([r[0] for r in cursor.fetchall()], dtype=np.int64))

    def write(self, rows: Columns) -> None:
        if not rows.rows or self.dry_run:
            return
        columns = ", ".join(f'"{name}"' for name in rows.values)
        values = [
            data if kind == "ready" else _sql_values(self.vendor, kind, data, rows.rows)
            for kind, data in rows.values.values()
        ]
        if self.vendor == "sqlite":
            flat = list(chain.from_iterable(zip(*values, strict=True)))
            # Many rows per statement, not executemany: with AUTOINCREMENT every statement
            # reads and writes sqlite_sequence, and statements cost more than rows.
            width = len(rows.values)
            limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            per = max(1, min(limit, 32766) // width)
            one = "(" + ", ".join("?" * width) + ")"
            raw = connection.connection
            for first in range(0, rows.rows, per):
                count = min(per, rows.rows - first)
                sql = f'INSERT INTO "{rows.table}" ({columns}) VALUES ' + ", ".join([one] * count)
                raw.execute(sql, flat[first * width : (first + count) * width])
            return
        text = "\n".join(map("\t".join, zip(*values, strict=True))) + "\n"
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f'COPY "{rows.table}" ({columns}) FROM STDIN') as copy,
        ):
            copy.write(text)


def _sql_values(vendor: str, kind: str, data, n: int) -> list:
    """A typed column as the values the database takes: Python values for SQLite's
    parameters, text for PostgreSQL's COPY."""
    if vendor == "sqlite":
        return _sqlite_values(kind, data, n)
    return _postgres_values(kind, data, n)


def _sqlite_values(kind: str, data, n: int) -> list:
    if kind in ("str", "json"):
        return data
    if kind == "const":
        value = json.dumps(data) if isinstance(data, dict | list) else data
        return [int(value) if isinstance(value, bool) else value] * n
    arr = np.asarray(data)
    if kind in ("int", "float"):
        return arr.tolist()
    if kind == "bool":
        return arr.astype(np.int64).tolist()
    if kind == "int?":
        out = arr.astype(object)
        out[arr == 0] = None
        return out.tolist()
    if kind == "datetime":
        return _utc_text(arr).tolist()
    # Most optional timestamps are empty: format only the others.
    out = np.full(len(arr), None, dtype=object)
    have = arr >= 0
    out[have] = _utc_text(arr[have])
    return out.tolist()


def _postgres_values(kind: str, data, n: int) -> list[str]:
    if kind in ("str", "json"):
        return _copy_escape(data)
    if kind == "const":
        if data is None:
            return [r"\N"] * n
        if isinstance(data, bool):
            return ["t" if data else "f"] * n
        value = json.dumps(data) if isinstance(data, dict | list) else str(data)
        return _copy_escape([value]) * n
    arr = np.asarray(data)
    if kind in ("int", "float"):
        return arr.astype(str).tolist()
    if kind == "bool":
        return np.where(arr, "t", "f").tolist()
    if kind == "int?":
        return np.where(arr == 0, r"\N", arr.astype(str)).tolist()
    if kind == "datetime":
        return _utc_text(arr, "+00").tolist()
    out = np.full(len(arr), r"\N", dtype=object)
    have = arr >= 0
    out[have] = _utc_text(arr[have], "+00")
    return out.tolist()


def _copy_escape(values: list[str]) -> list[str]:
    """COPY's text format: backslash, tab and newlines must be escaped. Generated text has
    none, so check the whole column once before touching each value."""
    joined = "".join(values)
    if "\\" not in joined and "\t" not in joined and "\n" not in joined and "\r" not in joined:
        return values
    table = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
    return [v.translate(table) for v in values]


def _fill_defaults(model, rows: Columns) -> list[str]:
    """Columns this loader does not know (a field added since) get the field's default, so
    a load never fails on them; the names are reported so that a test can insist the
    loader learns what they mean."""
    filled = []
    for f in model._meta.concrete_fields:
        if f.column in rows.values or f.primary_key:
            continue
        if f.has_default():
            value = f.get_default()
            if isinstance(value, datetime):
                rows.add(f.column, "datetime", np.full(rows.rows, math.floor(value.timestamp()), dtype=np.int64))
            else:
                rows.add(f.column, "const", value)
        elif f.null:
            rows.add(f.column, "const", None)
        else:
            raise NotImplementedError(f"bulk loading does not know how to fill {model.__name__}.{f.name}")
        filled.append(f"{model.__name__}.{f.name}")
    return filled


# --- the service -------------------------------------------------------------------------


@dataclass
class BulkLoadReport:
    cases: int = 0
    events: int = 0
    assists: int = 0
    alerts: int = 0
    overdue: int = 0  # open and past the deadline now
    seconds: float = 0.0
    database: str = ""
    states: dict[str, int] = field(default_factory=dict)
    # Fields the loader filled with their model default (see `_fill_defaults`).
    defaulted: set[str] = field(default_factory=set)

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def cases_bulk_load(
    *,
    count: int,
    seed: int = 1,
    end: datetime | None = None,
    days: int = 365,
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
    dry_run: bool = False,
) -> BulkLoadReport:
    """Insert `count` realistic cases with complete timelines, registered over the `days`
    before `end` (default now), into the loaded district. Returns counts and throughput.

    Normally one transaction per batch, so an interrupted load leaves whole cases only.
    A large first load is one transaction that builds the tables' plain indexes after the
    rows and checks their foreign keys once, at the end; it leaves all or nothing
    (`_first_load`). On PostgreSQL, readers of the case tables wait until it commits; on
    SQLite it is taken only when no other connection has the database open.
    `dry_run` plans the same cases and writes nothing."""
    started = time.perf_counter()
    end = end or timezone.now()
    report = BulkLoadReport(database=connection.vendor)
    if count <= 0:
        return report
    if days < 1 or batch_size < 1:
        raise ValueError("days and batch_size must be positive")
    writer = Writer(dry_run=dry_run)
    district = load_district(seed)
    end_s = math.floor(end.timestamp())
    calendar = Calendar(timezone.get_current_timezone(), end_s - days * DAY, end_s)
    sla = SlaTable()
    created = _created_times(np.random.default_rng([seed, 0]), count, end_s, days, calendar)
    states = np.zeros(len(STATES), dtype=np.int64)
    rows_first = not dry_run and count >= ROWS_FIRST_FROM and count >= Case.objects.count()

    def plan(number: int) -> Plan:
        batch = created[number * batch_size : (number + 1) * batch_size]
        planned = plan_batch(district, sla, calendar, seed=seed, number=number, created=batch, end=end_s)
        if not dry_run:
            planned.prepare(writer.vendor)
        return planned

    batches = math.ceil(count / batch_size)
    # One thread plans the next batch while this one is written: SQLite's inserts and
    # PostgreSQL's COPY run without the GIL, so the two overlap on a second core.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-plan")
    sqlite_cache = _widen_sqlite_cache() if writer.vendor == "sqlite" and not dry_run else None
    # The load makes millions of short-lived containers and no cycles worth collecting:
    # the collector's passes over them cost a seventh of the time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with _first_load(enabled=rows_first) as rows_first:
            upcoming = pool.submit(plan, 0)
            for number in range(batches):
                planned = upcoming.result()
                if number + 1 < batches:
                    upcoming = pool.submit(plan, number + 1)
                with nullcontext() if rows_first else transaction.atomic():
                    if writer.vendor == "postgresql" and not dry_run:
                        with connection.cursor() as cursor:
                            cursor.execute("SET LOCAL synchronous_commit = off")
                    planned.bind(writer.reserve_ids(Case, planned.cases.rows))
                    _name_assist_tasks(writer, planned)
                    for rows in (planned.cases, planned.events, planned.assists, planned.alerts):
                        writer.write(rows)
                report.cases += planned.cases.rows
                report.events += planned.events.rows
                report.assists += planned.assists.rows
                report.alerts += planned.alerts.rows
                report.overdue += planned.overdue
                report.defaulted |= planned.defaulted
                states += np.bincount(planned.states, minlength=len(STATES))
                if progress is not None:
                    progress(report.cases)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if collecting:
            gc.enable()
        if sqlite_cache is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(sqlite_cache)}")
    if writer.vendor == "postgresql" and not dry_run:
        # A million new rows leave the planner's statistics stale until autovacuum
        # catches up; refresh them now so the first pages are not slow.
        with connection.cursor() as cursor:
            for model in BULK_MODELS:
                cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    report.states = {STATES[i]: int(v) for i, v in enumerate(states) if v}
    report.seconds = time.perf_counter() - started
    return report


# A first load at least this large builds the plain indexes (and on PostgreSQL the foreign
# keys) after the rows: maintaining twenty-odd indexes and a foreign-key check per row costs
# more than building them once from sorted keys (it is what pg_restore does).
ROWS_FIRST_FROM = 100_000
BULK_MODELS = (Case, CaseEvent, AssistTask, CommandAlert)
SQLITE_REBUILT = (Case, AssistTask, CommandAlert)


@contextmanager
def _first_load(*, enabled: bool):
    """Around a large first load (`enabled`): yields True when it goes rows first, in one
    transaction that drops the bulk tables' plain indexes and builds them again after the
    rows (unique indexes stay) and checks every foreign key once before committing; False
    when it goes batch by batch. On SQLite the rows-first path needs the database to
    itself (`_sqlite_alone`)."""
    if not enabled:
        yield False
    elif connection.vendor == "postgresql":
        with transaction.atomic(), _postgres_load_first():
            yield True
    else:
        with _sqlite_alone() as alone:
            if not alone:
                yield False
                return
            with transaction.atomic(), _sqlite_load_first():
                yield True


@contextmanager
def _sqlite_alone():
    """Around a first load's transaction into SQLite (both pragmas change only outside
    one). Yields True when the load has the database to itself: its pages are then
    written once, straight into the database file under a rollback journal, instead of
    into the write-ahead log and again by a checkpoint, and foreign keys are not checked
    row by row (the caller checks them all before committing). Other connections wait
    until it commits. Yields False, and changes nothing, when another connection has the
    database open (SQLite then refuses to leave WAL mode): the load goes batch by batch,
    and a running server keeps working between the batches."""
    if connection.in_atomic_block:
        yield False
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        patience = cursor.fetchone()[0]
        # Any other open connection keeps a WAL database in WAL mode: ask once, don't wait.
        cursor.execute("PRAGMA busy_timeout = 0")
        try:
            cursor.execute("PRAGMA journal_mode = TRUNCATE")
            alone = cursor.fetchone()[0] == "truncate"
        except OperationalError:  # "database is locked": someone else has it open
            alone = False
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {int(patience)}")
    if not alone:
        yield False
        return
    try:
        connection.disable_constraint_checking()
        try:
            yield True
        finally:
            connection.enable_constraint_checking()
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA journal_mode = {previous}")
        except OperationalError:
            # A reader holds the database; every new connection asks for WAL anyway.
            log.warning("could not set SQLite's journal back to %s after the load", previous)


@contextmanager
def _sqlite_load_first():
    """The rows go in with SQLite's per-row foreign-key checks off (`_sqlite_alone`)."""
    tables = [model._meta.db_table for model in BULK_MODELS]
    rebuilt = [model._meta.db_table for model in SQLITE_REBUILT]
    with connection.cursor() as cursor:
        # Indexes behind UNIQUE constraints have no SQL of their own and cannot be dropped.
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND sql NOT LIKE 'CREATE UNIQUE%%' AND tbl_name IN ({', '.join(['%s'] * len(rebuilt))})",
            rebuilt,
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    yield
    connection.check_constraints(table_names=tables)
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)


@contextmanager
def _postgres_load_first():
    """Inside the load's one transaction: drop the bulk tables' plain indexes and foreign
    keys, let the rows in, then create the same indexes and constraints again. Adding a
    foreign key checks every row in one query, so integrity is still enforced; unique
    indexes stay throughout. Being transactional, a failure leaves the schema as it was."""
    indexes: list[tuple[str, str]] = []
    foreign_keys: list[tuple[str, str, str]] = []
    with connection.cursor() as cursor:
        for model in BULK_MODELS:
            table = model._meta.db_table
            cursor.execute(
                """
                SELECT c.relname, pg_get_indexdef(c.oid)
                FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
                WHERE x.indrelid = %s::regclass AND NOT x.indisunique AND NOT x.indisprimary
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
                """,
                [table],
            )
            indexes += cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                "AND contype = 'f'",
                [table],
            )
            foreign_keys += [(table, name, definition) for name, definition in cursor.fetchall()]
        # Deferred checks of earlier writes in this transaction (the demo district, when
        # one transaction holds both) must run before the constraints can be altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for table, name, _ in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    yield
    with connection.cursor() as cursor:
        # Sorting in memory makes the index builds several times faster.
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')


def _name_assist_tasks(writer: Writer, plan: Plan) -> None:
    """Give the batch's assisting tasks ids, so close_assist events can name them."""
    if not plan.assists.rows:
        return
    task_ids = writer.reserve_ids(AssistTask, plan.assists.rows)
    plan.assists.values = {"id": ("int", task_ids), **plan.assists.values}
    kind, data = plan.events.values["data"]
    data = list(data)
    status = plan.assists.values["status"][1]
    departments = plan.assists.values["department_id"][1]
    for row, task in zip(plan.close_assist_rows.tolist(), plan.close_assist_task.tolist(), strict=True):
        data[row] = f'{{"task": {task_ids[task]}, "department": {departments[task]}, "status": "{status[task]}"}}'
    plan.events.values["data"] = (kind, data)


def _widen_sqlite_cache() -> int:
    """A bigger page cache while loading keeps the indexes' hot pages in memory; the
    previous size comes back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA cache_size = -262144")
    return previous
