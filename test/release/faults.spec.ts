/**
 * Transient and partial faults on the simulated AWS (real SDK clients, virtual clock): absorbed
 * where AWS documents them as retryable, never leaving an instance in service outside the target
 * group, never rolling back a fleet that already runs the new version; and the SDK clients'
 * own time-outs against a server that never answers (real clock, 127.0.0.1).
 */
import * as assert from "node:assert/strict";
import * as net from "node:net";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { SimAws } from "../../testkit/sim-aws";
import { awsError } from "../../testkit/sim-aws/service";
import { AwsCloud } from "../../providers/release/aws/cloud";
import { ExecContext, ExecResult, LOCK_TAG, PROGRESS_TAG, runRelease } from "../../providers/release/executor";
import { realClock } from "../../providers/release/ports";
import { FakeRemotePhase, inputs } from "../../testkit/fakes";
import { expectKnownGood, runningFleet, World } from "../../testkit/world";

/** Every live instance of the fleet is registered (not draining) in the target group. */
function allRegistered(sim: SimAws) {
    for (const i of sim.fleet()) {
        const t = sim.targets.get(i.id);
        assert.ok(t && t.deregisteredAt === undefined, `${i.id} (${i.state}) is in service outside the target group`);
    }
}

describe("transient faults on the simulated AWS", () => {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());

    async function release(w: World, over: Partial<ExecContext> = {}, version = "v1.1.0") {
        const lines: string[] = [];
        const remote = new FakeRemotePhase(w.deployed.version);
        const run = runRelease({
            cloud: w.sim.cloud(),
            remotePhase: async () => remote,
            clock: realClock,
            log: (l) => lines.push(l),
            inputs: inputs(w.sim, { version }),
            deployed: w.deployed,
            owner: "shop/prod/web-release",
            ...over,
        });
        const r = await vc.drive(run.then((result: ExecResult) => ({ result, error: undefined as any }), (error) => ({ result: undefined, error })));
        return { ...r, lines };
    }

    /** Injects `make()` into the nth (1-based) call of `command`, `times` calls in a row. */
    function onNth(sim: SimAws, command: string, nth: number, make: () => Error, times = 1) {
        let seen = 0;
        sim.inject = (c) => {
            if (c.command !== command) return undefined;
            seen++;
            return seen >= nth && seen < nth + times ? make() : undefined;
        };
    }

    it("one ScalingActivityInProgress on the second terminate: retried (documented retryable), the release succeeds", async () => {
        const w = runningFleet(4);
        onNth(w.sim, "TerminateInstanceInAutoScalingGroup", 2, () => awsError("ScalingActivityInProgressFault", "Scaling activity act-1 is in progress and blocks this action."));
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.equal(w.sim.apiCalls((c) => c.command === "TerminateInstanceInAutoScalingGroup" && !!c.error).length, 1, "the fault was injected");
        expectKnownGood(w, { version: 3 });
        allRegistered(w.sim);
    });

    it("one ResourceContention on the scale-out: retried, the release succeeds", async () => {
        const w = runningFleet(2);
        onNth(w.sim, "SetDesiredCapacity", 1, () => awsError("ResourceContentionFault", "You already have a pending update to an Auto Scaling resource."));
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        expectKnownGood(w, { version: 3 });
    });

    it("DescribeTargetHealth failing through all the SDK's retries once mid-wave: one missed look, the release succeeds", async () => {
        const w = runningFleet(4);
        onNth(w.sim, "DescribeTargetHealth", 2, () => awsError("InternalFailure", "simulated", 500), 10);
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.ok(r.lines.some((l) => /DescribeTargetHealth failed \(looking again at the next poll\)/.test(l)));
        expectKnownGood(w, { version: 3 });
    });

    it("a terminate that fails for good after the old instance was deregistered: the rollback registers it again", async () => {
        const w = runningFleet(4);
        onNth(w.sim, "TerminateInstanceInAutoScalingGroup", 2, () => awsError("ValidationError", "simulated permanent failure"));
        const r = await release(w);
        assert.equal(r.error?.outcome, "rolled-back", String(r.error ?? r.result?.outcome));
        assert.ok(r.lines.some((l) => /registered (i-\S+ )+in the target group again/.test(l)), r.lines.join("\n"));
        expectKnownGood(w, { version: 2 });
        allRegistered(w.sim);
    });

    it("ResumeProcesses denied after every wave: the release stands (never rolled back), with a warning saying what to run", async () => {
        const w = runningFleet(2);
        w.sim.denied.add("ResumeProcesses");
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.match(r.result!.reason ?? "", /restoring group web-asg failed: AccessDenied.*autoscaling:ResumeProcesses.*resume-processes/);
        assert.deepEqual(w.sim.fleetVersions(), [3]);
    });

    it("DeleteTags denied at unlock: a warning; the lock is marked finished, and the next run takes it at once and inherits nothing", async () => {
        const w = runningFleet(2);
        w.sim.denied.add("DeleteTags");
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.match(r.result!.reason ?? "", /unlock: AccessDenied/);
        assert.match(w.sim.group.tags.get(LOCK_TAG) ?? "", /;done$/);
        assert.ok(w.sim.group.tags.has(PROGRESS_TAG), "progress tag left behind");
        w.sim.denied.delete("DeleteTags");
        // Someone scales the group meanwhile: the next run must not restore the stale sizes.
        w.sim.group.desired = 3;
        const deployed = { ...w.deployed, version: "v1.1.0", amiId: r.result!.deployed.amiId, launchTemplateVersion: 3 };
        const next = await release({ ...w, deployed }, {}, "v1.2.0");
        assert.equal(next.result?.outcome, "succeeded", next.error?.message);
        assert.ok(next.lines.some((l) => /removing the tags run \S+ left when it finished/.test(l)));
        assert.ok(!next.lines.some((l) => /inherited/.test(l)), "nothing inherited");
        assert.equal(w.sim.group.desired, 3);
        assert.equal(w.sim.group.tags.size, 0);
    });
});

describe("SDK client time-outs (a 127.0.0.1 server that accepts and never answers)", () => {
    let server: net.Server;
    let port = 0;
    const sockets: net.Socket[] = [];
    before(async () => {
        server = net.createServer((s) => sockets.push(s));
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        port = (server.address() as net.AddressInfo).port;
    });
    after(async () => {
        for (const s of sockets) s.destroy();
        await new Promise((r) => server.close(r));
    });

    it("every request has a time-out: a hung DescribeAutoScalingGroups fails after requestTimeoutMs instead of hanging", async () => {
        const cloud = new AwsCloud({
            region: "eu-west-1",
            maxAttempts: 1,
            requestTimeoutMs: 400,
            clientConfig: { endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" } },
        });
        const t0 = Date.now();
        await assert.rejects(cloud.describeGroup("web"), (e: any) => /timeout|timed out/i.test(`${e?.name} ${e?.message}`));
        const took = Date.now() - t0;
        assert.ok(took >= 350 && took < 5000, `failed after ${took} ms`);
    });
});

describe("rollout numbers validated against what they feed", () => {
    const { normalizeInputs } = require("../../providers/release/inputs");
    const { rawArgs } = require("../../testkit/fakes");
    const sim = new SimAws();
    const failures = (rollout: Record<string, unknown>) => normalizeInputs(rawArgs(sim, { rollout })).failures as { property: string; reason: string }[];

    it("bakeTimeoutS too short for the image waiter's 20 s poll: refused, naming key and value (27 used to fail the waiter and roll back)", () => {
        const f = failures({ bakeTimeoutS: 27 });
        assert.deepEqual(f.map((x) => x.property), ["rollout.bakeTimeoutS"]);
        assert.match(f[0].reason, /^rollout\.bakeTimeoutS must leave the image waiter \(3\/4 of it\) at least two of its 20 s polls, so at least 54; got 27$/);
        assert.equal(failures({ bakeTimeoutS: 53 }).length, 1);
        assert.deepEqual(failures({ bakeTimeoutS: 54 }), []);
    });

    it("pollIntervalS not shorter than healthyTimeoutS, and a lock TTL under 180 s: refused, naming key and value", () => {
        assert.match(failures({ pollIntervalS: 60, healthyTimeoutS: 60 })[0].reason, /rollout\.pollIntervalS \(60\) must be shorter than rollout\.healthyTimeoutS \(60\)/);
        assert.match(failures({ lockTtlS: 30 })[0].reason, /rollout\.lockTtlS must be at least 180 .*got 30/);
    });
});

describe("bounded: the release's deadline and the ramp's re-plans", () => {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());

    it("a release past its deadline starts no new wave: rolled back, naming the deadline", async () => {
        const w = runningFleet(4);
        const remote = new FakeRemotePhase("v1.0.0");
        const deadlineMs = Date.now() + 12 * 60_000; // the bake takes ~5 min, each of the 4 waves ~3 min
        const run = runRelease({
            cloud: w.sim.cloud(), remotePhase: async () => remote, clock: realClock, log: () => undefined,
            inputs: inputs(w.sim, { version: "v1.1.0" }), deployed: w.deployed, owner: "shop/prod/web-release", deadlineMs,
        });
        const r: any = await vc.drive(run.then((x) => ({ x }), (error) => ({ error })));
        assert.equal(r.error?.outcome, "rolled-back", String(r.error ?? r.x?.outcome));
        assert.match(r.error.message, /failed at ramp wave \d+: the release's deadline \(\S+\) passed before ramp wave \d+ could start/);
        expectKnownGood(w, { version: 2 });
    });

    it("a scaling policy changing desired at every look: the ramp stops after a bounded number of re-plans and rolls back", async () => {
        const w = runningFleet(2, { max: 40 });
        // "Someone else" raises desired by one before every target-health look.
        w.sim.inject = (c) => {
            if (c.command === "DescribeTargetHealth" && w.sim.group.tags.has(PROGRESS_TAG)) w.sim.group.desired = Math.min(w.sim.group.max, w.sim.group.desired + 1);
            return undefined;
        };
        const remote = new FakeRemotePhase("v1.0.0");
        const run = runRelease({
            cloud: w.sim.cloud(), remotePhase: async () => remote, clock: realClock, log: () => undefined,
            inputs: inputs(w.sim, { version: "v1.1.0" }), deployed: w.deployed, owner: "shop/prod/web-release",
        });
        const r: any = await vc.drive(run.then((x) => ({ x }), (error) => ({ error })));
        assert.ok(r.error, `expected a failure, got ${r.x?.outcome}`);
        assert.match(r.error.message, /desired capacity changed outside the release 11 times during the ramp: stopped/);
    });
});
