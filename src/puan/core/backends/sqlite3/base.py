"""Django's SQLite backend, with each statement's placeholders rewritten once.

Django writes SQL with `%s` placeholders and its SQLite cursor rewrites them into SQLite's
`?` on every execution, with a regular expression that looks behind each `%`: some 60 µs
for the INSERT of a case on a slow machine, more than SQLite spends on the row. The
statements a process runs are few and run again and again (the ORM's SQL for a query of a
given shape is the same text each time), so the rewritten text is kept, by statement.
Everything else is Django's own backend, unchanged.
"""

from __future__ import annotations

import functools

from django.db.backends.sqlite3 import base


@functools.lru_cache(maxsize=1024)
def qmark(query: str) -> str:
    """`query` with Django's `%s` placeholders as SQLite's `?` (and `%%` as `%`)."""
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


# Longer statements are mostly one-offs whose text holds their data (a long `IN` list):
# they are rewritten each time rather than crowding out the statements that come again.
KEPT_UP_TO = 4096


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query, *, param_names=None):
        if param_names is None and len(query) <= KEPT_UP_TO:
            return qmark(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLiteCursorWrapper)
