/**
 * The pipelined ramp on the simulated AWS, sampled every virtual second: the next wave's
 * replacements boot while the last batch drains, and at every moment
 *  - healthy in-service capacity (InService, healthy and registered) >= desired,
 *  - instances serving or booting <= desired + maxSurge (deregistered ones, draining, are extra),
 *  - every old instance is terminated only after it was deregistered and its delay passed;
 * the makespan is the pipelined bound: waves x (boot + healthy x interval) + drain + bake.
 */
import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { runRelease } from "../../providers/release/executor";
import { resolveSurge } from "../../providers/release/inputs";
import { realClock } from "../../providers/release/ports";
import { FakeRemotePhase, inputs } from "../../testkit/fakes";
import { expectKnownGood, runningFleet } from "../../testkit/world";

const REALISTIC = { bootS: 60, healthCheckIntervalS: 30, healthyThreshold: 3, deregistrationDelayS: 30, amiCreationS: 300 };

describe("pipelined ramp: invariants sampled every second", () => {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());

    async function sampled(n: number, maxSurge: number | string, timings = REALISTIC) {
        const surge = resolveSurge(maxSurge, n);
        const w = runningFleet(n, { timings, max: n + 2 * surge });
        w.deployed.capacity = { minSize: w.before.min, maxSize: w.before.max, desiredCapacity: n };
        const violations: string[] = [];
        let samples = 0;
        let sawOverlap = false;
        const t0 = Date.now();
        const check = () => {
            const s = w.sim.sample();
            samples++;
            const t = Math.round((s.at - t0) / 1000);
            if (s.healthyInService < n) violations.push(`${t} s: ${s.healthyInService} healthy in service < desired ${n}`);
            if (s.servingOrBooting > n + surge) violations.push(`${t} s: ${s.servingOrBooting} serving or booting > ${n} + ${surge}`);
            // Pipelining: an instance boots while a deregistered one is still in the group.
            if (s.deregistered > 0 && s.servingOrBooting > s.healthyInService) sawOverlap = true;
        };
        const timer = setInterval(check, 1000);
        let r;
        try {
            r = await vc.drive(
                runRelease({
                    cloud: w.sim.cloud(),
                    remotePhase: async () => new FakeRemotePhase("v1.0.0"),
                    clock: realClock,
                    log: () => undefined,
                    inputs: inputs(w.sim, { version: "v1.1.0", capacity: w.deployed.capacity, rollout: { maxSurge } }),
                    deployed: w.deployed,
                    owner: "shop/prod/web-release",
                }),
            );
        } finally {
            clearInterval(timer);
        }
        check();
        const makespanS = (Date.now() - t0) / 1000;
        assert.equal(r.outcome, "succeeded");
        expectKnownGood(w, { version: 3, max: n + 2 * surge });
        assert.deepEqual(violations.slice(0, 5), [], `${violations.length} violation(s)`);
        assert.ok(samples >= makespanS - 1, `sampled every second (${samples} samples over ${makespanS} s)`);
        // Every drain honoured: each old instance was deregistered, then terminated after the delay.
        const old = w.sim.terminations.filter((x) => x.ltVersion === 2);
        assert.equal(old.length, n, "every old instance terminated once");
        for (const x of old) {
            assert.ok(!x.registered && x.deregisteredAt !== undefined, `${x.id} terminated while registered`);
            assert.ok(x.at - x.deregisteredAt! >= timings.deregistrationDelayS * 1000, `${x.id} terminated ${(x.at - x.deregisteredAt!) / 1000} s after its deregistration`);
        }
        const waves = Math.ceil(n / surge);
        const pipelinedBoundS = waves * (timings.bootS + timings.healthyThreshold * timings.healthCheckIntervalS) + timings.deregistrationDelayS + timings.amiCreationS;
        return { makespanS, pipelinedBoundS, sawOverlap, waves };
    }

    for (const [n, s] of [[4, 1], [10, 2], [10, "25%"], [5, 1]] as const) {
        it(`N=${n}, maxSurge ${s}: invariants hold at every second; makespan within 1 % of the pipelined bound`, async () => {
            const m = await sampled(n, s);
            assert.ok(m.sawOverlap, "replacements boot while the last batch drains");
            assert.ok(m.makespanS <= m.pipelinedBoundS * 1.01, `makespan ${m.makespanS} s, pipelined bound ${m.pipelinedBoundS} s`);
        });
    }

    it("a deregistration delay longer than a wave (300 s): the drains overlap, still honoured, capacity kept", async () => {
        const t = { ...REALISTIC, deregistrationDelayS: 300 };
        const m = await sampled(4, 1, t);
        assert.ok(m.sawOverlap);
        // Each batch waits for its own delay before it is terminated; the waves do not wait for it.
        assert.ok(m.makespanS <= 4 * 150 + 300 + 300 + 60, `makespan ${m.makespanS} s`);
    });
});
