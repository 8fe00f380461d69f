/**
 * The Release's `targetGroupTimings` input (providers/release/timings.ts): the target group's
 * health-check interval, healthy threshold and deregistration delay as the program knows them, so
 * a release reads none of them. Validated like every input; no change for diff() by itself; and a
 * stale value (the target group changed outside Pulumi) costs time, never a drain.
 */
import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { runRelease } from "../../providers/release/executor";
import { normalizeInputs } from "../../providers/release/inputs";
import { realClock } from "../../providers/release/ports";
import { ReleaseProvider, UNKNOWN } from "../../providers/release/provider";
import { FakeRemotePhase, inputs, rawArgs, targetGroupTimingsOf } from "../../testkit/fakes";
import { providerArgs, providerWorld } from "../../testkit/provider-world";
import { SimAws } from "../../testkit/sim-aws";
import { expectKnownGood, runningFleet } from "../../testkit/world";

const REALISTIC = { bootS: 60, healthCheckIntervalS: 30, healthyThreshold: 3, deregistrationDelayS: 30, amiCreationS: 300 };
const REALISTIC_TG = { healthCheckIntervalS: 30, healthyThreshold: 3, deregistrationDelayS: 30 };
const GOOD = { healthCheckIntervalS: 10, healthyThreshold: 3, deregistrationDelayS: 0 };

describe("the targetGroupTimings input", () => {
    describe("validation (normalizeInputs)", () => {
        const sim = new SimAws();
        const norm = (t: unknown, isUnknown?: (v: unknown) => boolean) => normalizeInputs(rawArgs(sim, { targetGroupTimings: t }), isUnknown);

        it("taken as given when valid (a delay of 0 is ELB's and the setting's minimum); absent or not known yet: none (the run reads the target group)", () => {
            assert.deepEqual(norm(GOOD), { inputs: { ...norm(undefined).inputs, targetGroupTimings: GOOD }, failures: [] });
            assert.equal("targetGroupTimings" in norm(undefined).inputs, false);
            assert.equal("targetGroupTimings" in norm(null).inputs, false);
            const unknown = (v: unknown) => v === UNKNOWN;
            assert.deepEqual(norm(UNKNOWN, unknown).failures, []);
            assert.equal(norm(UNKNOWN, unknown).inputs.targetGroupTimings, undefined);
            assert.deepEqual(norm({ ...GOOD, healthCheckIntervalS: UNKNOWN }, unknown).failures, []);
            assert.equal(norm({ ...GOOD, healthCheckIntervalS: UNKNOWN }, unknown).inputs.targetGroupTimings, undefined);
        });

        it("each bad member refused, naming it, the setting whose bounds it takes, and the value", () => {
            const cases: [unknown, string, RegExp][] = [
                [{ ...GOOD, healthCheckIntervalS: 4 }, "targetGroupTimings.healthCheckIntervalS", /targetGroupTimings\.healthCheckIntervalS \(the target group's healthCheckInterval\) must be a whole number of seconds from 5 to 300, got 4$/],
                [{ ...GOOD, healthCheckIntervalS: "30" }, "targetGroupTimings.healthCheckIntervalS", /got "30"$/],
                [{ ...GOOD, healthyThreshold: 11 }, "targetGroupTimings.healthyThreshold", /healthyThreshold\) must be a whole number of checks from 2 to 10, got 11$/],
                [{ ...GOOD, deregistrationDelayS: 2.5 }, "targetGroupTimings.deregistrationDelayS", /deregistrationDelay\) must be a whole number of seconds from 0 to 3600, got 2\.5$/],
                [{ ...GOOD, deregistrationDelayS: -1 }, "targetGroupTimings.deregistrationDelayS", /got -1$/],
                [{ healthCheckIntervalS: 30, healthyThreshold: 3 }, "targetGroupTimings.deregistrationDelayS", /got undefined$/],
                [{ ...GOOD, deregistrationDelay: 30 }, "targetGroupTimings.deregistrationDelay", /targetGroupTimings has no member "deregistrationDelay" \(it takes healthCheckIntervalS, healthyThreshold, deregistrationDelayS\), got 30$/],
                [30, "targetGroupTimings", /targetGroupTimings must be an object \{ healthCheckIntervalS, healthyThreshold, deregistrationDelayS \}, got 30$/],
            ];
            for (const [t, property, reason] of cases) {
                const r = norm(t);
                assert.deepEqual(r.failures.map((f) => f.property), [property], JSON.stringify(t));
                assert.match(r.failures[0].reason, reason);
                assert.equal(r.inputs.targetGroupTimings, undefined);
            }
        });
    });

    describe("in the provider", () => {
        let vc: VirtualClock;
        let sim: SimAws;
        let provider: ReleaseProvider;
        beforeEach(() => ({ vc, sim, provider } = providerWorld()));
        afterEach(() => vc.uninstall());
        const tgReads = () => sim.apiCalls((c) => c.command === "DescribeTargetGroups" || c.command === "DescribeTargetGroupAttributes").length;

        it("check refuses a bad value before any AWS call", async () => {
            const r = await provider.check({}, providerArgs(sim, { targetGroupTimings: { ...GOOD, healthyThreshold: 1 } }));
            assert.deepEqual(r.failures?.map((f) => f.property), ["targetGroupTimings.healthyThreshold"]);
            assert.equal(sim.calls.length, 0);
        });

        it("check plans with the input's timings (no target group read); without it, or while it is unknown, reads the target group and still plans from the live state", async () => {
            // A 300 s x 10 check: the first release (remote 180 s, bake 300 s) scales out in boot + 3000 s.
            const given = await vc.drive(provider.check({}, providerArgs(sim, { targetGroupTimings: { ...GOOD, healthCheckIntervalS: 300, healthyThreshold: 10 } })));
            assert.deepEqual(given.failures ?? [], []);
            assert.equal(tgReads(), 0);
            assert.match(given.inputs.plan, /^first release of v1\.0\.0, estimated 59 min\n/);
            const read = await vc.drive(provider.check({}, providerArgs(sim)));
            assert.equal(tgReads(), 2, "DescribeTargetGroups and DescribeTargetGroupAttributes");
            // The simulated target group's 30 s x 3: boot + 90 s.
            assert.match(read.inputs.plan, /^first release of v1\.0\.0, estimated 11 min\n/);
            const preview = await vc.drive(provider.check({}, providerArgs(sim, { targetGroupTimings: UNKNOWN })));
            assert.equal(tgReads(), 4);
            assert.ok(!/known only after/.test(preview.inputs.plan), preview.inputs.plan);
            assert.equal(preview.inputs.plan, read.inputs.plan);
        });

        it("a change of the target group's timings alone is no change for diff(); with a new version it is one", async () => {
            const olds = { ...providerArgs(sim, { targetGroupTimings: REALISTIC_TG }), status: { state: "succeeded", reason: null, at: "2026-01-01T00:00:00.000Z" } };
            const news = providerArgs(sim, { targetGroupTimings: GOOD });
            assert.equal((await provider.diff("id", olds, news)).changes, false);
            assert.equal((await provider.diff("id", olds, { ...news, targetGroupTimings: UNKNOWN })).changes, false);
            assert.equal((await provider.diff("id", olds, { ...news, version: "v1.1.0" })).changes, true);
        });
    });

    describe("in the executor, on the simulated AWS", () => {
        let vc: VirtualClock;
        beforeEach(() => (vc = installVirtualClock()));
        afterEach(() => vc.uninstall());

        async function release(w: ReturnType<typeof runningFleet>, over: Record<string, any>) {
            const t0 = Date.now();
            const r = await vc.drive(
                runRelease({
                    cloud: w.sim.cloud(),
                    remotePhase: async () => new FakeRemotePhase("v1.0.0"),
                    clock: realClock,
                    log: () => undefined,
                    inputs: inputs(w.sim, { version: "v1.1.0", capacity: w.deployed.capacity, ...over }),
                    deployed: w.deployed,
                    owner: "shop/prod/web-release",
                }),
            );
            const calls = (command: string) => w.sim.apiCalls((c) => c.command === command && c.t >= t0).length;
            return { r, calls, makespanS: (Date.now() - t0) / 1000 };
        }

        function fleet(n: number, timings: typeof REALISTIC, max: number) {
            const w = runningFleet(n, { timings, max });
            w.deployed.capacity = { minSize: w.before.min, maxSize: w.before.max, desiredCapacity: n };
            return w;
        }

        for (const [n, maxSurge] of [[4, 1], [2, 2]] as const) {
            it(`N=${n}, maxSurge ${maxSurge}: a stale, shorter delay (30 s given, 700 s real, drainTimeoutS 60) never terminates a draining target: the target group's own delay is read once, the drain honoured`, async () => {
                const w = fleet(n, { ...REALISTIC, deregistrationDelayS: 700 }, n + 2 * maxSurge);
                const stale = { ...targetGroupTimingsOf(w.sim), deregistrationDelayS: 30 };
                const { r, calls } = await release(w, { targetGroupTimings: stale, rollout: { maxSurge, drainTimeoutS: 60 } });
                assert.equal(r.outcome, "succeeded");
                expectKnownGood(w, { version: 3, max: n + 2 * maxSurge });
                const old = w.sim.terminations.filter((x) => x.ltVersion === 2);
                assert.equal(old.length, n);
                for (const x of old) {
                    assert.ok(!x.registered && x.deregisteredAt !== undefined, `${x.id} terminated while registered`);
                    // ELB (the simulated one) says "draining" for 700 s after the deregistration.
                    assert.ok(x.at - x.deregisteredAt! >= 700_000, `${x.id} terminated ${(x.at - x.deregisteredAt!) / 1000} s after its deregistration, still draining`);
                }
                assert.equal(calls("DescribeTargetGroupAttributes"), 1, "the real delay read once, when a target was seen draining past the given one");
                assert.equal(calls("DescribeTargetGroups"), 0);
                assert.ok(r.progress.warnings.some((x) => /deregistration delay is 700 s, not the 30 s of the Release's targetGroupTimings input/.test(x)), r.progress.warnings.join("\n"));
                assert.ok(!r.progress.warnings.some((x) => /terminated anyway/.test(x)), r.progress.warnings.join("\n"));
            });
        }

        it("a stale delay whose real value cannot be read (DescribeTargetGroupAttributes denied): the drain bounded by ELB's default 300 s + drainTimeoutS, looked at every 5 s, honoured", async () => {
            const w = fleet(2, { ...REALISTIC, deregistrationDelayS: 700 }, 4);
            w.sim.denied.add("DescribeTargetGroupAttributes");
            const { r } = await release(w, { targetGroupTimings: { ...targetGroupTimingsOf(w.sim), deregistrationDelayS: 30 }, rollout: { maxSurge: 2, drainTimeoutS: 600 } });
            assert.equal(r.outcome, "succeeded");
            expectKnownGood(w, { version: 3, max: 4 });
            for (const x of w.sim.terminations.filter((t) => t.ltVersion === 2)) {
                const s = (x.at - x.deregisteredAt!) / 1000;
                assert.ok(s >= 700 && s <= 710, `${x.id} terminated ${s} s after its deregistration (draining until 700 s)`);
            }
            assert.ok(r.progress.warnings.some((x) => /deregistration delay could not be read .*AccessDenied.*drains bounded by 300 s at least/.test(x)), r.progress.warnings.join("\n"));
        });

        it("a stale, longer delay (300 s given, 30 s real) only costs time: no read, each batch waits the longer delay", async () => {
            const w = fleet(2, REALISTIC, 4);
            const { r, calls } = await release(w, { targetGroupTimings: { ...targetGroupTimingsOf(w.sim), deregistrationDelayS: 300 }, rollout: { maxSurge: 1 } });
            assert.equal(r.outcome, "succeeded");
            expectKnownGood(w, { version: 3, max: 4 });
            for (const x of w.sim.terminations.filter((t) => t.ltVersion === 2)) assert.ok(x.at - x.deregisteredAt! >= 300_000);
            assert.equal(calls("DescribeTargetGroupAttributes") + calls("DescribeTargetGroups"), 0);
        });

        it("a stale health check (5 s x 2 given, 30 s x 3 real) only costs looks: the waves poll until their instances are healthy", async () => {
            const exact = await release(fleet(2, REALISTIC, 4), { targetGroupTimings: targetGroupTimingsOf(new SimAws({ timings: REALISTIC })), rollout: { maxSurge: 1 } });
            const w = fleet(2, REALISTIC, 4);
            const stale = await release(w, { targetGroupTimings: { ...targetGroupTimingsOf(w.sim), healthCheckIntervalS: 5, healthyThreshold: 2 }, rollout: { maxSurge: 1 } });
            assert.equal(stale.r.outcome, "succeeded");
            expectKnownGood(w, { version: 3, max: 4 });
            assert.ok(stale.calls("DescribeTargetHealth") > exact.calls("DescribeTargetHealth"), `${stale.calls("DescribeTargetHealth")} looks vs ${exact.calls("DescribeTargetHealth")}`);
            assert.ok(Math.abs(stale.makespanS - exact.makespanS) <= 10, `makespan ${stale.makespanS} s vs ${exact.makespanS} s`);
        });
    });
});
