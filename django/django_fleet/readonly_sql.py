"""Collecting a migration operation's SQL without changing the database.

Three locks, each enough for the common case, together read-only by construction:

1. Operations that cannot be written as SQL are never executed: RunPython (its
   database_forwards calls the project's function), any operation declaring
   ``reduces_to_sql = False`` (what ``sqlmigrate`` skips too), and a
   SeparateDatabaseAndState holding one of those.
2. Every other operation runs with a schema editor in ``collect_sql`` mode, as ``sqlmigrate``
   does: its statements are collected, not sent. Whatever still reaches the database goes
   through an execute wrapper that lets reads (SELECT, introspection PRAGMAs, savepoints)
   through and refuses anything else, so an operation that writes with its own cursor fails
   (its SQL is then reported as unknown) instead of writing.
3. All of it runs inside a transaction that is always rolled back.

Not covered: side effects outside the database of a third-party operation's own Python code
(files, network), and sequence values advanced by a SELECT nextval() (PostgreSQL sequences are
not transactional).
"""

import re
from contextlib import contextmanager

from django.db import transaction
from django.db.migrations.operations import RunPython, SeparateDatabaseAndState

_READ_ONLY = re.compile(
    r"^\s*(?:"
    r"SELECT\b|SHOW\b|EXPLAIN\b"
    r"|SAVEPOINT\b|RELEASE\s+SAVEPOINT\b|ROLLBACK\s+TO\s+SAVEPOINT\b"
    r"|PRAGMA\s+[\w.]+\s*(?:\([^;]*\))?\s*;?\s*$"  # introspection: table_info(...), foreign_key_check
    r"|PRAGMA\s+foreign_keys\s*=\s*(?:ON|OFF)\s*;?\s*$"  # the SQLite schema editor's own switch
    r")",
    re.IGNORECASE,
)


class InspectionWrite(Exception):
    """An operation tried to send a statement that could change the database."""


def _refuse_writes(execute, sql, params, many, context):
    if not _READ_ONLY.match(str(sql)):
        raise InspectionWrite("inspection is read-only: refused to execute %r" % (str(sql)[:200],))
    return execute(sql, params, many, context)


def not_sql_reason(operation):
    """Why this operation must not run at inspection (it is not SQL), or None."""
    if isinstance(operation, RunPython) or not getattr(operation, "reduces_to_sql", True):
        return "cannot be written as SQL (it runs Python code): not executed at inspection"
    if isinstance(operation, SeparateDatabaseAndState):
        for inner in operation.database_operations:
            reason = not_sql_reason(inner)
            if reason:
                return "holds %s, which %s" % (type(inner).__name__, reason)
    return None


@contextmanager
def read_only(connection):
    """Runs the body in a transaction that is always rolled back, letting only reads through."""
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        # The SQLite schema editor needs foreign keys off, which cannot be switched inside a
        # transaction; migrate does the same before it opens one.
        connection.disable_constraint_checking()
    try:
        with transaction.atomic(using=connection.alias):
            try:
                with connection.execute_wrapper(_refuse_writes):
                    yield
            finally:
                transaction.set_rollback(True, using=connection.alias)
    finally:
        if sqlite:
            connection.enable_constraint_checking()


def operation_sql(connection, app_label, operation, from_state, to_state):
    """(statements, None), or (None, why) when the SQL is not known. Call inside read_only()."""
    reason = not_sql_reason(operation)
    if reason:
        return None, reason
    try:
        # A savepoint: a statement that fails leaves the outer (rolled-back) transaction usable.
        with transaction.atomic(using=connection.alias):
            with connection.schema_editor(collect_sql=True, atomic=False) as editor:
                operation.database_forwards(app_label, editor, from_state, to_state)
        return [s for s in editor.collected_sql if s.strip()], None
    except InspectionWrite as e:
        return None, str(e)
    except Exception as e:  # noqa: BLE001 - any failure only makes the SQL unknown
        return None, "its SQL could not be computed: %s: %s" % (type(e).__name__, str(e)[:200])


def column_default_after(statements, table, column):
    """Whether the column has a database default after these statements, in order.

    Starts from no default (a column the statements add). Knows ADD COLUMN ... DEFAULT and
    ALTER COLUMN ... SET/DROP DEFAULT, quoted with "..." or `...` or bare.
    """
    q = r'[`"]?'
    name = r"%s%s%s" % (q, re.escape(table), q)
    col = r"%s%s%s" % (q, re.escape(column), q)
    pattern = re.compile(
        r"ALTER\s+TABLE\s+%s\s+(?:ALTER\s+COLUMN\s+%s\s+(SET|DROP)\s+DEFAULT\b|ADD\s+COLUMN\s+%s\s+[^;,]*?\b(DEFAULT)\b)" % (name, col, col),
        re.IGNORECASE,
    )
    has_default = False
    for statement in statements:
        for match in pattern.finditer(statement):
            has_default = (match.group(1) or match.group(2)).upper() in ("SET", "DEFAULT")
    return has_default


_SETS_DEFAULT = re.compile(
    r"""^\s*ALTER\s+TABLE\s+[`"]?[\w.]+[`"]?\s+ALTER\s+COLUMN\s+[`"]?\w+[`"]?\s+SET\s+DEFAULT\s+[^;]*;?\s*$""",
    re.IGNORECASE,
)


def only_sets_defaults(statements):
    """True when there are statements and each only sets a column's database default."""
    return bool(statements) and all(_SETS_DEFAULT.match(s) for s in statements)
