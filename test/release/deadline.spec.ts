/**
 * The release's deadline: the `deadlineS` input (derived by the Release resource from its
 * customTimeouts, since a dynamic provider never receives them) bounds the whole release.
 */
import * as assert from "node:assert/strict";
import type { VirtualClock } from "../../testkit/sim-aws/clock";
import { SimAws } from "../../testkit/sim-aws";
import { ReleaseFailed, ReleaseProvider } from "../../providers/release/provider";
import { deadlineFromTimeouts, parseDurationS } from "../../providers/release/engine/deadline";
import { rawArgs } from "../../testkit/fakes";
import { providerWorld } from "../../testkit/provider-world";

describe("release deadline (deadlineS from customTimeouts)", () => {
    it("reads Pulumi's durations: 4h, 1h30m, 90s, 2.5m; refuses others naming the value", () => {
        assert.equal(parseDurationS("4h"), 14400);
        assert.equal(parseDurationS("1h30m"), 5400);
        assert.equal(parseDurationS("90s"), 90);
        assert.equal(parseDurationS("2.5m"), 150);
        for (const bad of ["", "4", "4 hours", "-1h", "0s", "h"]) assert.throws(() => parseDurationS(bad), new RegExp(`customTimeouts value ${JSON.stringify(JSON.stringify(bad)).slice(1, -1)}`));
    });

    it("the resource's default: update's timeout, else create's, else 4h", () => {
        assert.equal(deadlineFromTimeouts(undefined), 14400);
        assert.equal(deadlineFromTimeouts({ create: "20m", update: "45m" }), 2700);
        assert.equal(deadlineFromTimeouts({ create: "20m" }), 1200);
    });

    describe("in the provider", () => {
        let vc: VirtualClock;
        let sim: SimAws;
        let provider: ReleaseProvider;
        beforeEach(() => ({ vc, sim, provider } = providerWorld()));
        afterEach(() => vc.uninstall());
        const news = (over: Record<string, any> = {}) => ({ ...rawArgs(sim, { version: "v1.0.0", capacity: { minSize: 2, maxSize: 4, desiredCapacity: 2 } }), lockOwner: "shop/prod/web-release", ...over });

        it("check refuses a deadlineS that is not a positive number, naming it and the value, before any AWS call", async () => {
            const r = await provider.check({}, news({ deadlineS: "4h" }));
            assert.deepEqual(r.failures?.map((f) => f.property), ["deadlineS"]);
            assert.match(r.failures![0].reason, /deadlineS must be a number of seconds > 0.*got "4h"/);
            assert.equal(sim.calls.length, 0);
        });

        it("a release past its deadlineS starts no new step: it rolls back, naming the deadline", async () => {
            const inputs = (await vc.drive(provider.check({}, news({ deadlineS: 60 })))).inputs;
            let failed: ReleaseFailed | undefined;
            try {
                await vc.drive(provider.create(inputs));
            } catch (e: any) {
                failed = e;
            }
            assert.ok(failed instanceof ReleaseFailed, String(failed));
            const props: any = failed.properties;
            assert.equal(props.status.state, "rolled-back");
            assert.match(props.status.reason, /the release's deadline \(.*\) passed before/);
            assert.equal(sim.fleet().length, 0, "the first release's scale-out never started or was undone");
        });

        it("the same release with the default deadline succeeds (the deadline is what stopped it)", async () => {
            const inputs = (await vc.drive(provider.check({}, news({ deadlineS: 14400 })))).inputs;
            const r = await vc.drive(provider.create(inputs));
            assert.equal(r.outs.status.state, "succeeded");
        });
    });
});
