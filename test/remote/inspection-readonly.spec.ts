/**
 * Inspecting a release changes nothing: `manage.py fleet_migration_plan --sql` over pending
 * RunPython, RunSQL, schema operations, a SeparateDatabaseAndState holding RunPython, a
 * non-atomic migration and a custom operation that writes with its own cursor leaves the
 * database as it was (schema, rows, django_migrations; SQLite: the file's bytes; PostgreSQL:
 * pg_dump, sequences included), and no RunPython function runs.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { classifyPlan } from "../../providers/release/remote/migrations";
import { startPostgres, PostgresService } from "../../testkit/services";
import { dbName, dumpDiff, LabDatabase, labEnv, python, snapshot, writeLabSettings } from "./migration-lab";

const MIGRATIONS: Record<string, string> = {
    "0001_initial.py": `from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel("Item", [("id", models.AutoField(primary_key=True)), ("name", models.CharField(max_length=20)), ("qty", models.IntegerField())]),
        migrations.CreateModel("Note", [("id", models.AutoField(primary_key=True)), ("text", models.TextField())]),
    ]
`,
    "0002_data.py": `import os

from django.db import migrations


def forwards(apps, schema_editor):
    open(os.environ["LAB_MARKER"] + ".0002", "w").close()
    apps.get_model("lab", "Item").objects.create(name="from RunPython", qty=7)
    apps.get_model("lab", "Item").objects.filter(name="seed").update(qty=99)


class Migration(migrations.Migration):
    dependencies = [("lab", "0001_initial")]
    operations = [
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RunSQL("INSERT INTO lab_note (text) VALUES ('from RunSQL')", "DELETE FROM lab_note"),
    ]
`,
    "0003_schema.py": `import os

from django.db import migrations, models
from django.db.migrations.operations.base import Operation


def backfill(apps, schema_editor):
    open(os.environ["LAB_MARKER"] + ".0003", "w").close()
    apps.get_model("lab", "Note").objects.create(text="from SeparateDatabaseAndState")


class WritesWithItsOwnCursor(Operation):
    """A third-party operation claiming to be SQL that writes behind the schema editor's back."""

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("INSERT INTO lab_note (text) VALUES ('from a cursor')")

    def describe(self):
        return "Writes with its own cursor"


class Migration(migrations.Migration):
    dependencies = [("lab", "0002_data")]
    operations = [
        migrations.AddField("item", "price", models.IntegerField(default=0)),
        migrations.RenameField("item", "name", "title"),
        migrations.AlterField("item", "qty", models.IntegerField(null=True)),
        migrations.AddIndex("item", models.Index(fields=["qty"], name="lab_item_qty")),
        migrations.CreateModel("Tag", [("id", models.AutoField(primary_key=True)), ("label", models.CharField(max_length=10))]),
        migrations.RunSQL("UPDATE lab_item SET qty = 0"),
        migrations.SeparateDatabaseAndState(database_operations=[migrations.RunPython(backfill)]),
        WritesWithItsOwnCursor(),
        migrations.DeleteModel("Note"),
    ]
`,
    "0004_not_atomic.py": `import os

from django.db import migrations


def forwards(apps, schema_editor):
    open(os.environ["LAB_MARKER"] + ".0004", "w").close()
    apps.get_model("lab", "Tag").objects.create(label="x")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("lab", "0003_schema")]
    operations = [
        migrations.RunSQL("CREATE TABLE lab_extra (id integer)"),
        migrations.RunPython(forwards),
    ]
`,
};

function writeProject(dir: string): void {
    writeLabSettings(dir);
    const app = path.join(dir, "lab");
    fs.mkdirSync(path.join(app, "migrations"), { recursive: true });
    fs.writeFileSync(path.join(app, "__init__.py"), "");
    fs.writeFileSync(path.join(app, "migrations", "__init__.py"), "");
    for (const [name, text] of Object.entries(MIGRATIONS)) fs.writeFileSync(path.join(app, "migrations", name), text);
}

const SEED = `
from django.db import connection
with connection.cursor() as c:
    c.execute("INSERT INTO lab_item (name, qty) VALUES ('seed', 1), ('other', 2)")
    c.execute("INSERT INTO lab_note (text) VALUES ('kept')")
`;

// The lab project is a bare Django project, not a fleet app: --skip-checks leaves out the
// django_fleet system checks the command runs first (they have their own tests in django/tests).
describe("inspection is read-only (fleet_migration_plan over pending RunPython, RunSQL and schema operations)", function () {
    this.timeout(120000);
    let work: string;
    let pg: PostgresService | undefined;

    before(async function () {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-inspect-"));
        writeProject(work);
        pg = await startPostgres();
    });
    after(function () {
        pg?.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    for (const engine of ["sqlite", "postgresql"] as const) {
        it(`leaves the database as it was and runs no data migration on ${engine === "sqlite" ? "SQLite" : "PostgreSQL"}`, function () {
            const db: LabDatabase = engine === "sqlite" ? { engine, file: path.join(work, "db.sqlite3") } : { engine, pg: pg! };
            const marker = path.join(work, `ran-${engine}`);
            const env = { ...labEnv(work, db, ["lab"]), LAB_MARKER: marker };
            python(work, env, ["-m", "django", "migrate", "lab", "0001", "-v", "0"]);
            python(work, env, ["-c", `import django; django.setup()\n${SEED}`]);

            const before = snapshot(db);
            const stdout = python(work, env, ["-m", "django", "fleet_migration_plan", "--sql", "--skip-checks"]);
            const after = snapshot(db);

            assert.equal(after.dump, before.dump, `${dbName(db)} changed:\n${dumpDiff(before.dump, after.dump)}`);
            assert.equal(after.digest, before.digest, `${dbName(db)}: the ${engine === "sqlite" ? "file's bytes" : "dump"} changed`);
            const ran = fs.readdirSync(work).filter((f) => f.startsWith(`ran-${engine}`));
            assert.deepEqual(ran, [], "a RunPython function ran during the inspection");
            assert.match(before.dump, /seed/, "the snapshot holds the rows");
            assert.match(before.dump, /0001_initial/, "the snapshot holds django_migrations");

            // The plan still reports everything, with the SQL it would run where there is SQL.
            const plan = JSON.parse(stdout.trim().split("\n").pop()!);
            assert.deepEqual(plan.pending, ["lab.0002_data", "lab.0003_schema", "lab.0004_not_atomic"]);
            const ops = plan.operations as Array<{ migration: string; operation: string; sqlCount: number | null; sqlUnknown: string | null; sql: string[] | null }>;
            assert.equal(ops.length, 13);
            for (const o of ops.filter((x) => x.operation === "RunPython")) {
                assert.equal(o.sqlCount, null);
                assert.match(o.sqlUnknown!, /cannot be written as SQL \(it runs Python code\): not executed at inspection/);
            }
            const separate = ops.find((o) => o.operation === "SeparateDatabaseAndState")!;
            assert.match(separate.sqlUnknown!, /^holds RunPython, which cannot be written as SQL/);
            const cursor = ops.find((o) => o.operation === "WritesWithItsOwnCursor")!;
            assert.equal(cursor.sqlCount, null);
            assert.match(cursor.sqlUnknown!, /^inspection is read-only: refused to execute "INSERT INTO lab_note/);
            const runSql = ops.filter((o) => o.operation === "RunSQL").map((o) => o.sql);
            assert.deepEqual(runSql, [["INSERT INTO lab_note (text) VALUES ('from RunSQL');"], ["UPDATE lab_item SET qty = 0;"], ["CREATE TABLE lab_extra (id integer);"]]);
            for (const o of ops.filter((x) => ["AddField", "RenameField", "AlterField", "AddIndex", "CreateModel", "DeleteModel"].includes(x.operation))) {
                assert.ok(o.sqlCount! >= 1, `${o.operation} has its SQL: ${JSON.stringify(o)}`);
            }

            // And the real migrate still finds all of it to do, and does it.
            python(work, env, ["-m", "django", "migrate", "lab", "-v", "0"]);
            assert.deepEqual(fs.readdirSync(work).filter((f) => f.startsWith(`ran-${engine}`)).sort(), [`ran-${engine}.0002`, `ran-${engine}.0003`, `ran-${engine}.0004`]);
        });
    }

    it("a migration marked fleet_reviewed is listed as reviewed by the team; a malformed marker stops the inspection, naming it", function () {
        const dir = path.join(work, "reviewed");
        fs.mkdirSync(path.join(dir, "rev", "migrations"), { recursive: true });
        writeLabSettings(dir);
        fs.writeFileSync(path.join(dir, "rev", "__init__.py"), "");
        fs.writeFileSync(path.join(dir, "rev", "migrations", "__init__.py"), "");
        fs.writeFileSync(
            path.join(dir, "rev", "migrations", "0001_initial.py"),
            `from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    operations = [migrations.CreateModel("A", [("id", models.AutoField(primary_key=True)), ("old", models.IntegerField(null=True))])]\n`,
        );
        fs.writeFileSync(
            path.join(dir, "rev", "migrations", "0002_drop_old.py"),
            `import json, os\n\nfrom django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    fleet_reviewed = json.loads(os.environ["LAB_REVIEWED"])\n    dependencies = [("rev", "0001_initial")]\n    operations = [migrations.RemoveField("a", "old")]\n`,
        );
        const db: LabDatabase = { engine: "sqlite", file: path.join(dir, "db.sqlite3") };
        const env = (marker: unknown) => ({ ...labEnv(dir, db, ["rev"]), LAB_REVIEWED: JSON.stringify(marker) });
        python(dir, env("x"), ["-m", "django", "migrate", "rev", "0001", "-v", "0"]);

        const plan = JSON.parse(python(dir, env("since v1.3 no code reads A.old"), ["-m", "django", "fleet_migration_plan", "--skip-checks"]).trim());
        const report = classifyPlan(plan);
        assert.equal(report.verdict, "safe");
        assert.deepEqual(report.operations.map((o) => [o.operation, o.safety, o.description]), [
            ["RemoveField", "safe", "Remove field old from a (reviewed by the team: since v1.3 no code reads A.old; unreviewed: DROP_COLUMN)"],
        ]);

        for (const bad of [true, "  ", 1]) {
            assert.throws(
                () => python(dir, env(bad), ["-m", "django", "fleet_migration_plan", "--skip-checks"]),
                new RegExp(`CommandError: rev\\.0002_drop_old: fleet_reviewed must be a non-empty string saying what the team reviewed, got ${bad === true ? "True" : bad === 1 ? "1" : "'  '"}`),
            );
        }
    });
});
