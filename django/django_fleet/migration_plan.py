"""The pending-migration plan, with the facts needed to classify each operation.

The classification itself (django-migration-linter's codes) is done by the release
provider (providers/release/remote/migrations.ts); this module reports what each operation
does: its class, description, the field's nullability / uniqueness / default before and
after, and the SQL it would run on this database.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models
from django.db.migrations.executor import MigrationExecutor

from .readonly_sql import column_default_after, only_sets_defaults, operation_sql, read_only

MAX_SQL_STATEMENTS = 5
MAX_SQL_CHARS = 300

# The per-migration opt-out: a class attribute of the Migration, a non-empty string saying what
# the team reviewed. django-migration-linter's IgnoreMigration operation counts too.
REVIEWED_ATTRIBUTE = "fleet_reviewed"

# Field attributes that never reach the database (Django 4.1+ lists them as Field.non_db_attrs).
NON_DB_ATTRS = frozenset(getattr(models.Field, "non_db_attrs", (
    "blank", "choices", "editable", "error_messages", "help_text", "limit_choices_to",
    "on_delete", "related_name", "related_query_name", "validators", "verbose_name",
)))


def field_facts(field):
    if field is None:
        return None
    return {
        "null": bool(getattr(field, "null", False)),
        "unique": bool(getattr(field, "unique", False)) and not getattr(field, "primary_key", False),
        "primaryKey": bool(getattr(field, "primary_key", False)),
        "hasDefault": bool(field.has_default()) if hasattr(field, "has_default") else False,
        "manyToMany": bool(getattr(field, "many_to_many", False)),
        "dbIndex": bool(getattr(field, "db_index", False)),
        "type": type(field).__name__,
    }


def model_state(state, app_label, model_name):
    if not model_name:
        return None
    return state.models.get((app_label, model_name.lower()))


def old_field(state, app_label, operation):
    ms = model_state(state, app_label, getattr(operation, "model_name", None))
    if ms is None:
        return None
    name = getattr(operation, "name", None)
    fields = ms.fields
    if isinstance(fields, dict):
        return fields.get(name)
    for field_name, field in fields:  # very old Django: list of tuples
        if field_name == name:
            return field
    return None


def constraint_is_unique(operation):
    constraint = getattr(operation, "constraint", None)
    return isinstance(constraint, models.UniqueConstraint)


def db_changes(before, after):
    """The field attributes an AlterField changes that reach the database ("type" for the class)."""
    if before is None or after is None:
        return None
    _, before_path, before_args, before_kwargs = before.deconstruct()
    _, after_path, after_args, after_kwargs = after.deconstruct()
    changes = []
    if before_path != after_path:
        changes.append("type")
    if list(before_args) != list(after_args):
        changes.append("args")
    missing = object()
    for key in sorted(set(before_kwargs) | set(after_kwargs)):
        if key not in NON_DB_ATTRS and before_kwargs.get(key, missing) != after_kwargs.get(key, missing):
            changes.append(key)
    return changes


def is_linter_ignore(operation):
    cls = type(operation)
    return cls.__name__ == "IgnoreMigration" and cls.__module__.split(".")[0] == "django_migration_linter"


def reviewed_reason(migration):
    """Why the team vouches for this migration (the opt-out), or None."""
    label = "%s.%s" % (migration.app_label, migration.name)
    if hasattr(migration, REVIEWED_ATTRIBUTE):
        value = getattr(migration, REVIEWED_ATTRIBUTE)
        if not isinstance(value, str) or not value.strip():
            raise ImproperlyConfigured(
                "%s: %s must be a non-empty string saying what the team reviewed, got %r" % (label, REVIEWED_ATTRIBUTE, value)
            )
        return value.strip()
    for operation in migration.operations:
        if is_linter_ignore(operation):
            reason = (getattr(operation, "reason", None) or "").strip()
            return "django-migration-linter IgnoreMigration" + (": %s" % reason if reason else "")
    return None


def column_of(state, app_label, model_name, field_name):
    """(db_table, column) of a field in a state whose models are rendered, or None."""
    try:
        model = state.apps.get_model(app_label, model_name)
        return model._meta.db_table, model._meta.get_field(field_name).column
    except Exception:  # noqa: BLE001
        return None


def describe_operation(app_label, migration_name, operation, from_state, to_state, connection, new_models=frozenset(), new_app=False, include_sql=False, reviewed=None):
    kind = type(operation).__name__
    model_name = (getattr(operation, "model_name", None) or getattr(operation, "name", None) or "").lower()
    entry = {
        # Nothing of this app is applied yet, or the model is created earlier in this plan: the
        # version still serving cannot be using it, whatever the operation does.
        "newApp": new_app,
        "newModel": kind != "CreateModel" and (app_label, model_name) in new_models,
        "app": app_label,
        "migration": migration_name,
        "operation": kind,
        "description": operation.describe(),
        "model": getattr(operation, "model_name", None) or getattr(operation, "name", None),
        "field": None,
        "fromField": None,
        "uniqueConstraint": False,
        "addsUniqueTogether": False,
        "reviewed": reviewed,
    }
    if hasattr(operation, "field") and kind in ("AddField", "AlterField"):
        entry["field"] = field_facts(operation.field)
    if kind == "AlterField":
        before = old_field(from_state, app_label, operation)
        entry["fromField"] = field_facts(before)
        entry["dbChanges"] = db_changes(before, operation.field)
    if kind == "AddConstraint":
        entry["uniqueConstraint"] = constraint_is_unique(operation)
    if kind == "AlterUniqueTogether":
        ms = model_state(from_state, app_label, operation.name)
        before = set(map(tuple, ms.options.get("unique_together", ()) if ms else ()))
        after = set(map(tuple, operation.option_value or ()))
        entry["addsUniqueTogether"] = bool(after - before)
    sql, why = operation_sql(connection, app_label, operation, from_state, to_state)
    entry["sqlCount"] = None if sql is None else len(sql)
    entry["sqlUnknown"] = why
    entry["sqlOnlySetsDefaults"] = only_sets_defaults(sql)
    if include_sql:
        entry["sql"] = None if sql is None else [s[:MAX_SQL_CHARS] for s in sql[:MAX_SQL_STATEMENTS]]
    return entry, sql or []


def mark_db_defaults(connection, migration, described):
    """dbDefaultWhenCommitted on each NOT NULL AddField of one migration.

    True when the migration's own SQL (this operation's and the later ones') leaves the new
    column with a database default, and the migration commits as one transaction: the old
    code, which omits the column from its INSERTs, never sees the column without a default.
    """
    one_transaction = bool(migration.atomic and connection.features.can_rollback_ddl)
    for index, (entry, _sql, to_state, operation) in enumerate(described):
        if entry["operation"] != "AddField" or not entry["field"] or entry["field"]["null"]:
            continue
        column = column_of(to_state, migration.app_label, operation.model_name_lower, operation.name)
        later = [statement for _e, sql, _s, _o in described[index:] for statement in sql]
        entry["dbDefaultWhenCommitted"] = bool(column and one_transaction and column_default_after(later, *column))


def migration_plan(database="default", include_sql=False):
    """Every operation of every pending migration, in the order ``migrate`` would apply them.

    Changes nothing: see readonly_sql (no RunPython is executed, only reads reach the
    database, and everything runs in a transaction that is rolled back).
    """
    connection = connections[database]
    with read_only(connection):
        return _migration_plan(connection, database, include_sql)


def _migration_plan(connection, database, include_sql):
    executor = MigrationExecutor(connection)
    targets = executor.loader.graph.leaf_nodes()
    plan = executor.migration_plan(targets)
    operations = []
    applied_apps = {app for app, _name in executor.loader.applied_migrations}
    new_models = set()
    for migration, backwards in plan:
        if backwards:
            continue
        state = executor.loader.project_state((migration.app_label, migration.name), at_end=False)
        reviewed = reviewed_reason(migration)
        described = []
        for operation in migration.operations:
            to_state = state.clone()
            operation.state_forwards(migration.app_label, to_state)
            entry, sql = describe_operation(
                migration.app_label, migration.name, operation, state, to_state, connection,
                new_models=frozenset(new_models), new_app=migration.app_label not in applied_apps,
                include_sql=include_sql, reviewed=reviewed,
            )
            described.append((entry, sql, to_state, operation))
            operations.append(entry)
            kind = type(operation).__name__
            if kind == "CreateModel":
                new_models.add((migration.app_label, operation.name_lower))
            elif kind == "RenameModel" and (migration.app_label, operation.old_name_lower) in new_models:
                new_models.add((migration.app_label, operation.new_name_lower))
            state = to_state
        mark_db_defaults(connection, migration, described)
    graph_nodes = set(executor.loader.graph.nodes)
    return {
        "database": database,
        "pending": [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards],
        "operations": operations,
        # Applied migrations this code does not know: the database is ahead of this version
        # (e.g. a rollback target older than the schema).
        # No migration applied at all: nothing serves from this database yet, so even data
        # migrations (RunPython/RunSQL) of the first release cannot break a running version.
        "freshDatabase": not executor.loader.applied_migrations,
        "unknownApplied": sorted(f"{app}.{name}" for app, name in executor.loader.applied_migrations if (app, name) not in graph_nodes),
    }
