/** The Instance Refresh model the rollout bench compares the ramp with (testkit/sim-aws/instance-refresh.ts). */
import * as assert from "node:assert/strict";
import { simulateInstanceRefresh } from "../../testkit/sim-aws/instance-refresh";

const T = { bootS: 60, healthCheckIntervalS: 30, healthyThreshold: 3, deregistrationDelayS: 30 };

describe("Instance Refresh model", () => {
    it("launch before terminating (Min 100 %, Max 125 % of 4): one at a time, boot + warmup per instance, then the last drain", () => {
        const r = simulateInstanceRefresh(4, T, { minHealthyPercentage: 100, maxHealthyPercentage: 125, instanceWarmupS: 300 });
        assert.equal(r.maxCounted, 5, "never more than desired x Max %");
        assert.equal(r.minLbHealthy, 4, "never fewer than desired serving");
        assert.equal(r.launched, 4);
        assert.equal(r.makespanS, 4 * (60 + 300) + 30);
    });

    it("Max 200 %: the whole fleet in one batch", () => {
        const r = simulateInstanceRefresh(4, T, { minHealthyPercentage: 100, maxHealthyPercentage: 200, instanceWarmupS: 90 });
        assert.equal(r.maxCounted, 8);
        assert.equal(r.makespanS, 60 + 90 + 30);
    });

    it("skip matching: instances already on the desired configuration are not replaced", () => {
        const r = simulateInstanceRefresh(4, T, { minHealthyPercentage: 100, maxHealthyPercentage: 125, instanceWarmupS: 90, skipMatching: true }, 3);
        assert.equal(r.launched, 1);
        assert.equal(r.makespanS, 60 + 90 + 30);
        assert.equal(simulateInstanceRefresh(4, T, { minHealthyPercentage: 100, maxHealthyPercentage: 125, instanceWarmupS: 90, skipMatching: false }, 3).launched, 4);
    });

    it("terminate and launch (Min 75 %, Max 100 %): capacity dips to the minimum while replacements boot", () => {
        const r = simulateInstanceRefresh(4, T, { minHealthyPercentage: 75, maxHealthyPercentage: 100, instanceWarmupS: 90 });
        assert.equal(r.maxCounted, 4);
        assert.equal(r.minLbHealthy, 3);
    });

    it("a warmup shorter than the target group's healthy span counts instances the load balancer does not route to yet", () => {
        const r = simulateInstanceRefresh(4, T, { minHealthyPercentage: 100, maxHealthyPercentage: 125, instanceWarmupS: 0 });
        assert.ok(r.minLbHealthy < 4, `min serving ${r.minLbHealthy}`);
    });

    it("refuses percentages AWS refuses, naming them", () => {
        assert.throws(() => simulateInstanceRefresh(4, T, { minHealthyPercentage: 100, maxHealthyPercentage: 250, instanceWarmupS: 0 }), /MaxHealthyPercentage must be 100-200, got 250/);
        assert.throws(() => simulateInstanceRefresh(4, T, { minHealthyPercentage: 50, maxHealthyPercentage: 200, instanceWarmupS: 0 }), /cannot exceed 100/);
    });
});
