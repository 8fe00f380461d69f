/**
 * The local rehearsal end to end: the example app (v1..v4), released through the executor onto
 * a local fleet of gunicorn instances behind HAProxy, under live traffic. One fleet serves the
 * releases in turn (v1 -> v2, v2 -> v4, v2 -> v3, then a version that only breaks on the fleet,
 * which exercises the executor's rollback) to keep the suite short. The CLI interrupted with
 * SIGINT mid-run is test/rehearsal/rehearsal-cli.spec.ts (its own runs, so the two files run side
 * by side under mocha --parallel).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { processesMentioning } from "../../rehearsal/local/procs";
import { buildExampleRepo } from "../../example/build-repo";
import { Rehearsal, RehearsalResult } from "../../rehearsal/rehearsal";
import { verdict } from "../../rehearsal/report";


/**
 * The example repository plus a tag `v2-fleet-broken`: v2 whose WSGI module refuses to load on
 * fleet instances (the local cloud sets INSTANCE_ID there) while the management instance's
 * checks pass, so the release gets as far as the ramp and must roll back.
 */
function exampleRepoWithFleetBreakage(dir: string): string {
    const repo = buildExampleRepo(dir);
    const git = (...args: string[]) =>
        execFileSync("git", ["-C", dir, ...args], {
            encoding: "utf8",
            env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" },
        });
    git("checkout", "-q", "-b", "fleet-broken", "v2");
    fs.appendFileSync(path.join(dir, "mysite", "wsgi.py"), '\nif os.environ.get("INSTANCE_ID"):\n    raise RuntimeError("this build cannot start on the fleet")\n');
    git("commit", "-q", "-am", "v2, broken on the fleet only");
    git("tag", "v2-fleet-broken");
    git("checkout", "-q", "main");
    return repo.dir;
}

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
        const repo = exampleRepoWithFleetBreakage(path.join(work, "repo"));
        rehearsal = new Rehearsal({ repo, from: "v1", instances: 3, maxSurge: 1, visitsPerS: 25, trafficLeadS: 1, workDir: work, log: (l) => lines.push(l) });
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
        assert.strictEqual(r.traffic.maintenance, 0, "no maintenance page: policy refuse");
        assert.strictEqual(r.traffic.static404, 0, explain(r));
        assert.ok(r.traffic.assets > 0 && r.traffic.assets >= r.traffic.pages, "the hashed assets of each page were requested");
        // Both versions answered while the ramp ran: v1 first, v2 last, no v1 page after the release.
        const { v1, v2 } = r.traffic.versionSpans;
        assert.ok(v1 && v2, JSON.stringify(r.traffic.versions));
        assert.ok(v1.firstS < v2.firstS && v1.lastS < v2.lastS, JSON.stringify(r.traffic.versionSpans));
        assert.ok(v1.lastS <= r.trafficLeadS + r.release.durationS, `v1 answered at ${v1.lastS} s, after the release ended`);
        assert.deepStrictEqual(r.fleet.map((f) => [f.status, f.version]), [[200, "v2"], [200, "v2"], [200, "v2"]]);
        assert.deepStrictEqual(r.steps.filter((s) => / wave /.test(s.step)).map((s) => s.step), ["ramp wave 1/3", "ramp wave 2/3", "ramp wave 3/3"]);
        assert.ok(r.ok, explain(r));
        assert.strictEqual(currentOfManagement(), "releases/v2");
    });

    it("v2 -> v4 (fails at start): refused at the inspection, 0 failed requests, no maintenance page, every instance still serves v2", async () => {
        const template = await rehearsal.cloud!.describeLaunchTemplate(rehearsal.cloud!.launchTemplateId);
        const r = await rehearsal.release("v4");
        // The inspection (before the lock) cannot load v4's settings: refused, nothing applied.
        assert.strictEqual(r.release.outcome, "refused", explain(r));
        assert.deepStrictEqual(r.steps, [], "no step of the release ran");
        assert.match(r.release.reason ?? "", /CATALOG_BACKEND is not set|ImproperlyConfigured/, r.release.reason);
        assert.strictEqual(r.traffic.failed, 0, explain(r));
        assert.strictEqual(r.traffic.maintenance, 0, "no maintenance page: policy refuse");
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
        assert.strictEqual(r.traffic.maintenance, 0, "no maintenance page: refused");
        assert.deepStrictEqual(r.fleet.map((f) => f.version), ["v2", "v2", "v2"]);
    });

    it("a version that never gets healthy on the fleet is rolled back mid-ramp: 0 failed requests, every instance serves v2", async () => {
        const template = await rehearsal.cloud!.describeLaunchTemplate(rehearsal.cloud!.launchTemplateId);
        // The broken build's target is unhealthy about 3 s after it registers; a healthy one takes 4 s.
        const r = await rehearsal.release("v2-fleet-broken", { healthyTimeoutS: 6 });
        assert.strictEqual(r.release.outcome, "rolled-back", explain(r));
        assert.deepStrictEqual(r.steps.filter((s) => / wave /.test(s.step)).map((s) => s.step), ["rollback wave 1/1"], "the ramp's first wave never completed; the rollback's did");
        assert.match(r.release.reason ?? "", /healthy|unhealthy/, r.release.reason);
        assert.strictEqual(r.traffic.failed, 0, explain(r));
        assert.deepStrictEqual(Object.keys(r.traffic.versions), ["v2"], "no page came from the broken build");
        assert.deepStrictEqual(r.fleet.map((f) => [f.status, f.version]), [[200, "v2"], [200, "v2"], [200, "v2"]]);
        assert.strictEqual((await rehearsal.cloud!.describeLaunchTemplate(rehearsal.cloud!.launchTemplateId)).defaultVersion, template.defaultVersion);
        const g = await rehearsal.cloud!.describeGroup(rehearsal.cloud!.groupName);
        assert.deepStrictEqual([g.desiredCapacity, g.maxSize, g.suspendedProcesses, g.tags["release:lock"]], [3, 4, [], undefined]);
        // The release ends once the broken instance is drained and its termination begun (as on
        // AWS, it does not wait for the instance to be gone): stopping its gunicorn may still take
        // a few seconds on a busy machine. Every instance not leaving is on v2; the leaving one goes.
        const leaving = (x: { lifecycleState: string }) => x.lifecycleState.startsWith("Terminat");
        assert.deepStrictEqual(g.instances.filter((i) => !leaving(i)).map((i) => i.launchTemplateVersion), Array(3).fill(String(template.defaultVersion)), "every instance on the v2 template version");
        for (let t = 0; t < 40 && (await rehearsal.cloud!.describeGroup(rehearsal.cloud!.groupName)).instances.some(leaving); t++) await new Promise((ok) => setTimeout(ok, 500));
        const after = await rehearsal.cloud!.describeGroup(rehearsal.cloud!.groupName);
        assert.ok(after.instances.every((i) => i.launchTemplateVersion === String(template.defaultVersion)), `every instance on the v2 template version once the broken one is gone: ${JSON.stringify(after.instances)}`);
        assert.strictEqual(currentOfManagement(), "releases/v2", "the management instance is back on v2");
    });
});
