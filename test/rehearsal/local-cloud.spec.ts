/**
 * The local Cloud adapter's semantics, against real HAProxy and gunicorn with a tiny WSGI app:
 * images and launch templates, desired capacity, terminate with and without decrement, tags,
 * suspended processes, target health transitions, drain under traffic, the maintenance rule.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalCloud } from "../../rehearsal/local/cloud";
import { processesMentioning } from "../../rehearsal/local/procs";
import { writeTinyRelease } from "./tiny-app";
import { httpGet, until } from "./helpers";

/**
 * A LocalCloud over the tiny app of `work`/mgmt (instance i-mgmt), its group empty at the start,
 * with fast health checks (0.3 s, 2 up, 2 down) and one gunicorn worker per instance.
 */
function tinyCloud(work: string, o: { maxSize: number; deregistrationDelayS: number; healthCheckGracePeriodS: number; gracefulTimeoutS: number; log?: (line: string) => void }): LocalCloud {
    return new LocalCloud({
        workDir: path.join(work, "cloud"),
        managementInstances: { "i-mgmt": path.join(work, "mgmt") },
        group: { minSize: 0, maxSize: o.maxSize, desiredCapacity: 0 },
        health: { intervalS: 0.3, healthyThreshold: 2, unhealthyThreshold: 2, timeoutS: 0.5 },
        deregistrationDelayS: o.deregistrationDelayS,
        healthCheckGracePeriodS: o.healthCheckGracePeriodS,
        app: { wsgi: "tinyapp:application", env: {}, workers: 1, gracefulTimeoutS: o.gracefulTimeoutS },
        log: o.log,
    });
}

/** Stops the cloud, removes `work`, and fails when a process that mentions it is left. */
async function stopAndClean(cloud: LocalCloud | undefined, work: string): Promise<void> {
    if (cloud) await cloud.stop();
    const left = processesMentioning(work);
    fs.rmSync(work, { recursive: true, force: true });
    assert.deepStrictEqual(left, [], "processes left behind");
}

describe("local cloud (Cloud port on HAProxy + gunicorn)", function () {
    this.timeout(30_000);
    let work: string;
    let cloud: LocalCloud;
    const G = "rehearsal-asg";
    const TG = "arn:local:elasticloadbalancing:targetgroup/rehearsal";
    const log: string[] = [];

    before(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "local-cloud-"));
        writeTinyRelease(path.join(work, "mgmt"), "r1");
        cloud = tinyCloud(work, { maxSize: 4, deregistrationDelayS: 1, healthCheckGracePeriodS: 120, gracefulTimeoutS: 3, log: (l) => log.push(l) });
        await cloud.start();
    });

    after(() => stopAndClean(cloud, work));

    it("bakes an immutable image from the management instance and versions the launch template", async () => {
        const ami = await cloud.createImage("i-mgmt", "rel-r1", { version: "r1" });
        await cloud.waitForImage(ami, 10);
        const [image] = await cloud.describeImages({ tags: { version: "r1" } });
        assert.strictEqual(image.imageId, ami);
        assert.strictEqual(image.state, "available");
        // Immutable: a change on the management instance after the bake is not in the image.
        fs.writeFileSync(path.join(work, "mgmt", "releases", "r1", "tinyapp.py"), "raise SystemExit('changed after bake')\n");
        const v = await cloud.createLaunchTemplateVersion("lt-local", 1, ami, "r1");
        assert.strictEqual(v, 2);
        await cloud.setDefaultLaunchTemplateVersion("lt-local", v);
        assert.deepStrictEqual(await cloud.describeLaunchTemplate("lt-local"), { id: "lt-local", defaultVersion: 2, latestVersion: 2 });
        await assert.rejects(cloud.createImage("i-nope", "x", {}), /InvalidInstanceID.NotFound/);
        await assert.rejects(cloud.createLaunchTemplateVersion("lt-local", 9, ami, "x"), /VersionNotFound/);
    });

    it("keeps desired capacity: new instances start InService, initial, then healthy and serve", async () => {
        await cloud.updateGroupSize(G, { desiredCapacity: 2 });
        const seen = new Set<string>();
        await until("2 healthy targets", async () => {
            const h = await cloud.describeTargetHealth(TG);
            Object.values(h).forEach((s) => seen.add(s));
            return Object.values(h).filter((s) => s === "healthy").length === 2;
        }, 15_000, 50);
        assert.ok(seen.has("initial"), `a new target passes through initial first (saw ${[...seen]})`);
        const g = await cloud.describeGroup(G);
        assert.strictEqual(g.instances.length, 2);
        assert.ok(g.instances.every((i) => i.lifecycleState === "InService" && i.launchTemplateVersion === "2"));
        const res = await httpGet(cloud.url + "/");
        assert.strictEqual(res.status, 200);
        assert.match(res.body, /^release r1 \/ i-/);
    });

    it("validates sizes with AWS's messages and honours min/max", async () => {
        await assert.rejects(cloud.updateGroupSize(G, { desiredCapacity: 5 }), /Desired capacity:5 must be between the specified min size:0 and max size:4/);
        await assert.rejects(cloud.updateGroupSize(G, { minSize: 3, maxSize: 2 }), /Max bound, 2, must be greater than or equal to min bound, 3/);
        assert.strictEqual((await cloud.describeGroup(G)).desiredCapacity, 2);
    });

    it("stores group tags (the deploy lock)", async () => {
        await cloud.setGroupTag(G, "release:lock", "me until 2030");
        assert.strictEqual((await cloud.describeGroup(G)).tags["release:lock"], "me until 2030");
        await cloud.deleteGroupTag(G, "release:lock");
        assert.deepStrictEqual((await cloud.describeGroup(G)).tags, {});
        await assert.rejects(cloud.describeGroup("other"), /AutoScalingGroup other not found/);
    });

    it("marks a target unhealthy when its health view fails and healthy again when it recovers", async () => {
        const [victim] = cloud.fleet();
        const flag = path.join(victim.releaseDir!, "unhealthy");
        fs.writeFileSync(flag, "");
        try {
            await until("target unhealthy", async () => (await cloud.describeTargetHealth(TG))[victim.instanceId] === "unhealthy", 10_000, 50);
        } finally {
            fs.rmSync(flag);
        }
        await until("target healthy again", async () => (await cloud.describeTargetHealth(TG))[victim.instanceId] === "healthy", 10_000, 50);
    });

    it("drains a deregistered target under traffic: no request fails, none reaches it after the drain", async () => {
        const [a, b] = cloud.fleet();
        let failures = 0;
        let requests = 0;
        let stop = false;
        let drainedAt = Infinity;
        const answeredByA: number[] = [];
        const loop = (async () => {
            while (!stop) {
                const r = await httpGet(cloud.url + "/").catch(() => ({ status: 0, body: "" }));
                requests++;
                if (r.status !== 200) failures++;
                if (r.body.trim().endsWith(a.instanceId)) answeredByA.push(Date.now());
            }
        })();
        await new Promise((r) => setTimeout(r, 300));
        await cloud.deregisterTargets(TG, [a.instanceId]);
        drainedAt = Date.now();
        assert.strictEqual((await cloud.describeTargetHealth(TG))[a.instanceId], "draining");
        await until("target gone after the delay", async () => !(a.instanceId in (await cloud.describeTargetHealth(TG))), 5_000, 50);
        const before = (await cloud.balancer.stats());
        await new Promise((r) => setTimeout(r, 500));
        stop = true;
        await loop;
        const after = await cloud.balancer.stats();
        const total = (m: typeof after) => [...m.values()].reduce((n, s) => n + s.requests, 0);
        assert.ok(requests > 20, `traffic flowed (${requests} requests)`);
        assert.strictEqual(failures, 0);
        assert.ok(total(after) > total(before), "the other target kept serving");
        assert.ok(answeredByA.length > 0, "the target served before the drain");
        assert.deepStrictEqual(answeredByA.filter((t) => t > drainedAt + 50), [], "no request reached the draining target");
        assert.strictEqual((await cloud.describeTargetHealth(TG))[b.instanceId], "healthy");
        // The drained instance is still in the group until terminated.
        await cloud.terminateInstance(a.instanceId, true);
        await until("instance gone", async () => !(await cloud.describeGroup(G)).instances.some((i) => i.instanceId === a.instanceId), 10_000, 50);
        const g = await cloud.describeGroup(G);
        assert.strictEqual(g.desiredCapacity, 1);
        await new Promise((r) => setTimeout(r, 400));
        assert.strictEqual((await cloud.describeGroup(G)).instances.length, 1, "no replacement with decrement");
    });

    it("terminating without decrement launches a replacement; a decrement below min is refused", async () => {
        await cloud.updateGroupSize(G, { minSize: 1 });
        const [only] = (await cloud.describeGroup(G)).instances;
        await assert.rejects(cloud.terminateInstance(only.instanceId, true), /violate group's min size constraint/);
        await cloud.terminateInstance(only.instanceId, false);
        assert.strictEqual((await cloud.describeGroup(G)).instances.find((i) => i.instanceId === only.instanceId)?.lifecycleState, "Terminating");
        await until("replacement healthy", async () => {
            const h = await cloud.describeTargetHealth(TG);
            return Object.entries(h).some(([id, s]) => id !== only.instanceId && s === "healthy") && !(only.instanceId in h);
        }, 15_000, 50);
        await assert.rejects(cloud.terminateInstance("i-unknown", false), /Instance Id not found/);
        await cloud.updateGroupSize(G, { minSize: 0 });
    });

    it("suspended Launch holds new instances back until resumed", async () => {
        await cloud.suspendProcesses(G, ["Launch", "AZRebalance"]);
        await cloud.updateGroupSize(G, { desiredCapacity: 2 });
        await new Promise((r) => setTimeout(r, 500));
        let g = await cloud.describeGroup(G);
        assert.deepStrictEqual(g.suspendedProcesses, ["AZRebalance", "Launch"]);
        assert.strictEqual(g.instances.length, 1);
        await cloud.resumeProcesses(G, ["Launch", "AZRebalance"]);
        await until("second instance", async () => (await cloud.describeGroup(G)).instances.length === 2, 5_000, 50);
        g = await cloud.describeGroup(G);
        assert.deepStrictEqual(g.suspendedProcesses, []);
    });

    it("an instance whose app fails at start goes InService with a target that turns unhealthy, never healthy", async () => {
        const mgmt = path.join(work, "mgmt");
        const dir = writeTinyRelease(mgmt, "broken");
        fs.writeFileSync(path.join(dir, "tinyapp.py"), "raise RuntimeError('fails at start')\n");
        const ami = await cloud.createImage("i-mgmt", "rel-broken", { version: "broken" });
        await cloud.waitForImage(ami, 10);
        const good = (await cloud.describeLaunchTemplate("lt-local")).defaultVersion;
        await cloud.setDefaultLaunchTemplateVersion("lt-local", await cloud.createLaunchTemplateVersion("lt-local", 1, ami, "broken"));
        const before = new Set((await cloud.describeGroup(G)).instances.map((i) => i.instanceId));
        await cloud.updateGroupSize(G, { desiredCapacity: 3 });
        let fresh = "";
        const seen: string[] = [];
        await until("the new target unhealthy", async () => {
            fresh = (await cloud.describeGroup(G)).instances.find((i) => !before.has(i.instanceId))?.instanceId ?? "";
            const state = fresh ? (await cloud.describeTargetHealth(TG))[fresh] : undefined;
            if (state && seen[seen.length - 1] !== state) seen.push(state);
            return state === "unhealthy";
        }, 10_000, 50);
        assert.deepStrictEqual(seen, ["initial", "unhealthy"]);
        assert.strictEqual((await cloud.describeGroup(G)).instances.find((i) => i.instanceId === fresh)?.lifecycleState, "InService");
        await cloud.setDefaultLaunchTemplateVersion("lt-local", good);
        await cloud.terminateInstance(fresh, true);
        await until("gone", async () => (await cloud.describeGroup(G)).instances.length === 2, 10_000, 50);
    });

    it("the maintenance rule answers 503 with the page, and is removed again", async () => {
        const rule = await cloud.addMaintenanceRule(cloud.listenerArn, "<h1>Back soon</h1>\n<p>100% sure</p>");
        const down = await httpGet(cloud.url + "/");
        assert.strictEqual(down.status, 503);
        assert.strictEqual(down.body, "<h1>Back soon</h1> <p>100% sure</p>");
        assert.strictEqual(down.headers["retry-after"], "60");
        assert.deepStrictEqual(await cloud.findMaintenanceRules(cloud.listenerArn), [rule]);
        await cloud.removeMaintenanceRule(rule);
        assert.deepStrictEqual(await cloud.findMaintenanceRules(cloud.listenerArn), []);
        await until("serving again", async () => (await httpGet(cloud.url + "/")).status === 200, 5_000, 50);
    });
});

describe("local cloud: ELB health checks replace unhealthy instances (unless ReplaceUnhealthy is suspended)", function () {
    this.timeout(30_000);
    let work: string;
    let cloud: LocalCloud;
    const G = "rehearsal-asg";

    before(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "local-cloud-elb-"));
        const dir = writeTinyRelease(path.join(work, "mgmt"), "broken");
        fs.writeFileSync(path.join(dir, "tinyapp.py"), "raise RuntimeError('fails at start')\n");
        cloud = tinyCloud(work, { maxSize: 2, deregistrationDelayS: 0.2, healthCheckGracePeriodS: 1.5, gracefulTimeoutS: 1 });
        await cloud.start();
        const ami = await cloud.createImage("i-mgmt", "broken", {});
        await cloud.waitForImage(ami, 10);
        await cloud.setDefaultLaunchTemplateVersion("lt-local", await cloud.createLaunchTemplateVersion("lt-local", 1, ami, "broken"));
    });

    after(() => stopAndClean(cloud, work));

    it("keeps an Unhealthy instance while ReplaceUnhealthy is suspended, replaces it once resumed", async () => {
        await cloud.suspendProcesses(G, ["ReplaceUnhealthy"]);
        await cloud.updateGroupSize(G, { desiredCapacity: 1 });
        await until("instance Unhealthy", async () => (await cloud.describeGroup(G)).instances[0]?.healthStatus === "Unhealthy", 10_000, 50);
        const [first] = (await cloud.describeGroup(G)).instances;
        await new Promise((r) => setTimeout(r, 600));
        assert.deepStrictEqual((await cloud.describeGroup(G)).instances.map((i) => i.instanceId), [first.instanceId], "kept while suspended");
        await cloud.resumeProcesses(G, ["ReplaceUnhealthy"]);
        await until("a replacement", async () => {
            const g = await cloud.describeGroup(G);
            return !g.instances.some((i) => i.instanceId === first.instanceId) && g.instances.length === 1;
        }, 10_000, 50);
        assert.strictEqual((await cloud.describeGroup(G)).desiredCapacity, 1);
    });
});
