/**
 * The classifier measured against django-migration-linter 6.0.0's own test suite: every app of
 * its test project that loads on the installed Django, on SQLite and PostgreSQL. For each
 * migration a fresh database with the migrations before it applied, `fleet_migration_plan --sql`,
 * and the provider's classification of that migration's operations; per app, compared with the
 * verdict tests/functional/test_migration_linter.py expects on that database (read from the file).
 *
 * Fails on any dangerous miss (the linter flags the app, we find nothing breaking), on any
 * disagreement not listed in DELIBERATE with its reason, and on any app that does not load
 * unless SKIPPED names why.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { classifyPlan, MigrationPlan } from "../../providers/release/remote/migrations";
import { startPostgres, PostgresService } from "../../testkit/services";
import { findLinterTarball, LabDatabase, labEnv, LINTER_TARBALL, python, SUITE_DRIVER, writeLabSettings, writeLinterStandIns } from "./migration-lab";

type Engine = "sqlite" | "postgresql";
type Verdict = "errors" | "no errors";

/** Apps that do not load on Django 3.2, and why; the spec checks the load error says so. */
const SKIPPED: Record<string, { reason: string; error: RegExp }> = {
    app_add_not_null_column_followed_by_db_default: { reason: "needs Django 5's Field(db_default=...)", error: /db_default/ },
    app_add_not_null_column_with_null_db_default: { reason: "needs Django 5's Field(db_default=...)", error: /db_default/ },
};

/** Where we differ from the linter on purpose: app -> database -> why. */
const DELIBERATE: Record<string, Partial<Record<Engine, string>>> = {
    app_alter_column: {
        sqlite:
            "stricter: IntegerField -> CharField changes the column's type; on SQLite Django does it by rebuilding the table, " +
            "which the linter's SQLite analysis does not look into; the old code still reads and writes integers",
    },
    app_make_not_null_with_lib_default: {
        postgresql:
            "stricter: the column stays in the old code's model, which sends it in every INSERT (NULL when unset); " +
            "a database default never applies to an explicit NULL, so NOT NULL breaks the old code whatever the default",
    },
};

/**
 * The linter check each app it flags exercises (its issue code; the app's name says which): where
 * the linter flags an app we must flag it with this code, not only as "breaking".
 */
const LINTER_CODE: Record<string, string> = {
    app_add_not_null_column: "NOT_NULL",
    app_add_not_null_column_followed_by_default: "NOT_NULL",
    app_make_not_null_with_django_default: "NOT_NULL",
    app_make_not_null_with_lib_default: "NOT_NULL",
    app_drop_column: "DROP_COLUMN",
    app_drop_table: "DROP_TABLE",
    app_rename_column: "RENAME_COLUMN",
    app_rename_table: "RENAME_TABLE",
    app_alter_column: "ALTER_COLUMN",
    app_unique_together: "ADD_UNIQUE",
};

/** Apps test_migration_linter.py has no verdict for, where another of its tests says something. */
const NO_VERDICT_NOTES: Record<string, string> = {
    app_data_migrations:
        "test_data_migrations.py expects warnings (RunPython reversibility, argument names), not errors; we call RunPython " +
        "unknown (stopped under the default refuse policy): the inspection never runs Python code, so it cannot judge it",
};

/** Fixture constants (tests/fixtures.py is not in the tarball) that are not "APP_" + the name. */
const FIXTURE_APP: Record<string, string | null> = {
    DROP_UNIQUE_TOGETHER: "app_unique_together",
    CUSTOM_APP_LABEL: "my_custom_name",
    CUSTOM_APP_NAME_DIRECTORY: null, // a folder name, not an app label: the linter lints nothing there
};

/** app -> database -> the verdict tests/functional/test_migration_linter.py expects on Django < 5. */
export function linterVerdicts(source: string): Record<string, Partial<Record<Engine, Verdict>>> {
    const classes: Record<string, Record<string, Array<{ app: string; verdict: Verdict }>>> = {};
    for (const block of source.split(/^class /m).slice(1)) {
        const name = /^(\w+)/.exec(block)![1];
        const methods: Record<string, Array<{ app: string; verdict: Verdict }>> = {};
        // Methods at class indentation, each with the decorators above it.
        const chunks: Array<{ decorators: string[]; name: string | null; body: string[] }> = [{ decorators: [], name: null, body: [] }];
        for (const line of block.split("\n")) {
            const last = chunks[chunks.length - 1];
            if (/^    @/.test(line)) {
                if (last.name) chunks.push({ decorators: [line], name: null, body: [] });
                else last.decorators.push(line);
            } else if (/^    def /.test(line)) {
                const name = /^    def (\w+)/.exec(line)![1];
                if (last.name) chunks.push({ decorators: [], name, body: [] });
                else last.name = name;
            } else last.body.push(line);
        }
        for (const chunk of chunks) {
            if (!chunk.name?.startsWith("test_")) continue;
            // An override that does not run on Django 3.2 still hides the base class's method.
            if (chunk.decorators.some((d) => /skipIf\(django\.VERSION\[0\] < 5/.test(d))) {
                methods[chunk.name] = [];
                continue;
            }
            const found: Array<{ app: string; verdict: Verdict }> = [];
            let fixture: string | null = null;
            for (const line of chunk.body) {
                const f = /fixtures\.(\w+)/.exec(line);
                if (f) fixture = f[1];
                const verdict: Verdict | null = /_test_linter_finds_errors\(|assertTrue\(linter\.has_errors\)/.test(line)
                    ? "errors"
                    : /_test_linter_finds_no_errors\(|assertFalse\(linter\.has_errors\)/.test(line)
                      ? "no errors"
                      : null;
                if (verdict && fixture) {
                    const app = fixture in FIXTURE_APP ? FIXTURE_APP[fixture] : `app_${fixture.toLowerCase()}`;
                    if (app) found.push({ app, verdict });
                }
            }
            methods[chunk.name] = found;
        }
        classes[name] = methods;
    }
    const base = classes.BaseBackwardCompatibilityDetection;
    assert.ok(base, "no BaseBackwardCompatibilityDetection in the linter's test file");
    const out: Record<string, Partial<Record<Engine, Verdict>>> = {};
    for (const [engine, cls] of [["sqlite", "SqliteBackwardCompatibilityDetectionTestCase"], ["postgresql", "PostgresqlBackwardCompatibilityDetectionTestCase"]] as const) {
        assert.ok(classes[cls], `no ${cls} in the linter's test file`);
        for (const found of Object.values({ ...base, ...classes[cls] })) for (const { app, verdict } of found) (out[app] ??= {})[engine] = verdict;
    }
    return out;
}

interface Row {
    app: string;
    migrations: string[]; // "0002_x: NOT_NULL" ...
    codes: Set<string>;
    ours: "breaking" | "unknown" | "safe";
    linter?: Verdict;
    outcome: "agree" | "DANGEROUS MISS" | "deliberate" | "UNEXPECTED" | "no verdict";
    note?: string;
}

describe("the classifier against django-migration-linter 6.0.0's test suite", function () {
    this.timeout(180000);
    const tarball = findLinterTarball();
    let work: string;
    let project: string;
    let pg: PostgresService | undefined;
    let entries: string[];
    let verdicts: ReturnType<typeof linterVerdicts>;
    const tables: Partial<Record<Engine, Row[]>> = {};

    before(async function () {
        if (!tarball) {
            // Named, not silent: CI has ../shared beside its clone.
            this.test!.parent!.title += ` [SKIPPED: ${LINTER_TARBALL} not found in ../shared/vendor]`;
            this.skip();
        }
        work = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-linter-"));
        execFileSync("tar", ["-xzf", tarball!, "-C", work]);
        project = path.join(work, "django-migration-linter-6.0.0");
        writeLabSettings(project);
        writeLinterStandIns(project);
        verdicts = linterVerdicts(fs.readFileSync(path.join(project, "tests", "functional", "test_migration_linter.py"), "utf8"));
        // Every app of the project: its settings' entries, and the folders it adds only on Django 5
        // or for other tests.
        const settings = fs.readFileSync(path.join(project, "tests", "test_project", "settings.py"), "utf8");
        const folders = fs
            .readdirSync(path.join(project, "tests", "test_project"))
            .filter((f) => fs.existsSync(path.join(project, "tests", "test_project", f, "migrations")));
        const listed = [...settings.matchAll(/"(tests\.test_project\.[\w.]+)"/g)].map((m) => m[1]).filter((e) => folders.includes(e.split(".")[2]));
        entries = [...new Set([...listed, ...folders.filter((f) => !listed.some((e) => e.startsWith(`tests.test_project.${f}`))).map((f) => `tests.test_project.${f}`)])];
        assert.ok(entries.length >= 20, `only ${entries.length} apps found`);
        pg = await startPostgres();
    });
    after(function () {
        pg?.stop();
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    for (const engine of ["sqlite", "postgresql"] as const) {
        it(`${engine === "sqlite" ? "SQLite" : "PostgreSQL"}: no dangerous miss, every disagreement named with its reason`, function () {
            const db: LabDatabase = engine === "sqlite" ? { engine, file: path.join(work, "suite.sqlite3") } : { engine, pg: pg! };
            const env = { ...labEnv(project, db, []), LAB_SUITE_APPS: JSON.stringify(entries) };
            const lines = python(project, env, ["-c", SUITE_DRIVER], 150000)
                .split("\n")
                .filter((l) => l.startsWith("{"))
                .map((l) => JSON.parse(l) as { entry: string; app?: string; migration?: string; plan?: MigrationPlan; skipped?: string });

            const skipped = lines.filter((l) => l.skipped);
            for (const s of skipped) {
                const folder = s.entry.split(".")[2];
                const known = SKIPPED[folder];
                assert.ok(known, `${s.entry} does not load and is not a named skip: ${s.skipped}`);
                assert.match(s.skipped!, known.error, `${folder} does not load for another reason than "${known.reason}": ${s.skipped}`);
            }
            assert.deepEqual(skipped.map((s) => s.entry.split(".")[2]).sort(), Object.keys(SKIPPED).sort(), "the named skips are the apps that do not load");

            const byApp = new Map<string, string[]>();
            const worst = new Map<string, Row["ours"]>();
            const codes = new Map<string, Set<string>>();
            const rank = { safe: 0, unknown: 1, breaking: 2 } as const;
            for (const l of lines.filter((x) => x.plan)) {
                const ops = l.plan!.operations.filter((o) => o.app === l.app && o.migration === l.migration);
                assert.ok(ops.length > 0, `${l.app}.${l.migration}: the plan has none of its operations`);
                const report = classifyPlan({ operations: ops, freshDatabase: l.plan!.freshDatabase });
                const verdict = report.verdict === "none" ? "safe" : report.verdict;
                const what = report.operations.map((o) => o.code ?? (o.description.includes("reviewed by the team") ? "reviewed" : o.safety)).join("+");
                byApp.set(l.app!, [...(byApp.get(l.app!) ?? []), `${l.migration}: ${what}`]);
                for (const o of report.operations) if (o.code) codes.set(l.app!, new Set([...(codes.get(l.app!) ?? []), o.code]));
                if (rank[verdict] >= rank[worst.get(l.app!) ?? "safe"]) worst.set(l.app!, verdict);
            }
            for (const app of Object.keys(verdicts)) {
                if (verdicts[app][engine] && !(app in SKIPPED)) assert.ok(byApp.has(app), `the linter's test file has a verdict for ${app}, which was not measured`);
            }

            const rows: Row[] = [...byApp.keys()].sort().map((app) => {
                const ours = worst.get(app)!;
                const linter = verdicts[app]?.[engine];
                const flagged = ours !== "safe";
                const deliberate = DELIBERATE[app]?.[engine];
                let outcome: Row["outcome"];
                if (!linter) outcome = "no verdict";
                else if (linter === "errors" && (ours !== "breaking" || !codes.get(app)?.has(LINTER_CODE[app]))) outcome = "DANGEROUS MISS";
                else if ((linter === "errors") === flagged) outcome = "agree";
                else outcome = deliberate ? "deliberate" : "UNEXPECTED";
                const note = outcome === "deliberate" ? deliberate : outcome === "no verdict" ? NO_VERDICT_NOTES[app] : undefined;
                return { app, migrations: byApp.get(app)!, codes: codes.get(app) ?? new Set(), ours, linter, outcome, note };
            });
            tables[engine] = rows;
            const text = rows.map((r) => `  ${r.app.padEnd(46)} linter: ${(r.linter ?? "-").padEnd(9)} ours: ${r.ours.padEnd(8)} ${r.outcome.padEnd(10)} ${r.migrations.join(", ")}${r.note ? `\n      ${r.outcome === "deliberate" ? "why" : "note"}: ${r.note}` : ""}`).join("\n");
            const skips = Object.entries(SKIPPED).map(([app, s]) => `  ${app.padEnd(46)} skipped: ${s.reason}`).join("\n");
            console.log(`\n  ${engine === "sqlite" ? "SQLite" : "PostgreSQL"} (Django 3.2):\n${text}\n${skips}`);

            for (const r of rows.filter((x) => x.linter === "errors")) assert.ok(LINTER_CODE[r.app], `no linter code named for ${r.app}, which the linter flags`);
            assert.deepEqual(
                rows.filter((r) => r.outcome === "DANGEROUS MISS").map((r) => `${r.app} (linter: ${LINTER_CODE[r.app]}; ours: ${[...r.codes].join(", ") || r.ours})`),
                [],
                "dangerous misses: the linter flags these, we let them through or flag them for something else",
            );
            assert.deepEqual(rows.filter((r) => r.outcome === "UNEXPECTED").map((r) => `${r.app} (linter: ${r.linter}, ours: ${r.ours})`), [], "disagreements without a stated reason");
            const stale = Object.entries(DELIBERATE)
                .filter(([app, why]) => why[engine] && rows.find((r) => r.app === app)?.outcome !== "deliberate")
                .map(([app]) => app);
            assert.deepEqual(stale, [], "DELIBERATE names a disagreement that no longer happens");
            const compared = rows.filter((r) => r.linter);
            assert.ok(compared.length >= 15, `only ${compared.length} apps compared`);
            this.test!.title += ` (${compared.filter((r) => r.outcome === "agree").length}/${compared.length} apps agree, ${compared.filter((r) => r.outcome === "deliberate").length} deliberate)`;
        });
    }
});
