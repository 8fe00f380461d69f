/**
 * The executor against the simulated AWS (real SDK clients, virtual clock): the normal paths and
 * the fault matrix. Every case ends by checking the group is in a known good state.
 */
import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { ExecContext, ExecResult, LOCK_TAG, PROGRESS_TAG, Progress, ReleaseError, runRelease } from "../../providers/release/executor";
import { realClock } from "../../providers/release/ports";
import { BREAKING, FakeRemotePhase, inputs } from "../../testkit/fakes";
import { diesDuringBake, expectKnownGood, runningFleet, World } from "../../testkit/world";
import { SimAws } from "../../testkit/sim-aws";

interface Run {
    result?: ExecResult;
    error?: any;
    lines: string[];
    remote: FakeRemotePhase;
    checkpoints: Progress[];
}

describe("release executor on the simulated AWS", function () {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());

    async function release(
        w: World,
        opts: Partial<ExecContext> & { over?: Record<string, any>; remote?: FakeRemotePhase; interruptAfterReplaced?: number } = {},
    ): Promise<Run> {
        const lines: string[] = [];
        const checkpoints: Progress[] = [];
        const remote = opts.remote ?? new FakeRemotePhase(w.deployed?.version ?? null);
        const ctx: ExecContext = {
            cloud: w.sim.cloud(),
            remotePhase: async () => remote,
            clock: realClock,
            log: (l) => lines.push(l),
            inputs: inputs(w.sim, { version: "v1.1.0", ...(opts.over ?? {}) }),
            deployed: w.deployed,
            owner: "shop/prod/web-release",
            ...opts,
            checkpoint: async (p) => {
                checkpoints.push(p);
                if (opts.checkpoint) await opts.checkpoint(p);
                if (opts.interruptAfterReplaced !== undefined && p.replaced.length >= opts.interruptAfterReplaced) {
                    throw Object.assign(new Error("process killed"), { interrupted: true });
                }
            },
        };
        try {
            return { result: await vc.drive(runRelease(ctx)), lines, remote, checkpoints };
        } catch (error) {
            return { error, lines, remote, checkpoints };
        }
    }

    const calls = (sim: SimAws, command: string) => sim.apiCalls((c) => c.command === command);

    describe("normal paths", () => {
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
            const again = await vc.drive(w.sim.cloud().createLaunchTemplateVersion(w.sim.ltId, 1, p.amiId!, c.input.VersionDescription, c.input.ClientToken));
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
            const removed = await vc.drive(pruneImages(w.sim.cloud(), w.sim.groupName, 3, [], w.sim.ltId));
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

    describe("fault matrix (each ends in a known good state)", () => {
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
            await vc.advance(901_000);
            const mid = await release(w, { progress: null });
            assert.equal(mid.error?.outcome, "refused", String(mid.error));
            await vc.advance(900_000);
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
            await vc.advance(1801_000);
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
            await vc.advance(1801_000);
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
            await vc.advance(1801_000); // no saved state: the dead run's lock is taken over once it expired
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
            await vc.advance(601_000);
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
});
