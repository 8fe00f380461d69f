/**
 * How the executor waits: the first look at a wave's instances when they can first be healthy, then
 * one look per health-check interval; the AMI after three minutes, then every 20 s; each wait ends on
 * an observed state, before its deadline. API-call budgets on the simulated AWS.
 */
import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { LOCK_TAG, Progress, runRelease } from "../../providers/release/executor";
import type { Deployed } from "../../providers/release/planner";
import { realClock } from "../../providers/release/ports";
import { FakeRemotePhase, inputs, targetGroupTimingsOf } from "../../testkit/fakes";
import { expectKnownGood, runningFleet } from "../../testkit/world";

const REALISTIC = { bootS: 60, healthCheckIntervalS: 30, healthyThreshold: 3, deregistrationDelayS: 30, amiCreationS: 300 };

describe("release executor: polling and API calls", () => {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());

    async function release(w: ReturnType<typeof runningFleet>, over: Record<string, any> = {}) {
        const lines: string[] = [];
        const t0 = Date.now();
        // The configured capacity is the group's: no capacity step after the ramp.
        w.deployed.capacity = { minSize: w.before.min, maxSize: w.before.max, desiredCapacity: w.before.desired };
        const r = await vc.drive(
            runRelease({
                cloud: w.sim.cloud(),
                remotePhase: async () => new FakeRemotePhase("v1.0.0"),
                clock: realClock,
                log: (l) => lines.push(l),
                inputs: inputs(w.sim, { version: "v1.1.0", capacity: { minSize: w.before.min, maxSize: w.before.max, desiredCapacity: w.before.desired }, ...over }),
                deployed: w.deployed,
                owner: "shop/prod/web-release",
            }),
        );
        const at = (command: string) => w.sim.apiCalls((c) => c.command === command).map((c) => (c.t - t0) / 1000);
        return { r, lines, at, t0 };
    }

    it("N=2, maxSurge 1: the waves are looked at when ready, the AMI after 3 min; 36 calls in all (6 of them reads of the group)", async () => {
        const w = runningFleet(2, { timings: REALISTIC, max: 2 });
        const { r, at } = await release(w);
        assert.equal(r.outcome, "succeeded");
        expectKnownGood(w, { version: 3 });
        const created = at("CreateImage")[0];
        const images = at("DescribeImages");
        // Waiter: first look 180 s after CreateImage, then every 20 s, until available at 300 s; then prune.
        assert.deepEqual(images.slice(0, -1).map((t) => Math.round(t - created)), [180, 200, 220, 240, 260, 280, 300]);
        // Target health: one look per wave when it is healthy (boot + 3 x 30 s; wave 2 launched when
        // wave 1's batch was deregistered, so 150 s after it), one after the last drain, which also
        // serves the settling check after the restore (made a moment later: at most FENCE_FRESH_MS).
        const th = at("DescribeTargetHealth");
        assert.deepEqual(th.map((t) => Math.round(t - th[0])), [0, 150, 180], `DescribeTargetHealth at ${th.join(", ")}`);
        assert.equal(th.length, 3, `DescribeTargetHealth at ${th.join(", ")}`);
        assert.equal(at("DescribeTargetGroups").length, 1, "timings read once");
        assert.equal(at("DescribeTargetGroupAttributes").length, 1, "deregistration delay read once");
        assert.equal(at("DescribeLaunchTemplates").length, 0, "the previous version comes from the last release");
        assert.equal(at("DeleteTags").length, 1, "lock and progress tags removed together");
        // The fenced lock checks the group before each step that changes something, on a read at
        // most FENCE_FRESH_MS old made since this run last changed the group (TAG_WRITE_FRESH_MS
        // before a write to the lock tag): the first look serves the acquisition; the read-back
        // the remote and bake steps (the fake remote phase takes no time); the template step's
        // check also gives the ramp the sizes it saves (a read at most TAG_WRITE_FRESH_MS old, the
        // template's writes being to the launch template); the restore sets back the max it raised
        // without reading first; the settling read serves the invalidate and prune steps and the
        // unlock. Then the waves' own reads; the heartbeat, due before the next wave's, refreshes the
        // lock on wave 2's read (no read of its own).
        assert.equal(at("DescribeAutoScalingGroups").length, 6);
        // No lock, progress or maintenance marker on the group: no earlier release left a
        // maintenance page on, so none is looked for (no DescribeRules; see no-return.spec).
        assert.equal(at("DescribeRules").length, 0);
        // Under the lock, one DescribeLaunchTemplateVersions ($Default and the base): was this release
        // already made by another run? The base version's data it returns is what the template step copies.
        assert.equal(at("DescribeLaunchTemplateVersions").length, 1);
        assert.deepEqual(w.sim.apiCalls((c) => c.command === "DescribeLaunchTemplateVersions")[0].input.Versions, ["$Default", "1"]);
        assert.equal(w.sim.apiCalls().length, 36);
    });

    it("a long ramp: the lock's refresh rides on a wave's read when it falls due before the next wave; the lock never lapses", async () => {
        const w = runningFleet(10, { timings: REALISTIC, max: 10 });
        const { r, at, t0 } = await release(w, { rollout: { maxSurge: 1 } });
        assert.equal(r.outcome, "succeeded", r.reason);
        assert.equal(r.progress.replaced.length, 10);
        const lockWrites = w.sim.apiCalls((c) => c.command === "CreateOrUpdateTags" && c.input.Tags?.some((t: any) => t.Key === LOCK_TAG)).map((c) => (c.t - t0) / 1000);
        const end = at("DeleteTags")[0];
        // Refreshed every third of the 1800 s TTL at the latest (from the read-back, 2 s after the write), or earlier on a wave's read: never near expiry.
        const gaps = [...lockWrites.slice(1), end].map((t, k) => Math.round(t - lockWrites[k]));
        assert.ok(lockWrites.length >= 4 && gaps.every((g) => g <= 605), `lock written at ${lockWrites.join(", ")}; gaps ${gaps.join(", ")}`);
        // Every read of the group during the ramp is a wave's (10 waves): none of the heartbeat's own.
        const rampStart = at("SuspendProcesses")[0];
        const lastWave = at("DeregisterTargets").slice(-1)[0];
        assert.equal(at("DescribeAutoScalingGroups").filter((t) => t > rampStart && t <= lastWave).length, 10);
    });

    it("with the target group's timings as the program passes them (targetGroupTimings): 34 calls, no DescribeTargetGroups or DescribeTargetGroupAttributes, every look at the same time", async () => {
        const read = await release(runningFleet(2, { timings: REALISTIC, max: 2 }));
        const w = runningFleet(2, { timings: REALISTIC, max: 2 });
        const given = await release(w, { targetGroupTimings: targetGroupTimingsOf(w.sim) });
        assert.equal(given.r.outcome, "succeeded");
        expectKnownGood(w, { version: 3 });
        assert.equal(given.at("DescribeTargetGroups").length, 0);
        assert.equal(given.at("DescribeTargetGroupAttributes").length, 0);
        // The same waits: the health looks, the image looks and the drain at the same moments.
        for (const command of ["DescribeTargetHealth", "DescribeImages", "TerminateInstanceInAutoScalingGroup", "DescribeAutoScalingGroups"]) {
            assert.deepEqual(given.at(command), read.at(command), command);
        }
        assert.equal(w.sim.apiCalls().length, 34);
    });

    /** A release after `deployed` with a bake of `amiCreationS`: the looks at its image (s after CreateImage) and what the state records. */
    async function bakeAfter(w: ReturnType<typeof runningFleet>, deployed: Deployed, version: string, amiCreationS: number, rollout: Record<string, number> = {}) {
        w.sim.t.amiCreationS = amiCreationS;
        const t0 = Date.now();
        const r = await vc.drive(
            runRelease({
                cloud: w.sim.cloud(),
                remotePhase: async () => new FakeRemotePhase(deployed.version),
                clock: realClock,
                log: () => undefined,
                inputs: inputs(w.sim, { version, baseLaunchTemplateVersion: deployed.baseLaunchTemplateVersion, capacity: deployed.capacity, rollout }),
                deployed,
                owner: "shop/prod/web-release",
            }),
        );
        assert.equal(r.outcome, "succeeded", r.reason);
        const created = w.sim.apiCalls((c) => c.command === "CreateImage" && c.t >= t0)[0].t;
        // A look: the waiter's DescribeImages of the image, or the bake's own listing of the group's
        // images (the last of which the prune step reuses: no listing after the ramp).
        const listing = (c: any) => !c.input.ImageIds && c.input.Filters?.some((f: any) => f.Name === "tag:release:group");
        const bakeDone = w.sim.apiCalls((c) => c.command === "CreateLaunchTemplateVersion" && c.t >= t0)[0].t;
        const looks = w.sim
            .apiCalls((c) => c.command === "DescribeImages" && c.t >= created && c.t <= bakeDone && (c.input.ImageIds?.[0] === r.deployed.amiId || listing(c)))
            .map((c) => Math.round((c.t - created) / 1000));
        const prunes = w.sim.apiCalls((c) => c.command === "DescribeImages" && c.t > bakeDone && listing(c)).length;
        return { looks, bakeS: r.deployed.bakeS, deployed: r.deployed, prunes };
    }

    it("the next release looks at its image first at 80 % of the last bake's duration, then when the last bake ended; the state records the duration", async () => {
        const w = runningFleet(2, { timings: REALISTIC, max: 2 });
        const first = await release(w);
        assert.equal(first.r.deployed.bakeS, 300, "the bake's duration is in the state");
        const second = await bakeAfter(w, first.r.deployed, "v1.2.0", 300);
        assert.deepEqual(second.looks, [240, 300], "2 looks instead of 7");
        assert.equal(second.bakeS, 300);
        assert.equal(second.prunes, 0, "the prune step works from the last look's listing");
        // A bake a little faster than the last is seen at the second look (the trade-off), and records it as that long.
        const faster = await bakeAfter(w, second.deployed, "v1.2.1", 270);
        assert.deepEqual([faster.looks, faster.bakeS], [[240, 300], 300]);
        // A little slower: the waiter polls every 20 s after the second look.
        const slower = await bakeAfter(w, faster.deployed, "v1.2.2", 330);
        assert.deepEqual([slower.looks, slower.bakeS], [[240, 300, 320, 340], 340]);
        assert.equal(slower.prunes, 1, "the waiter's look lists nothing: the prune step lists");
        // A bake much slower than the last one still gets the whole bakeTimeoutS.
        const third = await bakeAfter(w, { ...second.deployed, bakeS: 300 }, "v1.3.0", 900, { bakeTimeoutS: 1000 });
        assert.deepEqual(third.looks.slice(0, 3), [240, 300, 320]);
        assert.equal(third.bakeS, 900);
    });

    it("what the state records of a bake: 80 % of it when the image was ready at the first look; a slow bake's record delays the next first look by 360 s at most", async () => {
        const w = runningFleet(2, { timings: REALISTIC, max: 2 });
        const deployed = { ...w.deployed, capacity: { minSize: w.before.min, maxSize: w.before.max, desiredCapacity: w.before.desired } };
        // Ready at 100 s, first look at 240 s (80 % of 300): it took at most 240 s; 192 is recorded.
        const a = await bakeAfter(w, { ...deployed, bakeS: 300 }, "v2.1.0", 100);
        assert.deepEqual([a.looks, a.bakeS], [[240], 192]);
        // The next looks earlier: 154 s.
        const b = await bakeAfter(w, a.deployed, "v2.2.0", 100);
        assert.deepEqual(b.looks, [154]);
        // After a 3000 s bake, a 300 s one is looked at first at 360 s (twice the default 180 s), not 2400 s.
        const c = await bakeAfter(w, { ...b.deployed, bakeS: 3000 }, "v2.3.0", 300);
        assert.deepEqual([c.looks, c.bakeS], [[360], 288]);
    });

    it("instances slower than expected: polled at the health-check interval until healthy (an observed state), no failure", async () => {
        const w = runningFleet(2, { timings: { ...REALISTIC, bootS: 200 }, max: 2 });
        const { r, at } = await release(w);
        assert.equal(r.outcome, "succeeded");
        expectKnownGood(w, { version: 3 });
        const th = at("DescribeTargetHealth");
        const gaps = th.slice(1).map((t, k) => Math.round(t - th[k]));
        // Wave 1: 150 s (expected), then every 30 s until the instance is healthy at 290 s; wave 2 learned 290 s.
        assert.ok(gaps.filter((g) => g > 0 && g < 30).length <= 2, `no poll closer than the 30 s interval except after drain: ${gaps.join(", ")}`);
        // 150, 180, ..., 300 (6 looks), wave 2 (launched at wave 1's deregistration) at the learned
        // 300 s, its batch drained (that look also serves the settling check).
        assert.equal(th.length, 8, `DescribeTargetHealth at ${th.join(", ")}`);
    });

    it("a wave that never gets healthy still ends at its deadline (rolled back)", async () => {
        const w = runningFleet(2, { timings: REALISTIC, max: 2 });
        w.sim.nextImageFaults = { neverHealthy: true };
        const lines: string[] = [];
        await assert.rejects(
            vc.drive(
                runRelease({
                    cloud: w.sim.cloud(),
                    remotePhase: async () => new FakeRemotePhase("v1.0.0"),
                    clock: realClock,
                    log: (l) => lines.push(l),
                    inputs: inputs(w.sim, { version: "v1.1.0", rollout: { maxSurge: 1, healthyTimeoutS: 400 } }),
                    deployed: w.deployed,
                    owner: "shop/prod/web-release",
                }),
            ),
            /failed at ramp .*rolled back/,
        );
        expectKnownGood(w, { version: 2 });
    });

    it("a run interrupted during the bake resumes waiting for the pending image, counting the minutes already spent", async () => {
        const w = runningFleet(2, { timings: REALISTIC, max: 2 });
        w.deployed.capacity = { minSize: w.before.min, maxSize: w.before.max, desiredCapacity: w.before.desired };
        const ctx = (progress: Progress | null, checkpoint?: (p: Progress) => void) => ({
            cloud: w.sim.cloud(),
            remotePhase: async () => new FakeRemotePhase("v1.0.0"),
            clock: realClock,
            log: () => undefined,
            inputs: inputs(w.sim, { version: "v1.1.0", capacity: w.deployed.capacity }),
            deployed: w.deployed,
            owner: "shop/prod/web-release",
            progress,
            checkpoint,
        });
        let saved: Progress | null = null;
        await assert.rejects(
            vc.drive(
                runRelease(
                    ctx(null, (p) => {
                        if (p.amiId && !p.done.includes("bake")) {
                            saved = p;
                            throw Object.assign(new Error("killed"), { interrupted: true });
                        }
                    }),
                ),
            ),
            /killed/,
        );
        assert.ok(saved, "interrupted with a pending image");
        const created = w.sim.apiCalls((c) => c.command === "CreateImage")[0].t;
        await vc.advance(100_000); // Pulumi is re-run 100 s later
        const resumedAt = Date.now();
        const r = await vc.drive(runRelease(ctx(saved)));
        assert.equal(r.outcome, "succeeded");
        assert.equal(w.sim.apiCalls((c) => c.command === "CreateImage").length, 1, "not baked twice");
        const looks = w.sim.apiCalls((c) => c.command === "DescribeImages" && c.t > resumedAt).map((c) => Math.round((c.t - created) / 1000));
        // The resumed run's look at the image (at 100 s + the 2 s lock read-back), then the waiter from
        // 180 s after CreateImage (not 180 s after the resume), every 20 s until 300 s; then prune.
        assert.deepEqual(looks.slice(0, -1), [102, 180, 200, 220, 240, 260, 280, 300]);
        expectKnownGood(w, { version: 3 });
    });
});
