"""The message catalogues: compiled and complete; Chinese by default, English by the switch."""

from __future__ import annotations

import gettext
import io
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases.models import CaseKind, CaseState, Channel, Risk
from puan.cases.transitions import MOVES
from puan.taxonomy.models import Lane, Tier
from puan.web import i18n
from puan.web.templatetags.puan_tags import EVENT_LABELS, LIGHT_LABELS

SRC = Path(__file__).resolve().parents[2]
EN_PO = i18n.LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
# The pages this catalogue serves (other apps' templates keep their own conventions).
TEMPLATES = [
    *sorted((SRC / "templates").glob("*.html")),
    *sorted((SRC / "web" / "templates" / "web").glob("*.html")),
    *sorted((SRC / "cases" / "templates" / "cases").glob("*.html")),
    *sorted((SRC / "accounts" / "templates" / "accounts").glob("*.html")),
]
PYTHON = [
    SRC / "accounts" / "views.py",
    *sorted((SRC / "cases").glob("views*.py")),
    *sorted((SRC / "web").glob("*.py")),
    SRC / "web" / "templatetags" / "puan_tags.py",
]


def en_catalog() -> gettext.GNUTranslations:
    with open(EN_PO.with_suffix(".mo"), "rb") as f:
        return gettext.GNUTranslations(f)


def test_it_ships_every_mo_compiled_from_its_po():
    assert i18n.po_files(), "no catalogue found"
    for po in i18n.po_files():
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} missing: run `python -m puan.web.i18n`"
        assert mo.read_bytes() == i18n.compile_po_file(po), f"{mo} is stale: run `python -m puan.web.i18n`"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext not installed")
def test_it_compiles_what_gnu_msgfmt_compiles(tmp_path):
    reference = tmp_path / "ref.mo"
    subprocess.run(["msgfmt", "-o", str(reference), str(EN_PO)], check=True)
    with open(reference, "rb") as f:
        assert gettext.GNUTranslations(f)._catalog == en_catalog()._catalog


def test_it_parses_the_tricky_parts_of_the_po_format():
    entries = i18n.parse_po(
        'msgid ""\nmsgstr "Language: en\\nContent-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#, fuzzy\nmsgid "草稿"\nmsgstr "Draft"\n\n'
        'msgctxt "state"\nmsgid "已登记"\nmsgstr "Regis"\n"tered"\n\n'
        'msgid "一件"\nmsgid_plural "%(n)s 件"\nmsgstr[0] "one"\nmsgstr[1] "%(n)s \\"cases\\""\n\n'
        '#~ msgid "旧的"\n#~ msgstr "old"\n'
    )
    catalog = i18n.catalog(entries)
    assert "草稿" not in catalog  # fuzzy entries are left out, as msgfmt does
    assert catalog["state\x04已登记"] == "Registered"
    assert catalog["一件\x00%(n)s 件"] == 'one\x00%(n)s "cases"'
    translations = gettext.GNUTranslations(io.BytesIO(i18n.compile_mo(catalog)))
    assert translations.pgettext("state", "已登记") == "Registered"
    assert translations.ngettext("一件", "%(n)s 件", 3) == '%(n)s "cases"'


def test_it_translates_every_text_of_the_pages_into_english():
    catalog = en_catalog()._catalog
    wanted: set[str] = set()
    for path in TEMPLATES:
        wanted |= i18n.template_msgids(path.read_text("utf-8"))
    for path in PYTHON:
        wanted |= i18n.python_msgids(path.read_text("utf-8"))
    # Labels the pages translate at run time.
    for choices in (Risk, Tier, Lane, CaseKind, Channel):
        wanted |= {str(label) for _value, label in choices.choices}
    wanted |= {m.label for m in MOVES.values()} | set(EVENT_LABELS.values()) | set(LIGHT_LABELS.values())
    missing = sorted(m for m in wanted if m not in catalog)
    assert not missing, f"add to {EN_PO.relative_to(SRC)}: {missing}"
    states = sorted(label for _v, label in CaseState.choices if f"state\x04{label}" not in catalog)
    assert not states, f"add state labels (msgctxt 'state'): {states}"


@pytest.mark.django_db
def test_it_speaks_chinese_by_default_whatever_the_browser_says(tree):
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = client.get("/login/").content.decode()
    assert '<html lang="zh-Hans">' in html and "登录埔安社会治理综合平台" in html


@pytest.mark.django_db
def test_it_switches_to_english_and_back(tree):
    user = make_user(Role.UNIT_HANDLER, unit=tree.community_a)
    client = Client()
    client.force_login(user)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/work/"})
    assert response.status_code == 302 and response.url == "/work/"
    html = client.get("/work/").content.decode()
    assert '<html lang="en">' in html and "My workbench" in html and "All open" in html
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/work/"})
    assert "我的工作台" in client.get("/work/").content.decode()
