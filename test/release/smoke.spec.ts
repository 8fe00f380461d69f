import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../support/sim-aws/clock";
import { runRelease } from "../../providers/release/executor";
import { realClock } from "../../providers/release/ports";
import { FakeRemotePhase, inputs } from "./fakes";
import { expectKnownGood, runningFleet } from "./world";

describe("release smoke", () => {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());
    it("releases", async () => {
        const w = runningFleet(4);
        const lines: string[] = [];
        const t0 = Date.now();
        const r = await vc.drive(runRelease({ cloud: w.sim.cloud(), remotePhase: async () => new FakeRemotePhase("v1.0.0"), clock: realClock, log: (l) => lines.push(l), inputs: inputs(w.sim), deployed: w.deployed, owner: "proj/dev/release" }));
        console.log(lines.join("\n"), (Date.now() - t0) / 1000, w.sim.apiCalls().length);
        assert.equal(r.outcome, "succeeded");
        expectKnownGood(w, { version: 3 });
    });
});
