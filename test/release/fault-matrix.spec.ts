/**
 * The executor against the simulated AWS (real SDK clients, virtual clock): the fault matrix.
 * Every case ends in a known good state, or says exactly where it stands.
 */
import * as assert from "node:assert/strict";
import { LOCK_TAG, PROGRESS_TAG, Progress, ReleaseError } from "../../providers/release/executor";
import { BREAKING, FakeRemotePhase } from "../../testkit/fakes";
import { diesDuringBake, expectKnownGood, runningFleet, World } from "../../testkit/world";
import { SimAws } from "../../testkit/sim-aws";
import { calls, virtualClockReleases } from "./release-run";

describe("release executor on the simulated AWS: fault matrix (each ends in a known good state)", function () {
    const clock = virtualClockReleases();
    const { release } = clock;

    it("new instance never healthy: rolled back, error names the step, the instance and the cause", async () => {
        const w = runningFleet(4);
        w.sim.nextImageFaults = { neverHealthy: true };
        const r = await release(w, { over: { rollout: { healthyTimeoutS: 600 } } });
        assert.ok(r.error instanceof ReleaseError, String(r.error));
        assert.equal(r.error.outcome, "rolled-back");
        assert.equal(r.error.failure?.step, "ramp");
        assert.match(r.error.failure?.instanceId ?? "", /^i-/);
        assert.match(r.error.message, /unhealthy|initial/);
        assert.ok(r.remote.calls.includes("revert v1.0.0"), "management instance reverted");
        expectKnownGood(w, { version: 2 });
    });

    it("instance launch failure: rolled back, the scaling activity's reason in the error", async () => {
        const w = runningFleet(4);
        w.sim.nextImageFaults = { launchFails: true };
        const r = await release(w, { over: { rollout: { healthyTimeoutS: 300 } } });
        assert.equal(r.error?.outcome, "rolled-back", String(r.error));
        assert.match(r.error.message, /InvalidAMIID\.Unavailable/);
        expectKnownGood(w, { version: 2 });
    });

    it("AMI creation failed: fleet untouched, no template version, lock released", async () => {
        const w = runningFleet(3);
        w.sim.nextImageFaults = { creationFails: true };
        const r = await release(w);
        assert.equal(r.error?.failure?.step, "bake", String(r.error));
        assert.equal(calls(w.sim, "CreateLaunchTemplateVersion").length, 0);
        assert.equal(calls(w.sim, "DeregisterImage").length, 1, "the failed image is cleaned up");
        expectKnownGood(w, { version: 2 });
    });

    it("remote phase failed: the error carries the step and stderr; nothing baked", async () => {
        const w = runningFleet(3);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.failAt = { step: "migrate", stderr: "django.db.utils.ProgrammingError: column \"code\" does not exist" };
        const r = await release(w, { remote });
        assert.equal(r.error?.failure?.step, "remote/migrate", String(r.error));
        assert.match(r.error.message, /column "code" does not exist/);
        assert.equal(calls(w.sim, "CreateImage").length, 0);
        expectKnownGood(w, { version: 2 });
    });

    it("interruption mid-ramp, then resume from the saved progress: no re-bake, no instance replaced twice", async () => {
        const w = runningFleet(4);
        const first = await release(w, { interruptAfterReplaced: 2 });
        assert.equal(first.error?.interrupted, true);
        const saved = first.checkpoints[first.checkpoints.length - 1];
        assert.equal(saved.replaced.length, 2);
        assert.equal(w.sim.group.tags.has(LOCK_TAG), true, "the killed run still holds the lock");
        const second = await release(w, { progress: saved });
        assert.equal(second.result?.outcome, "succeeded", second.error?.message);
        assert.equal(calls(w.sim, "CreateImage").length, 1);
        const replaced = second.result!.progress.replaced;
        assert.equal(new Set(replaced).size, 4);
        expectKnownGood(w, { version: 3 });
    });

    it("interruption mid-ramp, then resume with no saved state: taken over from the group's tags once the lock expired", async () => {
        const w = runningFleet(4);
        const first = await release(w, { interruptAfterReplaced: 1 });
        assert.equal(first.error?.interrupted, true);
        // Nothing proves the fresh lock is a dead run's: refused while it could still be refreshed.
        const early = await release(w, { progress: null });
        assert.equal(early.error?.outcome, "refused", String(early.error));
        // Default TTL 1800 s: half of it is not enough (a missed refresh is no proof of death).
        await clock.vc.advance(901_000);
        const mid = await release(w, { progress: null });
        assert.equal(mid.error?.outcome, "refused", String(mid.error));
        await clock.vc.advance(900_000);
        const second = await release(w, { progress: null });
        assert.equal(second.result?.outcome, "succeeded", second.error?.message);
        assert.ok(second.lines.some((l) => /taking over a stale lock of shop\/prod\/web-release/.test(l)));
        assert.equal(calls(w.sim, "CreateImage").length, 1, "AMI inherited from the tag");
        expectKnownGood(w, { version: 3 });
    });

    it("killed during the bake, no saved state: the run that takes over the expired lock finds the dead run's image by its tags and bakes no second one", async () => {
        const w = runningFleet(2);
        const first = await release(w, {
            checkpoint: async (p) => {
                if (p.amiId && !p.done.includes("bake")) throw Object.assign(new Error("process killed"), { interrupted: true });
            },
        });
        assert.equal(first.error?.interrupted, true, String(first.error));
        assert.equal(calls(w.sim, "CreateImage").length, 1);
        assert.equal(w.sim.group.tags.has(PROGRESS_TAG), false, "no progress tag before the ramp");
        await clock.vc.advance(1801_000);
        const second = await release(w, { progress: null });
        assert.equal(second.result?.outcome, "succeeded", second.error?.message);
        assert.ok(second.lines.some((l) => /AMI ami-\w+ of the dead run \w+ is reused/.test(l)), second.lines.join("\n"));
        assert.equal(calls(w.sim, "CreateImage").length, 1, "not baked twice");
        expectKnownGood(w, { version: 3 });
    });

    it("killed during the bake (a dead process: no saved state), taken over; the take-over's ramp fails: the management instance goes back to what the fleet runs", async () => {
        const w = runningFleet(2);
        w.sim.nextImageFaults = { neverHealthy: true };
        const remote = new FakeRemotePhase("v1.0.0");
        // Killed at the first look at the image; its remote phase dies with it (no revert from a dead run).
        const dead = diesDuringBake(w, remote);
        const first = await release(w, { clock: dead.clock, remotePhase: dead.remotePhase, over: { rollout: { maxSurge: 1, healthyTimeoutS: 600 } } });
        assert.ok(dead.killed() && first.error, "killed during the bake");
        assert.equal(remote.current, "v1.1.0", "the dead run had switched the management instance");
        dead.bury();
        await clock.vc.advance(1801_000);
        const second = await release(w, { remote, progress: null, over: { rollout: { maxSurge: 1, healthyTimeoutS: 600 } } });
        assert.equal(second.error?.outcome, "rolled-back", String(second.error));
        // Its remote phase found v1.1.0 already current (the dead run's): back to the last release, not to v1.1.0.
        assert.equal(remote.current, "v1.0.0", remote.calls.join(", "));
        expectKnownGood(w, { version: 2 });
    });

    it("killed during a maintenance release: the next run takes the page off even though its migrations are applied", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.migrations = BREAKING;
        const first = await release(w, { remote, over: { migrationPolicy: "maintenance" }, interruptAfterReplaced: 1 });
        assert.equal(first.error?.interrupted, true);
        assert.equal(w.sim.rules.size, 1, "the dead run left the page on");
        remote.migrations = { operations: [], verdict: "none" }; // applied by the dead run
        await clock.vc.advance(1801_000); // no saved state: the dead run's lock is taken over once it expired
        const second = await release(w, { remote, over: { migrationPolicy: "maintenance" }, progress: null });
        assert.equal(second.result?.outcome, "succeeded", second.error?.message);
        assert.ok(second.lines.some((l) => /left on by the earlier run/.test(l)));
        expectKnownGood(w, { version: 3 });
    });

    it("concurrent release refused: names the holder, changes nothing", async () => {
        const w = runningFleet(3);
        const until = new Date(Date.now() + 600_000).toISOString();
        w.sim.group.tags.set(LOCK_TAG, `shop/staging/web-release;abc123;${until}`);
        const r = await release(w);
        assert.equal(r.error?.outcome, "refused", String(r.error));
        assert.match(r.error.message, /held by shop\/staging\/web-release \(run abc123\)/);
        assert.equal(w.sim.apiCalls((c) => !/^Describe/.test(c.command)).length, 0);
        assert.equal(w.sim.group.tags.get(LOCK_TAG), `shop/staging/web-release;abc123;${until}`);
    });

    it("same-owner live lock of another run (another machine deploying this stack): refused, names the holder, group untouched", async () => {
        const w = runningFleet(3);
        const until = new Date(Date.now() + 1800_000 - 60_000).toISOString(); // refreshed a minute ago
        w.sim.group.tags.set(LOCK_TAG, `shop/prod/web-release;other1;${until}`);
        const saved: Progress = {
            runId: "mine01", kind: "release", version: "v1.1.0", baseLaunchTemplateVersion: 1, startedAt: new Date().toISOString(), phase: "forward",
            steps: ["lock", "remote", "bake", "template", "ramp", "invalidate", "prune", "unlock"], done: [], maintenance: false, replaced: [], warnings: [],
        };
        for (const progress of [null, saved]) {
            const r = await release(w, { progress });
            assert.equal(r.error?.outcome, "refused", String(r.error));
            assert.match(r.error.message, /held by shop\/prod\/web-release \(run other1\) until \S+Z/);
            assert.equal(w.sim.apiCalls((c) => !/^Describe/.test(c.command)).length, 0);
            assert.equal(w.sim.group.tags.get(LOCK_TAG), `shop/prod/web-release;other1;${until}`);
            assert.equal(r.remote.calls.filter((c) => c.startsWith("apply")).length, 0);
        }
        assert.equal(w.sim.group.desired, 3, "group untouched");
    });

    it("same-owner live lock whose run is the one in the saved state: resumed at once", async () => {
        const w = runningFleet(4);
        const first = await release(w, { interruptAfterReplaced: 2 });
        assert.equal(first.error?.interrupted, true);
        const saved = first.checkpoints[first.checkpoints.length - 1];
        const lock = w.sim.group.tags.get(LOCK_TAG)!;
        assert.equal(lock.split(";")[1], saved.runId);
        assert.ok(Date.parse(lock.split(";")[2]) - Date.now() > 900_000, "the lock is fresh");
        const second = await release(w, { progress: saved });
        assert.equal(second.result?.outcome, "succeeded", second.error?.message);
        assert.equal(calls(w.sim, "CreateImage").length, 1);
        expectKnownGood(w, { version: 3 });
    });

    it("same-owner lock that missed refreshes but has not expired: refused (one slow refresh is no proof the holder is dead)", async () => {
        const w = runningFleet(3);
        const until = new Date(Date.now() + 600_000).toISOString(); // < TTL/2 (900 s) left: refreshes missed
        w.sim.group.tags.set(LOCK_TAG, `shop/prod/web-release;gone01;${until}`);
        const r = await release(w, { progress: null });
        assert.equal(r.error?.outcome, "refused", String(r.error));
        assert.match(r.error.message, /held by shop\/prod\/web-release \(run gone01\)/);
        assert.equal(w.sim.apiCalls((c) => !/^Describe/.test(c.command)).length, 0, "nothing written");
        assert.equal(r.remote.calls.filter((c) => c.startsWith("inspect")).length, 0, "no remote inspection without the lock");
        await clock.vc.advance(601_000);
        const later = await release(w, { progress: null });
        assert.equal(later.result?.outcome, "succeeded", later.error?.message);
        assert.ok(later.lines.some((l) => /taking over a stale lock.*\(run gone01\)/.test(l)));
        expectKnownGood(w, { version: 3 });
    });

    it("stale lock taken over, with the sizes the dead run found", async () => {
        const w = runningFleet(4);
        // A dead run had raised desired to 5 and suspended our processes.
        w.sim.group.tags.set(LOCK_TAG, `shop/staging/web-release;dead01;${new Date(Date.now() - 1000).toISOString()}`);
        w.sim.group.tags.set(PROGRESS_TAG, JSON.stringify({ r: "dead01", v: "v9", b: 1, d: 4, x: 6, n: 2, s: "AZ,Al,Sc" }));
        w.sim.group.desired = 5;
        for (const p of ["AZRebalance", "AlarmNotification", "ScheduledActions"]) w.sim.group.suspended.add(p);
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.ok(r.lines.some((l) => /stale lock of shop\/staging\/web-release/.test(l)));
        expectKnownGood(w, { version: 3, desired: 4 });
    });

    it("throttling storm: the SDK's retries absorb it", async () => {
        const w = runningFleet(4);
        w.sim.throttle = { rate: 0.4, from: Date.now(), to: Date.now() + 7200_000 };
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        const throttled = w.sim.calls.filter((c) => c.throttled).length;
        assert.ok(throttled > 20, `throttled ${throttled} calls`);
        expectKnownGood(w, { version: 3 });
    });

    it("old instance already gone when the release terminates it", async () => {
        const w = runningFleet(4);
        w.sim.vanishNthDrained = 4;
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.ok(r.lines.some((l) => /already gone/.test(l)));
        expectKnownGood(w, { version: 3 });
    });

    it("scaling event mid-ramp: the change is adopted and restored at the end", async () => {
        const w = runningFleet(4);
        // During wave 1 (from 300 s): later the pipelined ramp holds the group at its max (desired + 2 x surge), where no +1 is possible.
        w.sim.externalDesired.push({ at: Date.now() + 400_000, delta: 1 });
        const r = await release(w);
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.ok(r.lines.some((l) => /changed outside the release by \+1: will restore 5/.test(l)), r.lines.join("\n"));
        expectKnownGood(w, { version: 3, desired: 5 });
    });

    it("maintenance page removed on rollback when the remote phase failed before migrating (see no-return.spec.ts for after)", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.migrations = BREAKING;
        remote.failAt = { step: "checkout", stderr: "fatal: unable to access repository" };
        const r = await release(w, { remote, over: { migrationPolicy: "maintenance", rollout: { healthyTimeoutS: 400 } } });
        assert.equal(r.error?.outcome, "rolled-back", String(r.error));
        assert.equal(calls(w.sim, "CreateRule").length, 1);
        assert.equal(calls(w.sim, "DeleteRule").length, 1);
        expectKnownGood(w, { version: 2 });
    });

    it("CloudFront invalidation denied after the ramp: the release stands, with a warning", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.changedStaticPaths = ["/static/robots.txt"];
        w.sim.denied.add("CreateInvalidation");
        const r = await release(w, { remote });
        assert.equal(r.result?.outcome, "succeeded", r.error?.message);
        assert.match(r.result!.reason ?? "", /CloudFront invalidation of \/static\/robots.txt failed: AccessDenied/);
        expectKnownGood(w, { version: 3 });
    });

    it("maintenance page that cannot be removed: failed (not rolled back), naming the rule, lock released", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.migrations = BREAKING;
        w.sim.denied.add("DeleteRule");
        const r = await release(w, { remote, over: { migrationPolicy: "maintenance" } });
        assert.equal(r.error?.outcome, "failed", String(r.error));
        assert.match(r.error.message, /listener-rule\/.*could not be removed/);
        assert.equal(w.sim.fleetVersions().join(), "3");
        assert.equal(w.sim.group.tags.has(LOCK_TAG), false);
    });

    it("first release whose instances never get healthy: back to 0, default back to the base", async () => {
        const sim = new SimAws();
        const w: World = { sim, deployed: null as any, before: { desired: 0, max: 4, min: 0, suspended: [] } };
        sim.nextImageFaults = { neverHealthy: true };
        const r = await release(w, { deployed: null, over: { rollout: { healthyTimeoutS: 300 } } });
        assert.equal(r.error?.outcome, "rolled-back", String(r.error));
        assert.equal(sim.defaultVersion, 1);
        expectKnownGood(w, { desired: 0 });
    });
});
