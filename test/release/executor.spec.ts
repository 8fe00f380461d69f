/**
 * The executor against the simulated AWS (real SDK clients, virtual clock): the normal paths.
 * Every case ends by checking the group is in a known good state. The fault matrix is
 * fault-matrix.spec.ts's.
 */
import * as assert from "node:assert/strict";
import { LOCK_TAG, ReleaseError } from "../../providers/release/executor";
import { BREAKING, FakeRemotePhase } from "../../testkit/fakes";
import { expectKnownGood, runningFleet, World } from "../../testkit/world";
import { SimAws } from "../../testkit/sim-aws";
import { calls, virtualClockReleases } from "./release-run";

describe("release executor on the simulated AWS: normal paths", function () {
    const clock = virtualClockReleases();
    const { release } = clock;

    it("replaces a fleet of 4 one at a time and restores the group exactly", async () => {
        const w = runningFleet(4);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.changedStaticPaths = ["/static/robots.txt"];
        const r = await release(w, { remote });
        assert.equal(r.error, undefined, r.error?.message);
        assert.equal(r.result!.outcome, "succeeded");
        assert.equal(r.result!.progress.replaced.length, 4);
        assert.equal(r.result!.deployed.launchTemplateVersion, 3);
        expectKnownGood(w, { version: 3 });
        // Two size changes for the whole ramp (the surge, then the second wave's launch while the
        // first batch drains); later waves are launched by terminating a drained batch without decrement.
        assert.equal(calls(w.sim, "SetDesiredCapacity").length, 2);
        assert.deepEqual(calls(w.sim, "CreateInvalidation")[0].input.InvalidationBatch.Paths.Items, ["/static/robots.txt"]);
        assert.ok(r.lines.some((l) => /ramp wave 4\/4 done/.test(l)), "progress line per wave");
        assert.deepEqual(remote.calls.filter((c) => c.startsWith("apply")), ["apply v1.1.0 refuse"]);
    });

    it("the launch template version is created with an idempotency token of the run: a repeated request gets the same version", async () => {
        const w = runningFleet(2);
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        const p = r.result!.progress;
        const [c] = calls(w.sim, "CreateLaunchTemplateVersion");
        assert.equal(c.input.ClientToken, `release-${p.runId}-b1-${p.amiId}`);
        assert.ok(c.input.ClientToken.length <= 128);
        // A retry whose response was lost (same token, same request): no second version.
        const before = w.sim.templates.size;
        const again = await clock.vc.drive(w.sim.cloud().createLaunchTemplateVersion(w.sim.ltId, 1, p.amiId!, c.input.VersionDescription, c.input.ClientToken));
        assert.equal(again, p.launchTemplateVersion);
        assert.equal(w.sim.templates.size, before);
    });

    it("pruning keeps the AMI of the live default launch template version, even when it is not among the newest", async () => {
        const w = runningFleet(2);
        const day = 86400_000;
        // Older release AMIs (keepImages is 3): the oldest is what the live default version launches.
        const live = w.sim.addImage({ "release:group": w.sim.groupName }, {}, Date.now() - 30 * day);
        const old = [5, 4, 3, 2].map((d) => w.sim.addImage({ "release:group": w.sim.groupName }, {}, Date.now() - d * day));
        w.sim.addTemplateVersion(live, true);
        const { pruneImages } = await import("../../providers/release/executor");
        const removed = await clock.vc.drive(pruneImages(w.sim.cloud(), w.sim.groupName, 3, [], w.sim.ltId));
        assert.ok(!removed.includes(live), `the live default's AMI ${live} was pruned`);
        assert.equal(w.sim.images.get(live)!.deregistered, false);
        assert.ok(removed.includes(old[0]), "an older AMI that nothing uses is pruned");
        assert.equal(calls(w.sim, "DescribeLaunchTemplateVersions").filter((c) => (c.input.Versions ?? []).includes("$Default")).length, 1);
    });

    it("ramps in waves of maxSurge \"50%\" (2 at a time)", async () => {
        const w = runningFleet(4);
        const r = await release(w, { over: { rollout: { maxSurge: "50%" } } });
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.ok(r.lines.some((l) => /ramp wave 2\/2 done/.test(l)));
        expectKnownGood(w, { version: 3 });
    });

    it("first release: bakes, makes its version default, scales the group from 0 to the configured capacity", async () => {
        const sim = new SimAws();
        const w: World = { sim, deployed: null as any, before: { desired: 0, max: 4, min: 0, suspended: [] } };
        const r = await release(w, { deployed: null, over: { capacity: { minSize: 2, maxSize: 6, desiredCapacity: 3 } } });
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.equal(r.result!.progress.kind, "first");
        assert.equal(sim.group.min, 2);
        expectKnownGood(w, { version: 2, desired: 3, max: 6 });
        assert.equal(calls(sim, "SuspendProcesses").length, 0, "no ramp, nothing suspended");
        // Never a bare-base-image instance.
        assert.ok([...sim.instances.values()].every((i) => i.ltVersion === 2));
    });

    it("base template changed, version unchanged: new template version from the new base + current AMI, ramp, no bake", async () => {
        const w = runningFleet(2);
        const base = w.sim.addBaseVersion({ InstanceType: "t3.medium" });
        const r = await release(w, { over: { version: "v1.0.0", baseLaunchTemplateVersion: base } });
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.equal(r.result!.progress.kind, "template");
        assert.equal(calls(w.sim, "CreateImage").length, 0);
        assert.equal(r.remote.calls.length, 0, "no remote phase");
        const v = w.sim.defaultVersion;
        assert.equal(w.sim.templates.get(v)!.data.InstanceType, "t3.medium");
        assert.equal(w.sim.templates.get(v)!.data.ImageId, w.deployed.amiId);
        expectKnownGood(w, { version: v });
    });

    it("capacity change alone: applied without a ramp", async () => {
        const w = runningFleet(4);
        const r = await release(w, { over: { version: "v1.0.0", capacity: { minSize: 2, maxSize: 6, desiredCapacity: 5 } } });
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.equal(r.result!.progress.kind, "capacity");
        assert.equal(calls(w.sim, "TerminateInstanceInAutoScalingGroup").length, 0);
        assert.deepEqual(calls(w.sim, "UpdateAutoScalingGroup")[0].input, { AutoScalingGroupName: w.sim.groupName, MinSize: 2, MaxSize: 6, DesiredCapacity: 5 });
        expectKnownGood(w, { version: 2, desired: 5 });
    });

    it("desired capacity 0 on a later release: template made default, nothing launched", async () => {
        const w = runningFleet(0);
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.equal(w.sim.defaultVersion, 3);
        assert.equal(w.sim.fleet().length, 0);
        expectKnownGood(w);
    });

    it("processes suspended before the release stay suspended; only ours are resumed", async () => {
        const w = runningFleet(2, { suspended: ["AZRebalance"] });
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.deepEqual(calls(w.sim, "SuspendProcesses")[0].input.ScalingProcesses, ["AlarmNotification", "ScheduledActions"]);
        assert.deepEqual(calls(w.sim, "ResumeProcesses")[0].input.ScalingProcesses, ["AlarmNotification", "ScheduledActions"]);
        expectKnownGood(w, { version: 3 });
    });

    it("scale-in-protected instances are replaced like the others", async () => {
        const w = runningFleet(3);
        const protectedId = w.sim.fleet()[0].id;
        w.sim.instances.get(protectedId)!.protected = true;
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.ok(r.result!.progress.replaced.includes(protectedId));
        expectKnownGood(w, { version: 3 });
    });

    it("refuses Standby instances before changing anything", async () => {
        const w = runningFleet(3);
        const sb = w.sim.fleet()[1];
        sb.state = "Standby";
        const r = await release(w);
        assert.ok(r.error instanceof ReleaseError);
        assert.match(r.error.message, new RegExp(`${sb.id}.*Standby`));
        assert.equal(w.sim.apiCalls((c) => !/^Describe/.test(c.command)).length, 0, "only reads");
    });

    it("a long release keeps its lock alive (refreshed every third of its TTL)", async () => {
        const w = runningFleet(4);
        let expiredSeen = false;
        const r = await release(w, {
            over: { rollout: { lockTtlS: 240 } },
            checkpoint: () => {
                const v = w.sim.group.tags.get(LOCK_TAG);
                if (v && Date.parse(v.split(";")[2]) <= Date.now()) expiredSeen = true;
            },
        });
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.equal(expiredSeen, false, "the lock never looked stale while the release ran");
        const refreshes = w.sim.apiCalls((c) => c.command === "CreateOrUpdateTags" && c.input.Tags[0].Key === LOCK_TAG).length;
        assert.ok(refreshes >= 10, `lock written ${refreshes} times over a ~17 min release`);
    });

    it("an inspection failure names its cause once (stderr's last line is not repeated)", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.failInspect = "checkout failed (exit 128): fatal: couldn't find remote ref v9.9.9";
        const r = await release(w, { remote, over: { version: "v9.9.9" } });
        assert.equal(r.error?.outcome, "refused", String(r.error));
        assert.equal(r.error.message, "release refused: inspecting v9.9.9 on i-0management000000 failed: checkout failed (exit 128): fatal: couldn't find remote ref v9.9.9");
    });

    it("a version the repository does not have: refused before anything changes, the remote phase closed", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.failInspect = "checkout failed (exit 128)";
        const r = await release(w, { remote, over: { version: "v9.9.9" } });
        assert.equal(r.error?.outcome, "refused", String(r.error));
        assert.match(r.error.message, /inspecting v9\.9\.9 on i-0management000000 failed: checkout failed \(exit 128\): fatal: couldn't find remote ref v9\.9\.9/);
        assert.equal(remote.calls[remote.calls.length - 1], "close");
        // The inspection runs under the lock (so a run refused by the lock never inspects): the
        // only writes are the lock taken and given back.
        assert.deepEqual(w.sim.apiCalls((c) => !/^Describe/.test(c.command)).map((c) => `${c.command} ${c.input.Tags.map((t: any) => t.Key).join(",")}`), [
            "CreateOrUpdateTags release:lock",
            "DeleteTags release:progress,release:lock",
        ]);
        assert.equal(w.sim.group.tags.size, 0);
    });

    it("maintenance policy with breaking migrations: 503 rule on during the release, off after", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.migrations = BREAKING;
        let ruleDuringRamp = false;
        const r = await release(w, {
            remote,
            over: { migrationPolicy: "maintenance" },
            checkpoint: () => {
                if (w.sim.rules.size === 1) ruleDuringRamp = true;
            },
        });
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.ok(ruleDuringRamp);
        const create = calls(w.sim, "CreateRule")[0].input;
        assert.equal(create.Priority, 1);
        assert.equal(create.Actions[0].FixedResponseConfig.StatusCode, "503");
        expectKnownGood(w, { version: 3 });
    });

    it("refuse policy with breaking migrations: refused before anything changes, naming the migration", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.migrations = BREAKING;
        const r = await release(w, { remote });
        assert.ok(r.error instanceof ReleaseError);
        assert.match(r.error.message, /shop\.0007_rename_sku.*RENAME_COLUMN.*migrationPolicy/);
        assert.deepEqual(w.sim.apiCalls((c) => !/^Describe/.test(c.command)).map((c) => c.command), ["CreateOrUpdateTags", "DeleteTags"], "only the lock, taken and given back");
        assert.equal(w.sim.group.tags.size, 0);
        assert.ok(!remote.calls.some((c) => c.startsWith("apply")));
    });
});
