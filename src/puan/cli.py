"""`puan COMMAND` runs a Django management command; dashes and underscores are the same,
so `puan import-grids FILE` is `manage.py import_grids FILE`."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "puan.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    args[0] = "puan"
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
