/** Migration classification with django-migration-linter's codes (pure). */
import { strict as assert } from "assert";
import { blockingOperations, classifyOperation, classifyPlan, describeOperations, parseMigrationPlan, PlannedOperation } from "../../providers/release/remote/migrations";

const field = (over: Partial<NonNullable<PlannedOperation["field"]>> = {}) => ({
    null: false,
    unique: false,
    primaryKey: false,
    hasDefault: false,
    manyToMany: false,
    ...over,
});
const op = (operation: string, over: Partial<PlannedOperation> = {}): PlannedOperation => ({
    app: "shop",
    migration: "0002_x",
    operation,
    description: `${operation} on product`,
    ...over,
});
const cls = (o: PlannedOperation) => {
    const r = classifyOperation(o);
    return `${r.safety}${r.code ? `:${r.code}` : ""}`;
};

describe("migration classification", function () {
    it("safe: nullable or many-to-many AddField, CreateModel, AddIndex and other state-only operations", function () {
        assert.equal(cls(op("AddField", { field: field({ null: true }) })), "safe");
        assert.equal(cls(op("AddField", { field: field({ manyToMany: true }) })), "safe");
        for (const name of ["CreateModel", "AddIndex", "RemoveIndex", "RemoveConstraint", "AlterIndexTogether", "AlterModelOptions", "AlterModelManagers"]) {
            assert.equal(cls(op(name)), "safe", name);
        }
    });

    it("breaking, with the linter's codes", function () {
        assert.equal(cls(op("AddField", { field: field() })), "breaking:NOT_NULL");
        assert.equal(cls(op("AddField", { field: field({ hasDefault: true }) })), "breaking:NOT_NULL", "a Python-side default does not help old code's INSERTs");
        assert.equal(cls(op("AddField", { field: field({ null: true, unique: true }) })), "breaking:ADD_UNIQUE");
        assert.equal(cls(op("RemoveField")), "breaking:DROP_COLUMN");
        assert.equal(cls(op("DeleteModel")), "breaking:DROP_TABLE");
        assert.equal(cls(op("RenameField")), "breaking:RENAME_COLUMN");
        assert.equal(cls(op("RenameModel")), "breaking:RENAME_TABLE");
        assert.equal(cls(op("AlterModelTable")), "breaking:RENAME_TABLE");
        assert.equal(cls(op("AlterOrderWithRespectTo")), "breaking:NOT_NULL");
        assert.equal(cls(op("AddConstraint", { uniqueConstraint: true })), "breaking:ADD_UNIQUE");
        assert.equal(cls(op("AlterUniqueTogether", { addsUniqueTogether: true })), "breaking:ADD_UNIQUE");
    });

    it("AlterField: NOT_NULL, ADD_UNIQUE, ALTER_COLUMN, or safe when it emits no SQL", function () {
        assert.equal(cls(op("AlterField", { fromField: field({ null: true }), field: field(), sqlCount: 2 })), "breaking:NOT_NULL");
        assert.equal(cls(op("AlterField", { fromField: field(), field: field({ unique: true }), sqlCount: 1 })), "breaking:ADD_UNIQUE");
        assert.equal(cls(op("AlterField", { fromField: field(), field: field(), sqlCount: 1 })), "breaking:ALTER_COLUMN");
        assert.equal(cls(op("AlterField", { fromField: field(), field: field(), sqlCount: null })), "breaking:ALTER_COLUMN");
        assert.equal(cls(op("AlterField", { field: field(), sqlCount: 0 })), "breaking:ALTER_COLUMN", "without the old field nothing is known");
        assert.equal(cls(op("AlterField", { fromField: field(), field: field(), sqlCount: 0 })), "safe");
    });

    it("AlterField that only drops NOT NULL (or changes the Python-side default) is safe, on PostgreSQL and on SQLite's rebuild", function () {
        const relax = (dbChanges: string[], sqlCount = 1) => cls(op("AlterField", { fromField: field(), field: field({ null: true }), dbChanges, sqlCount }));
        assert.equal(relax(["null"]), "safe");
        assert.equal(relax(["null"], 4), "safe", "SQLite rebuilds the table");
        assert.equal(relax(["default", "null"]), "safe");
        assert.equal(relax(["max_length", "null"]), "breaking:ALTER_COLUMN", "the type changes too");
        assert.equal(relax(["null", "type"]), "breaking:ALTER_COLUMN");
        assert.equal(relax([]), "breaking:ALTER_COLUMN", "SQL without a known change");
        assert.equal(cls(op("AlterField", { fromField: field(), field: field({ null: true }), sqlCount: 1 })), "breaking:ALTER_COLUMN", "no dbChanges: unknown change");
        assert.equal(cls(op("AlterField", { fromField: field({ null: true }), field: field(), dbChanges: ["null"], sqlCount: 2 })), "breaking:NOT_NULL", "the other way round");
    });

    it("AddField NOT NULL is safe only when its migration leaves a database default before it commits", function () {
        assert.equal(cls(op("AddField", { field: field({ hasDefault: true }), dbDefaultWhenCommitted: true })), "safe");
        assert.equal(cls(op("AddField", { field: field({ hasDefault: true }), dbDefaultWhenCommitted: false })), "breaking:NOT_NULL");
        assert.equal(cls(op("AddField", { field: field({ unique: true }), dbDefaultWhenCommitted: true })), "breaking:ADD_UNIQUE");
    });

    it("a migration reviewed by the team is safe and says so, with what it would be otherwise", function () {
        assert.equal(cls(op("AddField", { field: field(), reviewed: "backfilled first" })), "safe");
        const report = classifyPlan({
            operations: [
                op("IgnoreMigration", { description: "The Django migration linter will ignore this migration", reviewed: "django-migration-linter IgnoreMigration" }),
                op("AddField", { description: "Add field n to b", field: field(), reviewed: "django-migration-linter IgnoreMigration" }),
                op("RunPython", { description: "Raw Python operation", reviewed: "old code never reads it" }),
            ],
        });
        assert.equal(report.verdict, "safe");
        assert.deepEqual(
            report.operations.map((o) => [o.safety, o.code, o.description]),
            [
                ["safe", null, "The Django migration linter will ignore this migration (reviewed by the team: django-migration-linter IgnoreMigration; unreviewed: UNKNOWN)"],
                ["safe", null, "Add field n to b (reviewed by the team: django-migration-linter IgnoreMigration; unreviewed: NOT_NULL)"],
                ["safe", null, "Raw Python operation (reviewed by the team: old code never reads it; unreviewed: UNKNOWN)"],
            ],
        );
    });

    it("unknown: RunPython, RunSQL, SeparateDatabaseAndState, check constraints, anything new", function () {
        for (const name of ["RunPython", "RunSQL", "SeparateDatabaseAndState", "SomeFutureOperation"]) assert.equal(cls(op(name)), "unknown", name);
        assert.equal(cls(op("AddConstraint", { uniqueConstraint: false })), "unknown");
        assert.equal(cls(op("AddField")), "unknown", "AddField without field facts");
    });

    it("RunSQL, SeparateDatabaseAndState and unknown operations seen to emit no SQL, or only column defaults, are safe; RunPython never", function () {
        const seen = (sqlCount: number | null, sqlOnlySetsDefaults = false) => ({ sqlCount, sqlOnlySetsDefaults, sqlUnknown: sqlCount === null ? "not SQL" : null });
        for (const name of ["RunSQL", "SeparateDatabaseAndState", "AddDefaultValue"]) {
            assert.equal(cls(op(name, seen(0))), "safe", `${name} emitting nothing`);
            assert.equal(cls(op(name, seen(1, true))), "safe", `${name} only setting a default`);
            assert.equal(cls(op(name, seen(1))), "unknown", `${name} emitting other SQL`);
            assert.equal(cls(op(name, seen(null))), "unknown", `${name} whose SQL is not known`);
            assert.equal(cls(op(name, { sqlCount: 0 })), "unknown", `${name} from a django_fleet that ran RunPython at inspection (no sqlUnknown)`);
        }
        assert.equal(cls(op("RunPython", { sqlCount: 0, sqlUnknown: null })), "unknown");
        assert.equal(cls(op("AddConstraint", seen(0))), "unknown", "a check constraint is judged by its class");
    });

    it("operations on an app or model the serving version cannot use yet are safe", function () {
        assert.equal(cls(op("RemoveField", { newApp: true })), "safe");
        assert.equal(cls(op("AlterField", { newModel: true, field: field() })), "safe");
    });

    it("data migrations stay unknown in a new app (they can touch any table), except on a fresh database", function () {
        for (const name of ["RunPython", "RunSQL", "SeparateDatabaseAndState"]) {
            assert.equal(cls(op(name, { newApp: true })), "unknown", name);
            assert.equal(classifyOperation(op(name, { newApp: true }), { freshDatabase: true }).safety, "safe", name);
            assert.equal(classifyOperation(op(name), { freshDatabase: false }).safety, "unknown", name);
        }
        assert.equal(classifyPlan({ operations: [op("RunSQL", { newApp: true })], freshDatabase: true }).verdict, "safe");
        assert.equal(classifyPlan({ operations: [op("RunSQL", { newApp: true })] }).verdict, "unknown");
    });

    it("classifyPlan keeps the order and gives the worst verdict", function () {
        assert.deepEqual(classifyPlan({ operations: [] }), { operations: [], verdict: "none" });
        assert.equal(classifyPlan({ operations: [op("CreateModel")] }).verdict, "safe");
        assert.equal(classifyPlan({ operations: [op("CreateModel"), op("RunSQL")] }).verdict, "unknown");
        const report = classifyPlan({ operations: [op("RunSQL"), op("RenameField", { description: "Rename field name on product to title" }), op("AddIndex")] });
        assert.equal(report.verdict, "breaking");
        assert.deepEqual(report.operations[1], {
            app: "shop",
            migration: "0002_x",
            operation: "RenameField",
            description: "Rename field name on product to title",
            code: "RENAME_COLUMN",
            safety: "breaking",
        });
        assert.deepEqual(blockingOperations(report).map((o) => o.operation), ["RunSQL", "RenameField"]);
        assert.equal(
            describeOperations(blockingOperations(report)),
            "  shop.0002_x: RunSQL (RunSQL on product) UNKNOWN\n  shop.0002_x: RenameField (Rename field name on product to title) RENAME_COLUMN",
        );
    });

    it("parseMigrationPlan takes the last JSON line of stdout and rejects anything else", function () {
        const plan = { database: "default", pending: ["shop.0002_x"], operations: [op("CreateModel")] };
        assert.deepEqual(parseMigrationPlan(`System check identified some issues:\n${JSON.stringify(plan)}\n`), plan);
        assert.throws(() => parseMigrationPlan("Traceback (most recent call last):\n"), /printed no JSON object/);
        assert.throws(() => parseMigrationPlan(`{"database": "default"}`), /no operations array/);
    });
});
