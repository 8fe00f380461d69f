/**
 * A throw-away Django project for migration specs (inspection-readonly, linter-suite): a
 * settings module that takes its apps and database from the environment, Debian's Django 3.2,
 * django_fleet from this repository, SQLite or the private PostgreSQL of testkit/services.
 *
 * Also the stand-ins for the two third-party packages the django-migration-linter test project
 * imports and Debian does not carry (see linterStandIns()).
 */
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { PostgresService } from "../../testkit/services";

export const PYTHON = "/usr/bin/python3";
export const DJANGO_HELPER_DIR = path.join(__dirname, "..", "..", "django");
const PG_BIN = "/usr/lib/postgresql/15/bin";

export type LabDatabase = { engine: "sqlite"; file: string } | { engine: "postgresql"; pg: PostgresService };

export const dbName = (db: LabDatabase) => (db.engine === "sqlite" ? "SQLite" : "PostgreSQL");

const SETTINGS = `import os
SECRET_KEY = "lab"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django_fleet"] + [a for a in os.environ.get("LAB_APPS", "").split(",") if a]
if os.environ["LAB_ENGINE"] == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["LAB_NAME"]}}
else:
    DATABASES = {"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": os.environ["LAB_NAME"], "HOST": "127.0.0.1",
        "PORT": os.environ["LAB_PORT"], "USER": os.environ["LAB_USER"], "PASSWORD": os.environ["LAB_PASSWORD"],
    }}
`;

/**
 * Writes lab_settings.py into dir (the project root, the only entry of PYTHONPATH) and links
 * this repository's django_fleet there (not its parent: django/tests would shadow a project's
 * own "tests" package).
 */
export function writeLabSettings(dir: string): void {
    fs.writeFileSync(path.join(dir, "lab_settings.py"), SETTINGS);
    fs.symlinkSync(path.join(DJANGO_HELPER_DIR, "django_fleet"), path.join(dir, "django_fleet"));
}

/** The environment for `python3 -m django ...` in the project at dir. */
export function labEnv(dir: string, db: LabDatabase, apps: string[]): NodeJS.ProcessEnv {
    const dbEnv =
        db.engine === "sqlite"
            ? { LAB_ENGINE: "sqlite", LAB_NAME: db.file }
            : { LAB_ENGINE: "postgresql", LAB_NAME: db.pg.database, LAB_PORT: String(db.pg.port), LAB_USER: db.pg.user, LAB_PASSWORD: db.pg.password };
    return {
        ...process.env,
        PYTHONPATH: dir,
        PYTHONDONTWRITEBYTECODE: "1",
        PYTHONNOUSERSITE: "1",
        DJANGO_SETTINGS_MODULE: "lab_settings",
        LAB_APPS: apps.join(","),
        ...dbEnv,
    };
}

/** Runs python3 with args in dir; throws with stderr on failure; returns stdout. */
export function python(dir: string, env: NodeJS.ProcessEnv, args: string[], timeoutMs = 60000): string {
    const r = spawnSync(PYTHON, args, { cwd: dir, env, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`python3 ${args.join(" ")} failed (${r.status ?? r.signal}):\n${r.stderr.slice(-4000)}`);
    return r.stdout;
}

/**
 * Everything the database holds, as text, plus a digest of its bytes where that is defined:
 * SQLite: sha256 of the file and its iterdump() (schema, rows, django_migrations);
 * PostgreSQL: pg_dump of the database (schema, rows, sequence values, django_migrations).
 */
export function snapshot(db: LabDatabase): { digest: string; dump: string } {
    if (db.engine === "sqlite") {
        const bytes = fs.readFileSync(db.file);
        const dump = execFileSync(PYTHON, ["-c", "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nprint('\\n'.join(c.iterdump()))", db.file], { encoding: "utf8" });
        return { digest: createHash("sha256").update(bytes).digest("hex"), dump };
    }
    const dump = execFileSync("runuser", ["-u", "postgres", "--", path.join(PG_BIN, "pg_dump"), "-h", db.pg.dir, "-p", String(db.pg.port), "-U", "postgres", "-d", db.pg.database], {
        encoding: "utf8",
        cwd: db.pg.dir,
    })
        .split("\n")
        .filter((l) => !/^\\(un)?restrict /.test(l)) // a random key pg_dump draws per run
        .join("\n");
    return { digest: createHash("sha256").update(dump).digest("hex"), dump };
}

/** Lines in b but not in a and in a but not in b, for an assertion message. */
export function dumpDiff(a: string, b: string): string {
    const la = new Set(a.split("\n"));
    const lb = new Set(b.split("\n"));
    const gone = [...la].filter((l) => !lb.has(l)).map((l) => `- ${l}`);
    const added = [...lb].filter((l) => !la.has(l)).map((l) => `+ ${l}`);
    return [...gone, ...added].slice(0, 40).join("\n");
}

/**
 * Stand-ins, written from their documented behaviour, for the packages the linter's test project
 * imports that Debian does not carry:
 *  - django_migration_linter.IgnoreMigration: a no-op marker operation that cannot be written as
 *    SQL (reduces_to_sql = False), as in django-migration-linter 6.0.0;
 *  - django_add_default_value.AddDefaultValue(model_name, name, value): on PostgreSQL and MySQL
 *    emits ALTER TABLE ... ALTER COLUMN ... SET DEFAULT <value> through the schema editor; on
 *    other databases (SQLite) does nothing, as the real package does.
 */
export function writeLinterStandIns(dir: string): void {
    fs.mkdirSync(path.join(dir, "django_migration_linter"), { recursive: true });
    fs.writeFileSync(
        path.join(dir, "django_migration_linter", "__init__.py"),
        `from django.db.migrations.operations.base import Operation


class IgnoreMigration(Operation):
    reversible = True
    reduces_to_sql = False
    elidable = True

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return "The Django migration linter will ignore this migration"
`,
    );
    fs.mkdirSync(path.join(dir, "django_add_default_value"), { recursive: true });
    fs.writeFileSync(
        path.join(dir, "django_add_default_value", "__init__.py"),
        `from django.db.migrations.operations.base import Operation


class AddDefaultValue(Operation):
    reversible = True

    def __init__(self, model_name, name, value):
        self.model_name, self.name, self.value = model_name, name, value

    def deconstruct(self):
        return (self.__class__.__name__, [], {"model_name": self.model_name, "name": self.name, "value": self.value})

    def describe(self):
        return "Add to field %s.%s the default value %s" % (self.model_name, self.name, self.value)

    def state_forwards(self, app_label, state):
        pass

    def _sql(self, app_label, schema_editor, state, action):
        vendor = schema_editor.connection.vendor
        if not (vendor.startswith("postgre") or vendor.startswith("mysql")):
            return None  # the real package warns and does nothing
        model = state.apps.get_model(app_label, self.model_name)
        q = "\`" if vendor.startswith("mysql") else '"'
        column = model._meta.get_field(self.name).column
        return "ALTER TABLE %s%s%s ALTER COLUMN %s%s%s %s;" % (q, model._meta.db_table, q, q, column, q, action)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        sql = self._sql(app_label, schema_editor, to_state, "SET DEFAULT '%s'" % self.value)
        if sql:
            schema_editor.execute(sql)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        sql = self._sql(app_label, schema_editor, to_state, "DROP DEFAULT")
        if sql:
            schema_editor.execute(sql)
`,
    );
}

/**
 * The django-migration-linter 6.0.0 test project (../shared/vendor beside the repository; from a
 * git worktree, beside its main checkout), or null when the tarball is absent.
 */
export const LINTER_TARBALL = "django-migration-linter-6.0.0-tests.tar.gz";
export function findLinterTarball(): string | null {
    const repoRoot = path.join(__dirname, "..", "..");
    const roots = [repoRoot];
    try {
        const common = execFileSync("git", ["rev-parse", "--path-format=absolute", "--git-common-dir"], { cwd: repoRoot, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
        roots.push(path.dirname(common));
    } catch {
        /* not a git checkout: the repository root only */
    }
    for (const root of roots) {
        const candidate = path.join(root, "..", "shared", "vendor", LINTER_TARBALL);
        if (fs.existsSync(candidate)) return candidate;
    }
    return null;
}

/**
 * One Django process for one database: for every app entry (LAB_SUITE_APPS, JSON) and every
 * migration of it, a fresh database (SQLite: a new file; PostgreSQL: schema public dropped and
 * made anew) with the migrations before it applied, then `fleet_migration_plan --sql`. Prints one
 * JSON line per migration ({entry, app, migration, plan}) or per app that does not load
 * ({entry, skipped}).
 */
export const SUITE_DRIVER = `import io, json, os
import django
django.setup()
from django.apps import apps as registry
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test.utils import override_settings


def fresh_database():
    if connection.vendor == "sqlite":
        connection.close()
        if os.path.exists(connection.settings_dict["NAME"]):
            os.remove(connection.settings_dict["NAME"])
    else:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


for entry in json.loads(os.environ["LAB_SUITE_APPS"]):
    try:
        with override_settings(INSTALLED_APPS=["django_fleet", entry]):
            label = [c.label for c in registry.get_app_configs() if c.name != "django_fleet"][0]
            graph = MigrationLoader(None, ignore_no_migrations=True).graph
            names = [n for leaf in graph.leaf_nodes(label) for a, n in graph.forwards_plan(leaf) if a == label]
            for index, name in enumerate(names):
                fresh_database()
                if index:
                    call_command("migrate", label, names[index - 1], verbosity=0)
                out = io.StringIO()
                call_command("fleet_migration_plan", "--sql", stdout=out)
                plan = json.loads(out.getvalue().strip().splitlines()[-1])
                print(json.dumps({"entry": entry, "app": label, "migration": name, "plan": plan}), flush=True)
    except Exception as e:
        print(json.dumps({"entry": entry, "skipped": "%s: %s" % (type(e).__name__, e)}), flush=True)
`;
