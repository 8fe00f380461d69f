/**
 * The point of no return: once breaking or unknown migrations are applied (policy maintenance or
 * allow), a failure never puts the old code back onto the new schema and never lifts the
 * maintenance page; the outcome says so, names what was applied and the ways forward; the plan
 * marks that point. On the simulated AWS with the remote-phase fake.
 */
import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { ExecResult, runRelease } from "../../providers/release/executor";
import { plan } from "../../providers/release/planner";
import { realClock } from "../../providers/release/ports";
import { BREAKING, FakeRemotePhase, inputs } from "../../testkit/fakes";
import { diesDuringBake, runningFleet, World } from "../../testkit/world";
import { MAINTENANCE_TAG } from "../../providers/release/engine/tags";

describe("point of no return (breaking migrations applied)", () => {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());

    async function failingRelease(w: World, policy: "maintenance" | "allow", remote: FakeRemotePhase) {
        w.sim.nextImageFaults = { neverHealthy: true };
        const lines: string[] = [];
        const run = runRelease({
            cloud: w.sim.cloud(),
            remotePhase: async () => remote,
            clock: realClock,
            log: (l) => lines.push(l),
            inputs: inputs(w.sim, { version: "v1.1.0", migrationPolicy: policy, rollout: { maxSurge: 1, healthyTimeoutS: 600 } }),
            deployed: w.deployed,
            owner: "shop/prod/web-release",
        });
        const r = await vc.drive(run.then((result: ExecResult) => ({ result, error: undefined as any }), (error) => ({ result: undefined, error })));
        return { ...r, lines };
    }

    for (const policy of ["maintenance", "allow"] as const) {
        it(`policy ${policy}: new instances never healthy after a RenameField -> failed, not rolled back; code stays new, the outcome says why and what next`, async () => {
            const w = runningFleet(4);
            const remote = new FakeRemotePhase("v1.0.0");
            remote.migrations = BREAKING;
            const r = await failingRelease(w, policy, remote);
            assert.equal(r.error?.outcome, "failed", String(r.error ?? r.result?.outcome));
            const m = r.error.message as string;
            assert.match(m, /NOT rolled back: past the point of no return/);
            assert.match(m, /Applied: shop\.0007_rename_sku RenameField \(RENAME_COLUMN\)/);
            assert.match(m, /schema is now ahead of v1\.0\.0, so v1\.0\.0 was not put back/);
            assert.match(m, /Ways forward: release a fixed version .* or migrate backwards by hand .*python manage\.py migrate shop <the migration before 0007_rename_sku>/);
            assert.doesNotMatch(m, /the fleet runs v1\.0\.0 again/);
            assert.ok(!remote.calls.some((c) => c.startsWith("revert")), `management instance not reverted: ${remote.calls.join(", ")}`);
            assert.equal(w.sim.defaultVersion, 3, "the launch template default stays on the new version");
            assert.equal(w.sim.apiCalls((c) => c.command === "ModifyLaunchTemplate").length, 1, "set to the new version once, never back");
            if (policy === "maintenance") {
                assert.equal(w.sim.rules.size, 1, "the maintenance page stays on");
                assert.match(m, /maintenance page .* stays on/);
            } else {
                assert.equal(w.sim.rules.size, 0);
            }
            // Lock and progress released: a fixed version can go out at once. While the page stays on,
            // so does the marker that makes the next run look for it.
            assert.deepEqual([...w.sim.group.tags.keys()], policy === "maintenance" ? [MAINTENANCE_TAG] : [], "lock and progress released");
            assert.deepEqual([...w.sim.group.suspended], [], "processes resumed");
            assert.equal(w.sim.group.desired, 4, "desired restored");
        });
    }

    it("the next release (a fixed version) takes the maintenance page left on off when it succeeds", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.migrations = BREAKING;
        const r = await failingRelease(w, "maintenance", remote);
        assert.equal(r.error?.outcome, "failed");
        assert.equal(w.sim.rules.size, 1);
        remote.migrations = { operations: [], verdict: "none" }; // applied already
        const fixed = await vc.drive(
            runRelease({
                cloud: w.sim.cloud(),
                remotePhase: async () => remote,
                clock: realClock,
                log: () => undefined,
                inputs: inputs(w.sim, { version: "v1.1.1", migrationPolicy: "maintenance" }),
                deployed: w.deployed,
                owner: "shop/prod/web-release",
            }),
        );
        assert.equal(fixed.outcome, "succeeded");
        assert.equal(w.sim.rules.size, 0, "page off after the fixed release");
        assert.deepEqual([...w.sim.group.tags.keys()], [], "and its marker removed with the lock");
        assert.deepEqual(w.sim.fleetVersions(), [w.sim.defaultVersion]);
    });

    /** A cloud whose CreateRule is applied but answers with an error (a lost response); `findFails` also fails the look for it. */
    function lossyRules(w: World, findFails = false) {
        const base = w.sim.cloud();
        return Object.assign(Object.create(base), {
            addMaintenanceRule: async (listener: string, html: string) => {
                await base.addMaintenanceRule(listener, html);
                throw Object.assign(new Error("socket hang up"), { name: "TimeoutError" });
            },
            ...(findFails ? { findMaintenanceRules: async () => Promise.reject(new Error("DescribeRules: throttled")) } : {}),
        });
    }

    async function releaseWith(w: World, cloud: any, version: string, remote: FakeRemotePhase, policy = "refuse") {
        return vc
            .drive(
                runRelease({
                    cloud,
                    remotePhase: async () => remote,
                    clock: realClock,
                    log: () => undefined,
                    inputs: inputs(w.sim, { version, migrationPolicy: policy }),
                    deployed: w.deployed,
                    owner: "shop/prod/web-release",
                }),
            )
            .then((result) => ({ result, error: undefined as any }), (error) => ({ result: undefined, error }));
    }

    it("a maintenance rule added with its answer lost is found and taken off by the rollback", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.migrations = BREAKING;
        const r = await releaseWith(w, lossyRules(w), "v1.1.0", remote, "maintenance");
        assert.equal(r.result?.outcome, "succeeded", String(r.error));
        assert.equal(w.sim.rules.size, 0, "the page found after the failed call went off with the release");
        assert.deepEqual([...w.sim.group.tags.keys()], []);
    });

    it("when the page cannot be found either, the marker stays, and the next release takes the page off", async () => {
        const w = runningFleet(2);
        const remote = new FakeRemotePhase("v1.0.0");
        remote.migrations = BREAKING;
        const r1 = await releaseWith(w, lossyRules(w, true), "v1.1.0", remote, "maintenance");
        assert.equal(r1.error?.outcome, "rolled-back", String(r1.error ?? r1.result?.outcome));
        assert.equal(w.sim.rules.size, 1, "the page this run never learned of is on");
        assert.deepEqual([...w.sim.group.tags.keys()], [MAINTENANCE_TAG], "its marker stays");
        const r2 = await releaseWith(w, w.sim.cloud(), "v1.2.0", new FakeRemotePhase(remote.current));
        assert.equal(r2.result?.outcome, "succeeded", String(r2.error));
        assert.equal(w.sim.rules.size, 0, "page off after the next release");
        assert.deepEqual([...w.sim.group.tags.keys()], []);
    });

    it("a run killed past the point of no return (during the bake, no saved state): the run that takes over never puts the old code back", async () => {
        const w = runningFleet(2);
        w.sim.nextImageFaults = { neverHealthy: true };
        const remote = new FakeRemotePhase("v1.0.0");
        remote.migrations = BREAKING;
        const dead = diesDuringBake(w, remote);
        const ctx = (over: Record<string, any>) => ({
            cloud: w.sim.cloud(),
            remotePhase: async () => remote,
            clock: realClock,
            log: () => undefined,
            inputs: inputs(w.sim, { version: "v1.1.0", migrationPolicy: "maintenance", rollout: { maxSurge: 1, healthyTimeoutS: 600 } }),
            deployed: w.deployed,
            owner: "shop/prod/web-release",
            ...over,
        });
        const settle = (p: Promise<ExecResult>) => p.then((result) => ({ result, error: undefined as any }), (error) => ({ result: undefined, error }));
        const first = await vc.drive(settle(runRelease(ctx({ clock: dead.clock, remotePhase: dead.remotePhase }))));
        assert.ok(dead.killed() && first.error, "killed during the bake");
        assert.equal(remote.current, "v1.1.0", "the dead run applied the migrations and switched the management instance");
        dead.bury();
        await vc.advance(1801_000);
        remote.migrations = { operations: [], verdict: "none" }; // applied by the dead run
        const r = await vc.drive(settle(runRelease(ctx({ progress: null }))));
        assert.equal(r.error?.outcome, "failed", String(r.error ?? r.result?.outcome));
        assert.match(r.error.message, /NOT rolled back: past the point of no return/);
        assert.equal(remote.current, "v1.1.0", "the management instance stays on the code that matches the schema");
        assert.ok(!remote.calls.some((c) => /^revert/.test(c)), remote.calls.join(", "));
        assert.equal(w.sim.rules.size, 1, "the maintenance page stays on");
    });

    it("the preview plan marks the point of no return; a safe release has no such mark", () => {
        const w = runningFleet(4);
        const group = { name: w.sim.groupName, minSize: 2, maxSize: 6, desiredCapacity: 4, instances: [], suspendedProcesses: [], tags: {}, launchTemplate: null };
        const pl = plan(inputs(w.sim, { migrationPolicy: "maintenance" }), w.deployed, { group, migrations: BREAKING });
        const remoteStep = pl.steps.find((s) => s.name === "remote")!;
        assert.match(remoteStep.detail, /POINT OF NO RETURN: once these migrations are applied the schema is ahead of v1\.0\.0.*behind the maintenance page/);
        assert.match(pl.text, /POINT OF NO RETURN/);
        const safe = plan(inputs(w.sim, { migrationPolicy: "maintenance" }), w.deployed, { group, migrations: { operations: [], verdict: "none" } });
        assert.doesNotMatch(safe.text, /POINT OF NO RETURN/);
    });
});
