/**
 * The rehearsal's pure parts: the traffic report, the page parsing, the CLI arguments, the
 * prerequisite messages, the HAProxy state mapping and configuration.
 */
import * as assert from "assert";
import { execFileSync, spawn } from "child_process";
import { haproxyConfig, mapState, DEFAULT_HEALTH_CHECK } from "../../rehearsal/local/haproxy";
import { killMentioning, processesMentioning } from "../../rehearsal/local/procs";
import { parseArgs, isHeadline } from "../../rehearsal/cli";
import { formatMissing, missingPrerequisites } from "../../rehearsal/prereqs";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { buildExampleRepo } from "../../example/build-repo";
import { checkVersions, settingsModuleOf, sqliteSettings, stripOutcome } from "../../rehearsal/rehearsal";
import { hostFor } from "../../rehearsal/app";
import { diagnose, formatDiagnosis, StepOutputs } from "../../rehearsal/diagnosis";
import { hashedAssets, summarize, versionOf, RequestRecord } from "../../rehearsal/traffic";
import { ReleaseTimeline } from "../../rehearsal/timeline";
import { appEnvironment, prepareInspection } from "../../rehearsal/environment";
import { DEFAULT_INSTALL_COMMAND } from "../../rehearsal/options";
import { hasSystemPip, venvArgsFor } from "../../rehearsal/venv";

describe("rehearsal units", () => {
    describe("release venvs", () => {
        it("no pip of its own only for `venv/bin/python -m pip` with Debian's pip; otherwise ensurepip as before", () => {
            const system = "--system-site-packages";
            assert.strictEqual(venvArgsFor(DEFAULT_INSTALL_COMMAND, true), `${system} --without-pip`);
            assert.strictEqual(venvArgsFor(DEFAULT_INSTALL_COMMAND, false), system);
            assert.strictEqual(venvArgsFor("venv/bin/pip install -q -e .", true), system);
            assert.strictEqual(venvArgsFor("venv/bin/python -m pip install -r a.txt && venv/bin/pip3 install b", true), system);
            assert.strictEqual(venvArgsFor("make deps", true), system, "a command that may need the venv's pip gets it");
            assert.strictEqual(hasSystemPip("/nonexistent/python3"), false);
        });
    });

    describe("release timeline", () => {
        it("reads steps, waves, the maintenance page and the timeline from the executor's lines, timed from the release's start", () => {
            const t = new ReleaseTimeline(1_000_000);
            t.add("[release v2] step lock done in 0 s", 1_000_400);
            t.add("[release v2] maintenance page on (migrations)", 1_001_000);
            t.add("[release v2] step remote done in 12 s", 1_012_300);
            t.add("      detail line, kept out of the timeline", 1_012_400);
            t.add("ramp wave 1/2 done", 1_020_000);
            t.add("ramp wave 2/2 done", 1_031_050);
            assert.deepStrictEqual(t.steps, [
                { step: "lock", atS: 0.4, durationS: 0.4 },
                { step: "remote", atS: 12.3, durationS: 11.9 },
                { step: "ramp wave 1/2", atS: 20, durationS: 7.7 },
                { step: "ramp wave 2/2", atS: 31.1, durationS: 11.1 },
            ]);
            assert.strictEqual(t.maintenancePageUp, true);
            assert.deepStrictEqual(t.entries.map((e) => e.line), ["step lock done in 0 s", "maintenance page on (migrations)", "step remote done in 12 s", "ramp wave 1/2 done", "ramp wave 2/2 done"]);
            assert.strictEqual(new ReleaseTimeline(0).maintenancePageUp, false);
        });
    });

    describe("environment", () => {
        it("writes the env file's contract, the database's settings with PostgreSQL, and lets the caller's variables win", () => {
            const pg = { host: "127.0.0.1", port: 5433, database: "app", user: "u", password: "p w" };
            assert.deepStrictEqual(appEnvironment({ staticRoot: "/w/static", wsgi: "shop.wsgi:application", installCommand: DEFAULT_INSTALL_COMMAND, settingsModule: "shop.settings", postgres: pg, extra: { ALLOWED_HOSTS: "shop.test" } }), {
                STATIC_ROOT: "/w/static",
                STATIC_URL: "/static/",
                ALLOWED_HOSTS: "shop.test",
                SECRET_KEY: "rehearsal-only-not-secret",
                WSGI_APPLICATION: "shop.wsgi:application",
                DATABASE_URL: "postgres://u:p%20w@127.0.0.1:5433/app",
                DATABASE_HOST: "127.0.0.1",
                DATABASE_PORT: "5433",
                DATABASE_NAME: "app",
                DATABASE_USER: "u",
                DATABASE_PASSWORD: "p w",
                DJANGO_SETTINGS_MODULE: "shop.settings",
            });
            const sqlite = appEnvironment({ staticRoot: "/w/static", wsgi: "a.wsgi:application", installCommand: "uv sync", settingsModule: "fleet_rehearsal_settings" });
            assert.strictEqual(sqlite.FLEET_INSTALL_COMMAND, "uv sync");
            assert.ok(!("DATABASE_URL" in sqlite));
        });

        it("refuses, before the run starts, a work directory inside one the inspection account (nobody) cannot enter, naming it", () => {
            const closed = fs.mkdtempSync(path.join(os.tmpdir(), "closed-")); // mkdtemp: 0700
            try {
                const work = path.join(closed, "rehearsal");
                fs.mkdirSync(work);
                assert.throws(() => prepareInspection(work, { SECRET_KEY: "x" }), (e: Error) => e.message.includes(`is inside ${closed} (mode 0700), which other users cannot enter`) && e.message.includes(`chmod o+x ${closed}`));
                assert.ok(!fs.existsSync(path.join(work, "inspect")), "nothing prepared");
                fs.chmodSync(closed, 0o711);
                const { inspectDir, inspectEnvFile } = prepareInspection(work, { SECRET_KEY: "app-secret", STATIC_ROOT: "/w/static" });
                assert.strictEqual(fs.statSync(inspectDir).uid, 65534);
                assert.strictEqual(fs.readFileSync(inspectEnvFile, "utf8"), "SECRET_KEY=rehearsal-inspection-only\nSTATIC_ROOT=/w/static\n");
            } finally {
                fs.rmSync(closed, { recursive: true, force: true });
            }
        });
    });

    describe("traffic", () => {
        it("finds the hashed assets a page references, under STATIC_URL only", () => {
            const html = `<link rel="stylesheet" href="/static/css/site.959f852a0718.css">
<script src="/static/js/app.6be8e0070660.js" defer></script>
<link rel="icon" href="/static/favicon.ico"><img src='/media/a.1234567890ab.png'>
<script src="/static/js/app.6be8e0070660.js?x=1"></script>`;
            assert.deepStrictEqual(hashedAssets(html), ["/static/css/site.959f852a0718.css", "/static/js/app.6be8e0070660.js"]);
        });

        it("reads the version from the X-Release header of a 2xx answer only, never from a page or an error", () => {
            assert.strictEqual(versionOf(200, { "x-release": "v9" }), "v9");
            assert.strictEqual(versionOf(204, { "x-release": "v9" }), "v9");
            assert.strictEqual(versionOf(400, { "x-release": "v9" }), undefined, "Django's Bad Request (400) is a failure, not a version");
            assert.strictEqual(versionOf(503, { "x-release": "v9" }), undefined);
            assert.strictEqual(versionOf(200, {}), undefined, "no header: no version (the page title is not read)");
        });

        it("reports failures, static 404s, percentiles and versions over time", () => {
            const rec = (t: number, kind: "page" | "asset", status: number, ms: number, version?: string): RequestRecord => ({ t, kind, path: kind === "page" ? "/" : "/static/a.0123456789ab.js", status, ms, version });
            const records = [
                rec(100, "page", 200, 10, "v1"),
                rec(120, "asset", 200, 2),
                rec(5100, "page", 200, 20, "v1"),
                rec(5200, "page", 200, 30, "v2"),
                rec(5300, "asset", 404, 3),
                rec(9000, "page", 0, 5000),
                rec(9100, "page", 502, 40),
                { ...rec(9200, "page", 503, 1), maintenance: true },
            ];
            const r = summarize(records, 10_000, 5, true);
            assert.deepStrictEqual(
                { requests: r.requests, pages: r.pages, assets: r.assets, non2xx: r.non2xx, maintenance: r.maintenance, static404: r.static404, connectionErrors: r.connectionErrors, failed: r.failed },
                { requests: 8, pages: 6, assets: 2, non2xx: 2, maintenance: 1, static404: 1, connectionErrors: 1, failed: 3 },
            );
            assert.deepStrictEqual([r.p50Ms, r.p99Ms, r.maxMs], [10, 40, 40], "connection errors are not latencies");
            assert.deepStrictEqual(r.versions, { v1: 2, v2: 1 });
            assert.deepStrictEqual(r.versionSpans, { v1: { firstS: 0.1, lastS: 5.1 }, v2: { firstS: 5.2, lastS: 5.2 } });
            assert.deepStrictEqual(r.timeline, [
                { fromS: 0, toS: 5, versions: { v1: 1 } },
                { fromS: 5, toS: 10, versions: { v1: 1, v2: 1 } },
            ]);
            assert.strictEqual(r.failures.length, 3);
        });

        it("counts the maintenance page as failed unless the release showed it on purpose", () => {
            const records: RequestRecord[] = [
                { t: 100, kind: "page", path: "/", status: 200, ms: 5, version: "v1" },
                { t: 200, kind: "page", path: "/", status: 503, ms: 1, maintenance: true },
                { t: 300, kind: "page", path: "/", status: 503, ms: 1, maintenance: true },
            ];
            const pick = (r: ReturnType<typeof summarize>) => ({ non2xx: r.non2xx, maintenance: r.maintenance, maintenanceAllowed: r.maintenanceAllowed, failed: r.failed, failures: r.failures.length });
            assert.deepStrictEqual(pick(summarize(records, 1000)), { non2xx: 2, maintenance: 2, maintenanceAllowed: false, failed: 2, failures: 2 }, "by default: failures");
            assert.deepStrictEqual(pick(summarize(records, 1000, 5, true)), { non2xx: 0, maintenance: 2, maintenanceAllowed: true, failed: 0, failures: 0 }, "allowed: counted apart");
        });
    });

    describe("CLI arguments", () => {
        it("parses the documented options", () => {
            const a = parseArgs(["--repo", "/r", "--from", "v2", "--to=v3", "--instances", "4", "--max-surge", "25%", "--json", "--keep", "--database", "postgres"]);
            assert.deepStrictEqual(a.options, { repo: "/r", from: "v2", to: "v3", instances: 4, maxSurge: "25%", keep: true, database: "postgres" });
            assert.strictEqual(a.json, true);
            assert.strictEqual(parseArgs(["--max-surge", "2"]).options.maxSurge, 2);
        });

        it("takes any app: install command, wsgi, settings, Host header and environment", () => {
            const a = parseArgs(["--install", "venv/bin/pip install -q .", "--wsgi", "config.wsgi:app", "--settings", "config.prod", "--host", "shop.example.com", "--env", "FEATURE=on", "--env=EMPTY="]);
            assert.deepStrictEqual(a.options, {
                installCommand: "venv/bin/pip install -q .",
                wsgi: "config.wsgi:app",
                settings: "config.prod",
                host: "shop.example.com",
                env: { FEATURE: "on", EMPTY: "" },
            });
            assert.throws(() => parseArgs(["--env", "1BAD=x", "--host", "a b"]), (e: Error) => {
                assert.strictEqual(e.message, '--env must be KEY=VALUE with KEY a variable name, got "1BAD=x"; --host must be a host name (letters, digits, "." and "-", optional :port), got "a b"');
                return true;
            });
        });

        it("names every bad option and value", () => {
            assert.throws(() => parseArgs(["--instances", "0", "--max-surge", "x", "--bogus", "--database", "mysql"]), (e: Error) => {
                assert.strictEqual(
                    e.message,
                    '--instances must be an integer >= 1, got "0"; --max-surge must be a count >= 1 or a percentage like 25%, got "x"; unknown option "--bogus"; --database must be sqlite or postgres, got "mysql"',
                );
                return true;
            });
            assert.throws(() => parseArgs(["--from"]), /--from needs a value/);
        });

        it("shows the executor's steps live, not each remote command's output", () => {
            assert.ok(isHeadline("    [release v2]   --> migrate"));
            assert.ok(isHeadline("    [release v2] ramp wave 1/3 done"));
            assert.ok(!isHeadline("    [release v2]       Applying catalog.0002... OK"));
        });
    });

    describe("prerequisites", () => {
        it("says exactly what to install for each missing piece", () => {
            const missing = missingPrerequisites({ database: "postgres", haproxy: "/nonexistent/haproxy", initdb: "/nonexistent/initdb" });
            assert.deepStrictEqual(missing.map((m) => m.install), ["apt-get install -y haproxy", "apt-get install -y postgresql"]);
            const text = formatMissing(missing);
            assert.match(text, /HAProxy \(looked for \/nonexistent\/haproxy\): apt-get install -y haproxy/);
            assert.match(text, /All at once: apt-get update && apt-get install -y haproxy postgresql/);
        });

        it("finds nothing missing on a machine set up by scripts/setup.sh", () => {
            assert.deepStrictEqual(missingPrerequisites({ database: "sqlite" }), []);
        });
    });

    describe("the app's Host header", () => {
        it("is the first ALLOWED_HOSTS entry the app reports", () => {
            assert.strictEqual(hostFor(["shop.example.com", "localhost"], false), "shop.example.com");
            assert.strictEqual(hostFor([".example.com"], false), "example.com");
            assert.strictEqual(hostFor(["*"], false), "localhost");
            assert.strictEqual(hostFor([], true), "localhost", "DEBUG allows localhost");
            assert.throws(() => hostFor([], false), /ALLOWED_HOSTS = \[\] with DEBUG off: every request would get 400\. .*or pass --host/);
        });
    });

    describe("failure diagnosis", () => {
        it("shows the failed remote step's output, and gunicorn's log for a start or health failure", () => {
            const work = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-diag-"));
            try {
                const steps = new StepOutputs();
                for (const l of ["--> install", "    Processing ./wheels", "    ERROR: Could not open requirements file: [Errno 2] No such file or directory: 'requirements.txt'", "    install: exit 1 in 0.4 s"]) steps.record(l);
                assert.deepStrictEqual(diagnose("inspecting v2 on i-management failed: install failed on local (exit 1): ERROR: Could not open requirements file", steps, work), [
                    { source: "install step output (pip)", lines: ["Processing ./wheels", "ERROR: Could not open requirements file: [Errno 2] No such file or directory: 'requirements.txt'"] },
                ]);
                fs.mkdirSync(path.join(work, "mgmt", "app", "run"), { recursive: true });
                const log = path.join(work, "mgmt", "app", "run", "gunicorn.log");
                fs.writeFileSync(log, "[INFO] Booting worker\nModuleNotFoundError: No module named 'shop.wsgi'\n[INFO] Worker exiting\n");
                const d = diagnose("health failed on local (exit 1): health check of http://127.0.0.1:1/health/ failed after 30.0s: None <urlopen error [Errno 111] Connection refused>", steps, work);
                assert.deepStrictEqual(d, [{ source: `gunicorn log ${log}`, lines: ["[INFO] Booting worker", "ModuleNotFoundError: No module named 'shop.wsgi'", "[INFO] Worker exiting"] }]);
                assert.match(formatDiagnosis(d), /^  last lines of the gunicorn log .*:\n    \| \[INFO\] Booting worker\n    \| ModuleNotFoundError: No module named 'shop\.wsgi'/);
            } finally {
                fs.rmSync(work, { recursive: true, force: true });
            }
        });

        it("names the outcome once", () => {
            assert.strictEqual(stripOutcome("release refused: version v3 has migrations ..."), "version v3 has migrations ...");
            assert.strictEqual(stripOutcome("inspecting v2 failed"), "inspecting v2 failed");
        });
    });

    describe("app settings", () => {
        it("layers SQLite over the app's settings module", () => {
            assert.strictEqual(
                sqliteSettings("mysite.settings", "/w/db.sqlite3"),
                `"""The rehearsal's database: SQLite, shared by the management instance and the fleet."""\nfrom mysite.settings import *  # noqa: F401,F403\n\nDATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/w/db.sqlite3", "OPTIONS": {"timeout": 30}}}\n`,
            );
        });

        it("reads the example's settings module from manage.py and names a version the repository lacks", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-units-"));
            try {
                const repo = buildExampleRepo(path.join(dir, "repo"));
                assert.strictEqual(settingsModuleOf(repo.url, "v1"), "mysite.settings");
                checkVersions(repo.url, ["v1", "v4"]);
                assert.throws(() => checkVersions(repo.url, ["v1", "v9"]), /version "v9" is not a tag, branch or commit of /);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("says to pass --settings when manage.py cannot be read", () => {
            assert.throws(() => settingsModuleOf("/nonexistent/repo", "v1"), /cannot read manage.py of v1 in \/nonexistent\/repo \(pass --settings\)/);
        });
    });

    describe("HAProxy", () => {
        it("maps server states to the ALB's target states", () => {
            const t = { draining: false, baseDown: 1, registeredAt: 10_000 };
            const s = (status: string, checkStatus = "L7OK", chkdown = 1) => ({ slot: "t1", status, checkStatus, chkfail: 0, chkdown, requests: 0, current: 0 });
            const at = (ms: number) => ({ fall: 2, intervalMs: 1000, timeoutMs: 500, now: 10_000 + ms });
            assert.strictEqual(mapState(t, s("DOWN", "INI"), at(100)), "initial");
            assert.strictEqual(mapState(t, s("DOWN 1/3", "* L7OK"), at(2000)), "initial", "rising");
            assert.strictEqual(mapState(t, s("DOWN", "L4CON"), at(1000)), "initial", "not yet fall intervals to fail");
            assert.strictEqual(mapState(t, s("DOWN", "L4CON"), at(2500)), "unhealthy", "never came up");
            assert.strictEqual(mapState(t, s("DOWN", "* L7STS"), at(9000)), "unhealthy");
            assert.strictEqual(mapState(t, s("UP"), at(3000)), "healthy");
            assert.strictEqual(mapState(t, s("UP 1/2", "L7STS"), at(3000)), "healthy", "going down, still taking traffic");
            assert.strictEqual(mapState(t, s("DOWN", "L7OK", 2), at(100)), "unhealthy", "went down after being up");
            assert.strictEqual(mapState({ ...t, draining: true }, s("UP"), at(0)), "draining");
            assert.strictEqual(mapState(t, undefined, at(0)), "unavailable");
        });

        it("binds 127.0.0.1 only and checks the health view with the scaled-down ALB thresholds", () => {
            const cfg = haproxyConfig({ port: 18080, socket: "/w/admin.sock", mapFile: "/w/m.map", slots: 8, health: { ...DEFAULT_HEALTH_CHECK, intervalS: 1 } });
            assert.match(cfg, /bind 127\.0\.0\.1:18080\n/);
            assert.match(cfg, /http-check send meth GET uri \/health\/ ver HTTP\/1\.1 hdr Host 127\.0\.0\.1/);
            assert.match(cfg, /default-server check inter 1000ms rise 3 fall 2 init-addr none/);
            assert.match(cfg, /server-template t 1-8 127\.0\.0\.1:1 disabled/);
            assert.ok(!/bind (0\.0\.0\.0|\*|:)/.test(cfg));
        });
    });

    describe("process clean-up", () => {
        it("stops what the run started and leaves alone what merely names its directory", async () => {
            const marker = `/tmp/rehearsal-procs-${process.pid}-${Date.now()}`;
            const ours = spawn("bash", ["-c", `exec -a "worker ${marker}" sleep 30`], { stdio: "ignore" });
            const stranger = Number(execFileSync("bash", ["-c", `(exec -a "tail -f ${marker}/rehearsal.log" sleep 30) >/dev/null 2>&1 & echo $!`], { encoding: "utf8" }).trim());
            try {
                await new Promise((r) => setTimeout(r, 200));
                assert.deepStrictEqual(processesMentioning(marker).sort(), [ours.pid!, stranger].sort());
                assert.deepStrictEqual(await killMentioning(marker, 1000), [ours.pid]);
                assert.deepStrictEqual(processesMentioning(marker), [stranger]);
            } finally {
                ours.kill("SIGKILL");
                process.kill(stranger, "SIGKILL");
            }
        });
    });
});
