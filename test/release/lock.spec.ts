/**
 * The fenced deploy lock on the simulated AWS: two concurrent runs never both hold it, a run whose
 * lock was taken stops at once without touching the fleet, and its heartbeat never overwrites
 * (nor its unlock removes) another run's lock.
 */
import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { ExecContext, ExecResult, LOCK_TAG, Progress, ReleaseError, runRelease } from "../../providers/release/executor";
import { realClock, RemoteInspection } from "../../providers/release/ports";
import { FakeRemotePhase, inputs } from "../../testkit/fakes";
import { runningFleet, World } from "../../testkit/world";

/** A remote phase whose inspection takes `inspectS` (a checkout and install on a slow instance). */
class SlowInspection extends FakeRemotePhase {
    constructor(
        current: string,
        readonly inspectS: number,
    ) {
        super(current);
    }
    async inspect(version: string): Promise<RemoteInspection> {
        await new Promise((r) => setTimeout(r, this.inspectS * 1000));
        return super.inspect(version);
    }
}

describe("fenced deploy lock", () => {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());

    function ctx(w: World, remote: FakeRemotePhase, lines: string[], over: Partial<ExecContext> = {}): ExecContext {
        return {
            cloud: w.sim.cloud(),
            remotePhase: async () => remote,
            clock: realClock,
            log: (l) => lines.push(l),
            inputs: inputs(w.sim, { version: "v1.1.0" }),
            deployed: w.deployed,
            owner: "shop/prod/web-release",
            ...over,
        };
    }
    const settle = (p: Promise<ExecResult>) => p.then((result) => ({ result, error: undefined as any }), (error) => ({ result: undefined, error }));

    it("two runs of the stack started 10 s apart, each inspecting for 60 s: one releases, the other is refused and inspects nothing", async () => {
        const w = runningFleet(4);
        const ra = new SlowInspection("v1.0.0", 60);
        const rb = new SlowInspection("v1.0.0", 60);
        const la: string[] = [];
        const lb: string[] = [];
        const a = settle(runRelease(ctx(w, ra, la, { newRunId: () => "runaaaa" })));
        const b = settle(
            (async () => {
                await new Promise((r) => setTimeout(r, 10_000));
                return runRelease(ctx(w, rb, lb, { newRunId: () => "runbbbb" }));
            })(),
        );
        const [A, B] = await vc.drive(Promise.all([a, b]));
        const outcomes = [A.result?.outcome ?? A.error?.outcome, B.result?.outcome ?? B.error?.outcome].sort();
        assert.deepEqual(outcomes, ["refused", "succeeded"], `A: ${A.error?.message ?? A.result?.outcome}; B: ${B.error?.message ?? B.result?.outcome}`);
        assert.equal(B.error?.outcome, "refused");
        assert.match(B.error.message, /held by shop\/prod\/web-release \(run runaaaa\)/);
        assert.deepEqual(rb.calls.filter((c) => !c.startsWith("close")), [], "the refused run never inspected (nor applied) anything");
        assert.equal(w.sim.apiCalls((c) => c.command === "CreateImage").length, 1, "one AMI");
        assert.equal(w.sim.apiCalls((c) => c.command === "CreateLaunchTemplateVersion").length, 1, "one template version");
        assert.deepEqual(w.sim.fleetVersions(), [A.result!.deployed.launchTemplateVersion], "the fleet runs what the succeeded run says");
        assert.equal(w.sim.group.tags.has(LOCK_TAG), false);
    });

    it("a run whose lock is taken mid-ramp stops at once, touches nothing more and leaves the other run's lock alone", async () => {
        const w = runningFleet(4);
        const lines: string[] = [];
        const remote = new FakeRemotePhase("v1.0.0");
        let stolenAt = -1;
        const thief = `shop/prod/web-release;thief01;${new Date(Date.now() + 7200_000).toISOString()}`;
        const r = await vc.drive(
            settle(
                runRelease(
                    ctx(w, remote, lines, {
                        checkpoint: (p: Progress) => {
                            if (p.replaced.length >= 1 && stolenAt < 0) {
                                stolenAt = w.sim.calls.length;
                                w.sim.group.tags.set(LOCK_TAG, thief);
                            }
                        },
                    }),
                ),
            ),
        );
        assert.ok(r.error instanceof ReleaseError, String(r.error ?? r.result?.outcome));
        assert.equal(r.error.outcome, "failed");
        assert.match(r.error.message, /stopped: the deploy lock on group web-asg is now held by shop\/prod\/web-release \(run thief01\).*changed nothing more/);
        const writesAfter = w.sim.calls.slice(stolenAt).filter((c) => !c.throttled && !/^Describe/.test(c.command));
        assert.deepEqual(writesAfter.map((c) => c.command), [], "no write after the lock was taken");
        assert.equal(w.sim.group.tags.get(LOCK_TAG), thief, "the other run's lock is neither refreshed over nor removed");
        assert.equal(r.error.progress?.replaced.length, 1);
    });

    it("the heartbeat of a run whose lock was taken does not write the tag again", async () => {
        const w = runningFleet(4);
        const lines: string[] = [];
        // A slow remote phase: the heartbeat (every 600 s) fires while it runs.
        const remote = new FakeRemotePhase("v1.0.0");
        remote.durationS = 1500;
        const thief = `shop/staging/web-release;thief02;${new Date(Date.now() + 7200_000).toISOString()}`;
        setTimeout(() => w.sim.group.tags.set(LOCK_TAG, thief), 100_000);
        const r = await vc.drive(settle(runRelease(ctx(w, remote, lines))));
        assert.equal(r.error?.outcome, "failed", String(r.error ?? r.result?.outcome));
        assert.equal(w.sim.apiCalls((c) => c.command === "CreateOrUpdateTags" && c.t > Date.parse("2026-01-05T09:00:00Z") + 100_000).length, 0, "no tag write after the theft");
        assert.equal(w.sim.group.tags.get(LOCK_TAG), thief);
        assert.ok(lines.some((l) => /lock refresh: the deploy lock on group web-asg is now held by shop\/staging\/web-release \(run thief02\)/.test(l)), lines.join("\n"));
        assert.equal(w.sim.apiCalls((c) => c.command === "CreateImage").length, 0, "stopped before the bake");
    });

    for (const ttl of [180, 210, 240, 300, 360]) {
        it(`a refresh under way when the release unlocks lands first: no lock is left (lock writes take 15 s; lockTtlS ${ttl})`, async () => {
            const w = runningFleet(4);
            const base = w.sim.cloud();
            const slow = Object.assign(Object.create(base), {
                setGroupTag: async (g: string, k: string, v: string) => {
                    if (k === LOCK_TAG) await realClock.sleep(15_000);
                    return base.setGroupTag(g, k, v);
                },
            });
            w.deployed!.capacity = { minSize: 2, maxSize: 6, desiredCapacity: 4 };
            const r = await vc.drive(
                settle(
                    runRelease({
                        ...ctx(w, new FakeRemotePhase("v1.0.0"), []),
                        cloud: slow,
                        inputs: inputs(w.sim, { version: "v1.1.0", capacity: w.deployed!.capacity, rollout: { maxSurge: 1, lockTtlS: ttl } }),
                    }),
                ),
            );
            await vc.advance(60_000);
            assert.equal(r.result?.outcome, "succeeded", r.error?.message);
            assert.equal(w.sim.group.tags.get(LOCK_TAG), undefined, `lock left after a successful release: ${w.sim.group.tags.get(LOCK_TAG)}`);
        });
    }
});
