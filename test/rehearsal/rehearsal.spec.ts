/**
 * The local rehearsal end to end: the example app (v1..v4), released through the executor onto
 * a local fleet of gunicorn instances behind HAProxy, under live traffic. One fleet serves the
 * three releases in turn (v1 -> v2, v2 -> v4, v2 -> v3) to keep the suite short; then the CLI is
 * interrupted with SIGINT mid-run.
 */
import * as assert from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { processesMentioning } from "../../providers/release/local/procs";
import { Rehearsal, RehearsalResult } from "../../rehearsal/rehearsal";
import { verdict } from "../../rehearsal/report";

const ROOT = path.join(__dirname, "..", "..");

function sqlite(db: string, sql: string): string {
    return execFileSync("/usr/bin/python3", ["-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchall())", db, sql], { encoding: "utf8" }).trim();
}

describe("rehearsal: the example app released onto a local fleet under live traffic", function () {
    this.timeout(120_000);
    let rehearsal: Rehearsal;
    let work: string;
    const lines: string[] = [];

    before(async function () {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-test-"));
        rehearsal = new Rehearsal({ from: "v1", instances: 3, maxSurge: 1, visitsPerS: 20, workDir: work, log: (l) => lines.push(l) });
        await rehearsal.setUp();
    });

    after(async function () {
        this.timeout(60_000);
        if (rehearsal) await rehearsal.cleanup();
        const left = processesMentioning(work);
        fs.rmSync(work, { recursive: true, force: true });
        assert.deepStrictEqual(left, [], "no process of the run is left");
    });

    function explain(r: RehearsalResult): string {
        return `${verdict(r)}\n${r.traffic.failures.map((f) => `${f.kind} ${f.path} ${f.status || f.error}`).join("\n")}\n${lines.slice(-40).join("\n")}`;
    }

    const currentOfManagement = () => fs.readlinkSync(path.join(work, "mgmt", "app", "current"));

    it("v1 -> v2 (3 instances, maxSurge 1): 0 failed requests, 0 static 404s over >= 1,000 requests; every instance then serves v2", async () => {
        const r = await rehearsal.release("v2");
        assert.strictEqual(r.release.outcome, "succeeded", explain(r));
        assert.ok(r.traffic.requests >= 1000, `only ${r.traffic.requests} requests`);
        assert.strictEqual(r.traffic.failed, 0, explain(r));
        assert.strictEqual(r.traffic.static404, 0, explain(r));
        assert.ok(r.traffic.assets > 0 && r.traffic.assets >= r.traffic.pages, "the hashed assets of each page were requested");
        // Both versions answered while the ramp ran, v1 first, v2 last.
        assert.ok(r.traffic.versions.v1 > 0 && r.traffic.versions.v2 > 0, JSON.stringify(r.traffic.versions));
        const answered = r.traffic.timeline.filter((b) => Object.keys(b.versions).length);
        assert.deepStrictEqual(Object.keys(answered[0].versions), ["v1"]);
        assert.deepStrictEqual(Object.keys(answered[answered.length - 1].versions), ["v2"]);
        assert.deepStrictEqual(r.fleet.map((f) => [f.status, f.version]), [[200, "v2"], [200, "v2"], [200, "v2"]]);
        assert.deepStrictEqual(r.steps.filter((s) => s.step.startsWith("wave")).map((s) => s.step), ["wave 1/3", "wave 2/3", "wave 3/3"]);
        assert.ok(r.ok, explain(r));
        assert.strictEqual(currentOfManagement(), "releases/v2");
    });

    it("v2 -> v4 (fails at start): not released, 0 failed requests, every instance still serves v2", async () => {
        const template = await rehearsal.cloud!.describeLaunchTemplate(rehearsal.cloud!.launchTemplateId);
        const r = await rehearsal.release("v4");
        assert.notStrictEqual(r.release.outcome, "succeeded");
        assert.match(r.release.reason ?? "", /CATALOG_BACKEND is not set|ImproperlyConfigured/, r.release.reason);
        assert.strictEqual(r.traffic.failed, 0, explain(r));
        assert.ok(r.traffic.requests > 100, `only ${r.traffic.requests} requests`);
        assert.deepStrictEqual(r.fleet.map((f) => [f.status, f.version]), [[200, "v2"], [200, "v2"], [200, "v2"]]);
        assert.strictEqual(currentOfManagement(), "releases/v2");
        assert.strictEqual((await rehearsal.cloud!.describeLaunchTemplate(rehearsal.cloud!.launchTemplateId)).defaultVersion, template.defaultVersion);
        const g = await rehearsal.cloud!.describeGroup(rehearsal.cloud!.groupName);
        assert.deepStrictEqual([g.desiredCapacity, g.suspendedProcesses, g.tags["release:lock"]], [3, [], undefined]);
    });

    it("v2 -> v3 (breaking migration): refused before anything is applied", async () => {
        const images = (await rehearsal.cloud!.describeImages({})).length;
        const r = await rehearsal.release("v3");
        assert.strictEqual(r.release.outcome, "refused", explain(r));
        assert.match(r.release.reason ?? "", /RENAME_COLUMN/);
        assert.deepStrictEqual(r.steps, [], "no step of the release ran");
        assert.strictEqual((await rehearsal.cloud!.describeImages({})).length, images, "no image baked");
        assert.strictEqual(currentOfManagement(), "releases/v2");
        assert.match(sqlite(path.join(work, "db.sqlite3"), "SELECT name FROM pragma_table_info('catalog_product') ORDER BY cid"), /'name'/, "the column is not renamed");
        assert.strictEqual(r.traffic.failed, 0, explain(r));
        assert.deepStrictEqual(r.fleet.map((f) => f.version), ["v2", "v2", "v2"]);
    });
});

describe("rehearsal CLI", function () {
    this.timeout(90_000);

    it("stops every process it started when interrupted with SIGINT mid-run", async () => {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-sigint-"));
        try {
            const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "rehearsal/cli.ts", "--work-dir", work, "--instances", "2"], {
                cwd: ROOT,
                stdio: ["ignore", "pipe", "pipe"],
            });
            let out = "";
            child.stdout.on("data", (d) => (out += d));
            child.stderr.on("data", (d) => (out += d));
            const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
            // Mid-run: the management instance serves and the fleet is coming up.
            const deadline = Date.now() + 60_000;
            while (!/InService, registered in the target group/.test(out)) {
                if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the rehearsal did not reach the release:\n${out}`);
                await new Promise((r) => setTimeout(r, 100));
            }
            const running = processesMentioning(work).map((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"));
            assert.ok(running.some((c) => c.includes("haproxy")), "HAProxy runs");
            assert.ok(running.filter((c) => c.includes("gunicorn")).length >= 2, `the fleet and the management instance run gunicorn: ${running.join("\n")}`);
            child.kill("SIGINT");
            assert.strictEqual(await exited, 130, out);
            assert.match(out, /SIGINT: stopping every process the rehearsal started/);
            assert.deepStrictEqual(processesMentioning(work), [], "no gunicorn/haproxy of the run is left");
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
