"""The pending-migration plan, with the facts needed to classify each operation.

The classification itself (django-migration-linter's codes) is done by the release
provider (providers/release/remote/migrations.ts); this module reports what each operation
does: its class, description, the field's nullability / uniqueness / default before and
after, and the SQL it would run on this database.
"""

from django.db import connections, models
from django.db.migrations.executor import MigrationExecutor

MAX_SQL_STATEMENTS = 5
MAX_SQL_CHARS = 300


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


def operation_sql(connection, app_label, operation, from_state, to_state):
    try:
        with connection.schema_editor(collect_sql=True, atomic=False) as editor:
            operation.database_forwards(app_label, editor, from_state, to_state)
        statements = [s for s in editor.collected_sql if s.strip()]
        return statements
    except Exception:
        return None


def describe_operation(app_label, migration_name, operation, from_state, to_state, connection, new_models=frozenset(), new_app=False, include_sql=False):
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
    }
    if hasattr(operation, "field") and kind in ("AddField", "AlterField"):
        entry["field"] = field_facts(operation.field)
    if kind == "AlterField":
        entry["fromField"] = field_facts(old_field(from_state, app_label, operation))
    if kind == "AddConstraint":
        entry["uniqueConstraint"] = constraint_is_unique(operation)
    if kind == "AlterUniqueTogether":
        ms = model_state(from_state, app_label, operation.name)
        before = set(map(tuple, ms.options.get("unique_together", ()) if ms else ()))
        after = set(map(tuple, operation.option_value or ()))
        entry["addsUniqueTogether"] = bool(after - before)
    sql = operation_sql(connection, app_label, operation, from_state, to_state)
    entry["sqlCount"] = None if sql is None else len(sql)
    if include_sql:
        entry["sql"] = None if sql is None else [s[:MAX_SQL_CHARS] for s in sql[:MAX_SQL_STATEMENTS]]
    return entry


def migration_plan(database="default", include_sql=False):
    """Every operation of every pending migration, in the order ``migrate`` would apply them."""
    connection = connections[database]
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
        for operation in migration.operations:
            to_state = state.clone()
            operation.state_forwards(migration.app_label, to_state)
            operations.append(
                describe_operation(
                    migration.app_label, migration.name, operation, state, to_state, connection,
                    new_models=frozenset(new_models), new_app=migration.app_label not in applied_apps, include_sql=include_sql,
                )
            )
            kind = type(operation).__name__
            if kind == "CreateModel":
                new_models.add((migration.app_label, operation.name_lower))
            elif kind == "RenameModel" and (migration.app_label, operation.old_name_lower) in new_models:
                new_models.add((migration.app_label, operation.new_name_lower))
            state = to_state
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
