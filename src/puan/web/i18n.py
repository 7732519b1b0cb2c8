"""A small GNU gettext .po → .mo compiler in pure Python.

A fresh machine may lack GNU gettext (`msgfmt`), so `make assets` compiles the catalogues
in `src/puan/locale/` with this module, and a test compiles them again and fails when a
committed .mo differs from its .po. Same rules as `msgfmt` without options: fuzzy and
untranslated entries are left out, the header entry is kept, keys are sorted.

    python -m puan.web.i18n            # compile every catalogue under src/puan/locale
    python -m puan.web.i18n --check    # exit 1 if a .mo is missing or out of date
"""

from __future__ import annotations

import argparse
import ast
import re
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
MAGIC = 0x950412DE


class PoSyntaxError(ValueError):
    pass


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False

    @property
    def key(self) -> str:
        key = self.msgid if self.msgid_plural is None else f"{self.msgid}\0{self.msgid_plural}"
        return key if self.msgctxt is None else f"{self.msgctxt}\x04{key}"

    @property
    def value(self) -> str:
        return "\0".join(self.msgstr[i] for i in sorted(self.msgstr))

    @property
    def translated(self) -> bool:
        return any(self.msgstr.values())


def _unquote(token: str, where: str) -> str:
    token = token.strip()
    if len(token) < 2 or token[0] != '"' or token[-1] != '"':
        raise PoSyntaxError(f"{where}: expected a quoted string, got {token!r}")
    # A .po string is a C string literal; Python's literal rules agree for the escapes
    # gettext emits (\n \t \" \\ and octal), and the body is plain UTF-8 text.
    try:
        return ast.literal_eval(token)
    except (SyntaxError, ValueError) as exc:
        raise PoSyntaxError(f"{where}: bad string {token!r}") from exc


def parse_po(text: str, name: str = "<po>") -> list[Entry]:
    """The entries of a .po file, in file order (obsolete `#~` entries dropped)."""
    entries: list[Entry] = []
    entry = Entry()
    section: tuple[str, int] | None = None  # which string the continuation lines extend
    seen_any = False

    def finish() -> None:
        nonlocal entry, seen_any
        if seen_any:
            entries.append(entry)
        entry = Entry()
        seen_any = False

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"{name}:{lineno}"
        if not line:
            continue
        if line.startswith("#"):
            if seen_any and section is not None and section[0] == "msgstr":
                finish()
                section = None
            if line.startswith("#,") and "fuzzy" in [f.strip() for f in line[2:].split(",")]:
                entry.fuzzy = True
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            if section is None:
                raise PoSyntaxError(f"{where}: continuation line outside an entry")
            kind, index = section
            value = _unquote(line, where)
            if kind == "msgid":
                entry.msgid += value
            elif kind == "msgid_plural":
                entry.msgid_plural = (entry.msgid_plural or "") + value
            elif kind == "msgctxt":
                entry.msgctxt = (entry.msgctxt or "") + value
            else:
                entry.msgstr[index] += value
            continue
        if keyword in ("msgctxt", "msgid") and section is not None and section[0] == "msgstr":
            finish()
        if keyword == "msgctxt":
            entry.msgctxt = _unquote(rest, where)
            section = ("msgctxt", 0)
        elif keyword == "msgid":
            entry.msgid = _unquote(rest, where)
            section = ("msgid", 0)
        elif keyword == "msgid_plural":
            entry.msgid_plural = _unquote(rest, where)
            section = ("msgid_plural", 0)
        elif keyword == "msgstr":
            entry.msgstr[0] = _unquote(rest, where)
            section = ("msgstr", 0)
        elif keyword.startswith("msgstr[") and keyword.endswith("]"):
            index = int(keyword[7:-1])
            entry.msgstr[index] = _unquote(rest, where)
            section = ("msgstr", index)
        else:
            raise PoSyntaxError(f"{where}: unknown keyword {keyword!r}")
        seen_any = True
    finish()
    return entries


def catalog(entries: list[Entry]) -> dict[str, str]:
    """What goes into the .mo: translated, non-fuzzy entries (the header always)."""
    result: dict[str, str] = {}
    for e in entries:
        if e.msgid == "" and e.msgctxt is None:
            result[""] = e.value
        elif e.translated and not e.fuzzy:
            if e.key in result:
                raise PoSyntaxError(f"duplicate message {e.key!r}")
            result[e.key] = e.value
    return result


def compile_mo(messages: dict[str, str]) -> bytes:
    """The GNU .mo bytes for `messages` (keys sorted, no hash table: readers bisect)."""
    keys = sorted(messages, key=lambda k: k.encode("utf-8"))
    ids = [k.encode("utf-8") for k in keys]
    strs = [messages[k].encode("utf-8") for k in keys]
    n = len(keys)
    originals_at = 7 * 4
    translations_at = originals_at + n * 8
    data_at = translations_at + n * 8
    table: list[int] = []
    blob = b""
    for s in ids:
        table += [len(s), data_at + len(blob)]
        blob += s + b"\0"
    for s in strs:
        table += [len(s), data_at + len(blob)]
        blob += s + b"\0"
    header = struct.pack("<7I", MAGIC, 0, n, originals_at, translations_at, 0, data_at)
    return header + struct.pack(f"<{len(table)}I", *table) + blob


def compile_po_file(po: Path) -> bytes:
    return compile_mo(catalog(parse_po(po.read_text("utf-8"), str(po))))


def po_files(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def compile_all(locale_dir: Path = LOCALE_DIR, *, check: bool = False) -> list[Path]:
    """Write each .po's .mo (or, with `check`, return those that are missing or stale)."""
    changed = []
    for po in po_files(locale_dir):
        mo = po.with_suffix(".mo")
        data = compile_po_file(po)
        if mo.exists() and mo.read_bytes() == data:
            continue
        changed.append(mo)
        if not check:
            mo.write_bytes(data)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report catalogues whose .mo is out of date")
    parser.add_argument("--locale-dir", type=Path, default=LOCALE_DIR)
    args = parser.parse_args(argv)
    changed = compile_all(args.locale_dir, check=args.check)
    for mo in changed:
        print(f"{'out of date' if args.check else 'compiled'}: {mo}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())


# --- what the pages ask to translate (for the catalogue's completeness test) -----------

_PY_CALL = re.compile(r"""\b(?:gettext|gettext_lazy|_)\(\s*(?P<q>["'])(?P<s>(?:\\.|(?!(?P=q)).)*)(?P=q)\s*\)""")
_TEMPLATE_CALL = re.compile(r"""\b(?:gettext|pgettext)\((?:u?'[^']*',\s*)?u?'(?P<s>(?:\\.|[^'])*)'\)""")


def template_msgids(text: str) -> set[str]:
    """The msgids of `{% translate "…" %}` and `{% blocktranslate %}` in a template, as
    Django's makemessages would extract them (through the same `templatize`)."""
    from django.utils.translation.template import templatize

    found = set()
    for m in _TEMPLATE_CALL.finditer(templatize(text)):
        found.add(ast.literal_eval("'" + m.group("s") + "'"))
    return {s for s in found if s.strip()}


def python_msgids(text: str) -> set[str]:
    """Literal msgids of gettext(…), gettext_lazy(…) and _(…) calls in Python source."""
    return {ast.literal_eval(m.group("q") + m.group("s") + m.group("q")) for m in _PY_CALL.finditer(text)}
