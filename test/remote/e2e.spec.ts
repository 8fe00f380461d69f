/**
 * End to end over real OpenSSH, PostgreSQL, Django, WhiteNoise and gunicorn on 127.0.0.1:
 * the example app's v1..v4 released into a management-instance directory by the remote phase.
 *
 * Two gunicorns serve the app, both on the shared static root:
 *  - "management": started by the phase's restartCommand from <app>/current, HUPed by later releases;
 *  - "old instance": started once from releases/v1 before the v2 release and never restarted
 *    (an ASG instance still on v1).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { ExampleRepo } from "../../example/build-repo";
import { RemotePhase, RemotePhaseError, RemotePhaseResult } from "../../providers/release/ports";
import { createRemotePhase, RemotePhaseSettings } from "../../providers/release/remote";
import { freePort, PostgresService, SshdService, startGunicorn } from "../../testkit/services";
import { ExampleSite, HttpAnswer, httpGet, startExampleSite } from "../../testkit/site";

const hashedNames = (html: string) => ({
    js: /\/static\/js\/app\.[0-9a-f]{12}\.js/.exec(html)?.[0],
    css: /\/static\/css\/site\.[0-9a-f]{12}\.css/.exec(html)?.[0],
});

describe("remote phase end to end (OpenSSH, PostgreSQL, Django, gunicorn)", function () {
    this.timeout(120000);

    let site: ExampleSite;
    let pg: PostgresService;
    let sshd: SshdService;
    let repo: ExampleRepo;
    let appDir: string;
    let staticRoot: string;
    let mgmtPort: number;
    let oldPort: number;
    let settings: RemotePhaseSettings;
    let phase: RemotePhase;
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);
    let v1Page: string;
    let v2Result: RemotePhaseResult;

    before(async function () {
        site = await startExampleSite({ keepReleases: 2 });
        ({ pg, sshd, repo, appDir, staticRoot, mgmtPort, settings } = site);
        oldPort = await freePort();
        phase = await createRemotePhase(settings);
        await phase.apply("v1", { migrationPolicy: "refuse", log });
        pg.psql("INSERT INTO catalog_product (name) VALUES ('Teapot')");
        // An instance of the fleet still on v1, started before the v2 release, never restarted.
        await startGunicorn({ python: path.join(appDir, "releases/v1/venv/bin/python"), chdir: path.join(appDir, "releases/v1"), port: oldPort, pidFile: path.join(appDir, "run", "old.pid") });
        v1Page = (await httpGet(oldPort, "/")).body;
    });

    after(async function () {
        await phase?.close().catch(() => undefined);
        await site?.stop();
    });

    it("v1 went out over SSH: current -> releases/v1, the page renders hashed names", function () {
        assert.equal(fs.readlinkSync(path.join(appDir, "current")), "releases/v1");
        assert.match(v1Page, /Teapot/);
        assert.ok(hashedNames(v1Page).js && hashedNames(v1Page).css, v1Page);
        assert.ok(logs.includes("--> checkout") && logs.includes("--> health"), logs.join("\n"));
    });

    it("v1 -> v2 succeeds: a safe nullable column, the changed non-hashed paths reported", async function () {
        v2Result = await phase.apply("v2", { migrationPolicy: "refuse", log });
        if (process.env.FLEET_E2E_VERBOSE) console.log(logs.filter((l) => / in [0-9.]+ s$/.test(l)).join("\n"));
        assert.equal(v2Result.version, "v2");
        assert.equal(v2Result.commit, repo.tags.v2);
        assert.equal(v2Result.previousVersion, "v1");
        assert.deepEqual(v2Result.migrations, {
            verdict: "safe",
            operations: [
                { app: "catalog", migration: "0002_product_description", operation: "AddField", description: "Add field description to product", code: null, safety: "safe" },
            ],
        });
        assert.deepEqual(v2Result.changedStaticPaths, ["/static/css/site.css", "/static/js/app.js"]);
        assert.equal(fs.readlinkSync(path.join(appDir, "current")), "releases/v2");
        assert.equal(pg.psql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'catalog_product' AND column_name = 'description'"), "1");
    });

    it("both versions' hashed files are in the shared root and each release has its own manifest", async function () {
        const v2Page = (await httpGet(mgmtPort, "/")).body;
        const [n1, n2] = [hashedNames(v1Page), hashedNames(v2Page)];
        assert.notEqual(n1.js, n2.js);
        assert.notEqual(n1.css, n2.css);
        for (const url of [n1.js, n1.css, n2.js, n2.css]) assert.ok(fs.existsSync(path.join(staticRoot, url!.slice("/static/".length))), url);
        const manifest = (v: string) => JSON.parse(fs.readFileSync(path.join(appDir, "releases", v, "staticfiles.json"), "utf8")).paths;
        assert.equal(`/static/${manifest("v1")["js/app.js"]}`, n1.js);
        assert.equal(`/static/${manifest("v2")["js/app.js"]}`, n2.js);
        assert.ok(!fs.existsSync(path.join(staticRoot, "staticfiles.json")));
        // A changed non-hashed file is replaced in the shared root too (the CDN invalidation of
        // its path must fetch the new content), even though git gives it an older timestamp.
        const v2Css = fs.readFileSync(path.join(appDir, "releases", "v2", "static", "css", "site.css"), "utf8");
        assert.notEqual(v2Css, fs.readFileSync(path.join(appDir, "releases", "v1", "static", "css", "site.css"), "utf8"));
        assert.equal(fs.readFileSync(path.join(staticRoot, "css", "site.css"), "utf8"), v2Css);
    });

    it("the v1 instance keeps rendering v1 names and serves v2's new hashed file with 200, without a restart", async function () {
        const page = (await httpGet(oldPort, "/")).body;
        assert.deepEqual(hashedNames(page), hashedNames(v1Page));
        const v2js = hashedNames((await httpGet(mgmtPort, "/")).body).js!;
        const asset = await httpGet(oldPort, v2js);
        assert.equal(asset.status, 200);
        assert.match(asset.body, /catalog v2/);
        assert.match(String(asset.headers["cache-control"]), /immutable/);
    });

    it("a static 404 carries Cache-Control: no-store", async function () {
        const missing = await httpGet(oldPort, "/static/js/app.0123456789ab.js");
        assert.equal(missing.status, 404);
        assert.equal(missing.headers["cache-control"], "no-store");
    });

    it("the health view answers 200 by IP, and 503 when the database is down", async function () {
        const ok = await httpGet(mgmtPort, "/health/", `127.0.0.1:${mgmtPort}`);
        assert.equal(ok.status, 200);
        assert.equal(JSON.parse(ok.body).release, "v2");
        assert.equal((await httpGet(mgmtPort, "/", `127.0.0.1:${mgmtPort}`)).status, 400, "other paths still obey ALLOWED_HOSTS");
        pg.stopServer();
        try {
            const down = await httpGet(mgmtPort, "/health/", "10.0.1.5");
            assert.equal(down.status, 503);
            assert.equal(JSON.parse(down.body).status, "error");
        } finally {
            pg.startServer();
        }
        assert.equal((await httpGet(mgmtPort, "/health/", "10.0.1.5")).status, 200);
    });

    it("revert points current back at v1 and restarts; applying v2 again reuses its directory", async function () {
        await phase.revert("v1", log);
        assert.equal(fs.readlinkSync(path.join(appDir, "current")), "releases/v1");
        assert.equal(JSON.parse((await httpGet(mgmtPort, "/health/", "127.0.0.1")).body).release, "v1");
        logs.length = 0;
        const again = await phase.apply("v2", { migrationPolicy: "refuse", log });
        assert.equal(again.migrations.verdict, "none");
        assert.ok(logs.some((l) => l.includes("releases/v2 already holds")), logs.join("\n"));
        assert.equal(JSON.parse((await httpGet(mgmtPort, "/health/", "127.0.0.1")).body).release, "v2");
    });

    it("v3 (a renamed column) is refused before anything is applied, naming the operation", async function () {
        await assert.rejects(phase.apply("v3", { migrationPolicy: "refuse", log }), (e: unknown) => {
            assert.ok(e instanceof RemotePhaseError);
            assert.equal(e.step, "migrations");
            assert.match(e.message, /catalog\.0003_rename_name_title: RenameField \(Rename field name on product to title\) RENAME_COLUMN/);
            assert.match(e.message, /nothing was applied/);
            return true;
        });
        assert.equal(pg.psql("SELECT column_name FROM information_schema.columns WHERE table_name = 'catalog_product' AND column_name IN ('name', 'title')"), "name");
        assert.equal(pg.psql("SELECT count(*) FROM django_migrations WHERE name = '0003_rename_name_title'"), "0");
        assert.equal(fs.readlinkSync(path.join(appDir, "current")), "releases/v2");
        const page = await httpGet(mgmtPort, "/");
        assert.equal(page.status, 200);
        assert.match(page.body, /Catalog \(v2\)/);
    });

    it("inspect classifies v3 without applying or switching anything", async function () {
        const inspection = await phase.inspect("v3");
        assert.equal(inspection.currentVersion, "v2");
        assert.equal(inspection.commit, repo.tags.v3);
        assert.equal(inspection.migrations.verdict, "breaking");
        assert.deepEqual(inspection.migrations.operations.map((o) => o.code), ["RENAME_COLUMN"]);
        assert.equal(fs.readlinkSync(path.join(appDir, "current")), "releases/v2");
    });

    it("v4 (a settings error) fails with the command's stderr; current stays on v2, which keeps serving", async function () {
        await assert.rejects(phase.apply("v4", { migrationPolicy: "maintenance", log }), (e: unknown) => {
            assert.ok(e instanceof RemotePhaseError);
            assert.equal(e.step, "migrations");
            assert.match(e.stderr, /ImproperlyConfigured: CATALOG_BACKEND is not set \(v4 settings error\)/);
            assert.match(e.message, /CATALOG_BACKEND is not set/);
            return true;
        });
        assert.equal(fs.readlinkSync(path.join(appDir, "current")), "releases/v2");
        assert.ok(!fs.existsSync(path.join(appDir, "maintenance.flag")));
        const page = await httpGet(mgmtPort, "/");
        assert.equal(page.status, 200);
        assert.match(page.body, /Catalog \(v2\)/);
    });

    it("v3 with the maintenance policy goes through behind the maintenance page", async function () {
        let during: Promise<HttpAnswer> | null = null;
        const result = await phase.apply("v3", {
            migrationPolicy: "maintenance",
            log: (line) => {
                log(line);
                if (line === "--> migrate") during = httpGet(mgmtPort, "/");
            },
        });
        const page = await during!;
        assert.equal(page.status, 503);
        assert.ok(page.headers["retry-after"]);
        assert.match(page.body, /maintenance/i);
        assert.equal(result.migrations.verdict, "breaking");
        assert.equal(fs.readlinkSync(path.join(appDir, "current")), "releases/v3");
        assert.ok(!fs.existsSync(path.join(appDir, "maintenance.flag")));
        const after = await httpGet(mgmtPort, "/");
        assert.equal(after.status, 200);
        assert.match(after.body, /Catalog \(v3\)[\s\S]*Teapot/);
        assert.equal(pg.psql("SELECT column_name FROM information_schema.columns WHERE table_name = 'catalog_product' AND column_name IN ('name', 'title')"), "title");
    });

    it("old release directories beyond keepReleases are pruned, never current or previous", function () {
        const left = fs.readdirSync(path.join(appDir, "releases")).sort();
        assert.ok(!left.includes("v1"), left.join(","));
        assert.ok(left.includes("v2") && left.includes("v3"), left.join(","));
    });

    it("the local transport runs the same phase (inspect on this machine, no SSH)", async function () {
        const local = await createRemotePhase({ ...settings, transport: "local", ssh: undefined });
        try {
            const lines: string[] = [];
            const inspection = await local.inspect("v2", (l) => lines.push(l));
            assert.ok(lines.includes("    warning: the database has migrations v2 does not know (its schema is ahead of this version): catalog.0003_rename_name_title"), lines.join("\n"));
            assert.deepEqual(inspection, { currentVersion: "v3", commit: repo.tags.v2, migrations: { operations: [], verdict: "none" } });
        } finally {
            await local.close();
        }
    });

    it("an SSH host key that does not match the pinned fingerprint is refused", async function () {
        const wrong = await createRemotePhase({ ...settings, ssh: { ...settings.ssh!, hostKeySha256: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } });
        await assert.rejects(wrong.inspect("v2"), (e: unknown) => {
            assert.ok(e instanceof RemotePhaseError);
            assert.equal(e.step, "connect");
            assert.match(e.message, /host key mismatch/);
            assert.ok(e.message.includes(sshd.hostKeySha256));
            return true;
        });
        await wrong.close();
    });
});
