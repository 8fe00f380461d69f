/**
 * Classifies pending Django migration operations with django-migration-linter's codes.
 *
 * Input: the facts `manage.py fleet_migration_plan` prints for each operation (django_fleet's
 * migration_plan.py). Output: the port's MigrationReport. Pure functions, no I/O.
 *
 * Breaking for the old code still serving while the new version goes out:
 *   NOT_NULL       AddField not null (and not many-to-many), unless its migration leaves the new
 *                  column with a database default before it commits (dbDefaultWhenCommitted:
 *                  the old code omits the column from its INSERTs, so the default applies);
 *                  AlterField null -> not null (the old code's model has the column and sends
 *                  it, NULL when unset, so no database default helps);
 *                  AlterOrderWithRespectTo (adds a NOT NULL _order column)
 *   DROP_COLUMN    RemoveField
 *   DROP_TABLE     DeleteModel
 *   RENAME_COLUMN  RenameField
 *   RENAME_TABLE   RenameModel, AlterModelTable
 *   ALTER_COLUMN   AlterField that changes the column (emits SQL), except one that only drops
 *                  NOT NULL and/or changes the Python-side default
 *   ADD_UNIQUE     AddField / AlterField unique, AddConstraint(UniqueConstraint),
 *                  AlterUniqueTogether adding a set
 * Safe: nullable AddField, many-to-many AddField, CreateModel, AddIndex, RemoveIndex,
 *   RemoveConstraint, AlterIndexTogether, AlterModelOptions, AlterModelManagers, and an AlterField
 *   or AlterUniqueTogether that emits no SQL / only removes.
 * Unknown: RunPython, RunSQL, SeparateDatabaseAndState, AddConstraint(CheckConstraint), and
 *   any operation this table does not know; except that RunSQL, SeparateDatabaseAndState and
 *   operations this table does not know are safe when the SQL they were seen to emit on this
 *   database is none at all, or only sets column defaults (e.g. django-add-default-value's
 *   AddDefaultValue). The inspection refuses any write they try, so "none" is trustworthy.
 *   RunPython is never executed at inspection: its SQL is never known, it stays unknown.
 * Reviewed: every operation of a migration the team vouches for (`fleet_reviewed = "why"` on
 *   the Migration class, or django-migration-linter's IgnoreMigration operation) is safe, and
 *   its description says "reviewed by the team: why" and what it would be otherwise.
 * Beyond the linter: every operation of an app with no applied migration yet, and every
 * operation on a model created earlier in the same plan, is safe: the version still serving
 * cannot be using those tables (this is what lets the first release, with Django's own
 * contenttypes/auth migrations, go out under the default "refuse" policy).
 */
import type { BreakingCode, MigrationOperation, MigrationReport, MigrationSafety } from "../ports";

/** One operation as `fleet_migration_plan` reports it. */
export interface PlannedOperation {
    app: string;
    migration: string;
    operation: string;
    description: string;
    model?: string | null;
    field?: FieldFacts | null;
    fromField?: FieldFacts | null;
    uniqueConstraint?: boolean;
    addsUniqueTogether?: boolean;
    /** No migration of this app is applied yet. */
    newApp?: boolean;
    /** The model is created earlier in the same plan. */
    newModel?: boolean;
    /** Number of SQL statements on this database; null when it could not be computed. */
    sqlCount?: number | null;
    /** Why sqlCount is null: not SQL (RunPython: never executed at inspection), or an error. */
    sqlUnknown?: string | null;
    /** Its SQL is known and each statement only sets a column's database default. */
    sqlOnlySetsDefaults?: boolean;
    sql?: string[] | null;
    /** AlterField: the field attributes that change and reach the database ("type": its class). */
    dbChanges?: string[] | null;
    /** AddField NOT NULL: its migration leaves the column with a database default before it commits. */
    dbDefaultWhenCommitted?: boolean;
    /** The team reviewed this operation's migration: the reason (see django/README.md). */
    reviewed?: string | null;
}

export interface FieldFacts {
    null: boolean;
    unique: boolean;
    primaryKey: boolean;
    hasDefault: boolean;
    manyToMany: boolean;
    dbIndex?: boolean;
    type?: string;
}

/** The JSON object `fleet_migration_plan` prints. */
export interface MigrationPlan {
    database: string;
    pending: string[];
    operations: PlannedOperation[];
    /** Applied migrations the version's code does not know (the database is ahead of it). */
    unknownApplied?: string[];
    /** No migration is applied at all: nothing can be serving from this database yet. */
    freshDatabase?: boolean;
}

const ALWAYS_SAFE = new Set([
    "CreateModel",
    "AddIndex",
    "RemoveIndex",
    "RemoveConstraint",
    "AlterIndexTogether",
    "AlterModelOptions",
    "AlterModelManagers",
]);

const ALWAYS_BREAKING: Record<string, BreakingCode> = {
    RemoveField: "DROP_COLUMN",
    DeleteModel: "DROP_TABLE",
    RenameField: "RENAME_COLUMN",
    RenameModel: "RENAME_TABLE",
    AlterModelTable: "RENAME_TABLE",
    AlterOrderWithRespectTo: "NOT_NULL",
};

const UNKNOWN = new Set(["RunPython", "RunSQL", "SeparateDatabaseAndState"]);

/** AlterField changes that old code copes with: NOT NULL dropped, a new Python-side default. */
const HARMLESS_ALTER = new Set(["null", "default"]);

export function classifyOperation(op: PlannedOperation, context: { freshDatabase?: boolean } = {}): { code: BreakingCode | null; safety: MigrationSafety } {
    const breaking = (code: BreakingCode) => ({ code, safety: "breaking" as const });
    const safe = { code: null, safety: "safe" as const };
    const unknown = { code: null, safety: "unknown" as const };

    if (op.reviewed) return safe;
    // Judged by what it was seen to emit: nothing, or only column defaults, cannot break old code.
    // Only from a django_fleet that says why SQL is unknown (sqlUnknown: null, not absent): older
    // ones ran RunPython at inspection and reported its SQL as 0 statements.
    const harmlessSql = op.sqlUnknown === null && op.operation !== "RunPython" && (op.sqlCount === 0 || op.sqlOnlySetsDefaults === true);
    // Data migrations can touch any table, not only their own app's: unknown, even in a new
    // app, unless nothing at all is applied yet (the very first release: nothing serves).
    if (UNKNOWN.has(op.operation) && !context.freshDatabase) return harmlessSql ? safe : unknown;
    if (op.newApp || op.newModel) return safe;
    if (ALWAYS_SAFE.has(op.operation)) return safe;
    if (op.operation in ALWAYS_BREAKING) return breaking(ALWAYS_BREAKING[op.operation]);
    if (UNKNOWN.has(op.operation)) return unknown;
    switch (op.operation) {
        case "AddField": {
            const f = op.field;
            if (!f) return unknown;
            if (f.manyToMany) return safe;
            if (f.unique) return breaking("ADD_UNIQUE");
            if (!f.null && !op.dbDefaultWhenCommitted) return breaking("NOT_NULL");
            return safe;
        }
        case "AlterField": {
            const f = op.field;
            const before = op.fromField;
            if (!f || !before) return breaking("ALTER_COLUMN");
            if (before.null && !f.null) return breaking("NOT_NULL");
            if (!before.unique && f.unique) return breaking("ADD_UNIQUE");
            if (op.sqlCount === 0) return safe; // verbose_name, help_text, choices, blank...
            // Only NOT NULL dropped (on SQLite by a table rebuild): old code's INSERTs still fit.
            if (f.null && op.dbChanges?.length && op.dbChanges.every((c) => HARMLESS_ALTER.has(c))) return safe;
            return breaking("ALTER_COLUMN");
        }
        case "AddConstraint":
            return op.uniqueConstraint ? breaking("ADD_UNIQUE") : unknown;
        case "AlterUniqueTogether":
            return op.addsUniqueTogether ? breaking("ADD_UNIQUE") : safe;
        default:
            return harmlessSql ? safe : unknown;
    }
}

const RANK = { none: 0, safe: 1, unknown: 2, breaking: 3 } as const;

/** "Add field x to a (reviewed by the team: why; unreviewed: NOT_NULL)". */
export function reviewedDescription(description: string, reason: string, unreviewed: { code: BreakingCode | null; safety: MigrationSafety }): string {
    return `${description} (reviewed by the team: ${reason}; unreviewed: ${unreviewed.code ?? unreviewed.safety.toUpperCase()})`;
}

/** The report for the provider: every operation classified, and the worst safety found. */
export function classifyPlan(plan: Pick<MigrationPlan, "operations" | "freshDatabase">): MigrationReport {
    const operations: MigrationOperation[] = plan.operations.map((op) => {
        const base = { app: op.app, migration: op.migration, operation: op.operation };
        const unreviewed = classifyOperation({ ...op, reviewed: null }, { freshDatabase: plan.freshDatabase });
        if (!op.reviewed) return { ...base, description: op.description, ...unreviewed };
        // Not hidden: the plan lists it, says who vouched and what it would be otherwise.
        return { ...base, description: reviewedDescription(op.description, op.reviewed, unreviewed), code: null, safety: "safe" as const };
    });
    let verdict: MigrationReport["verdict"] = "none";
    for (const op of operations) if (RANK[op.safety] > RANK[verdict]) verdict = op.safety;
    return { operations, verdict };
}

/** Parses the command's stdout: the last line that is a JSON object. */
export function parseMigrationPlan(stdout: string): MigrationPlan {
    const lines = stdout.split("\n").map((l) => l.trim()).filter((l) => l.startsWith("{"));
    if (lines.length === 0) throw new Error("fleet_migration_plan printed no JSON object");
    const parsed = JSON.parse(lines[lines.length - 1]) as MigrationPlan;
    if (!Array.isArray(parsed.operations)) throw new Error("fleet_migration_plan: no operations array");
    return parsed;
}

/** The operations that block a release under the "refuse" policy. */
export function blockingOperations(report: MigrationReport): MigrationOperation[] {
    return report.operations.filter((op) => op.safety !== "safe");
}

/** "catalog.0003_rename_name_title: RenameField (Rename field name on product to title) RENAME_COLUMN" per line. */
export function describeOperations(ops: MigrationOperation[]): string {
    return ops
        .map((op) => `  ${op.app}.${op.migration}: ${op.operation} (${op.description}) ${op.code ?? op.safety.toUpperCase()}`)
        .join("\n");
}
