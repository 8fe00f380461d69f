/** The Release provider in this process on the simulated AWS, with a fake remote phase and the virtual clock. */
import * as assert from "node:assert/strict";
import { ReleaseFailed, ReleaseProvider } from "../providers/release/provider";
import { realClock } from "../providers/release/ports";
import { FakeRemotePhase, rawArgs } from "./fakes";
import { SimAws } from "./sim-aws";
import { installVirtualClock, VirtualClock } from "./sim-aws/clock";

export interface ProviderWorld {
    vc: VirtualClock;
    sim: SimAws;
    remote: FakeRemotePhase;
    /** What the provider logged. */
    lines: string[];
    provider: ReleaseProvider;
}

/** Installs the virtual clock (uninstall it with `vc.uninstall()` after the test). */
export function providerWorld(): ProviderWorld {
    const vc = installVirtualClock();
    const sim = new SimAws();
    const remote = new FakeRemotePhase(null);
    const lines: string[] = [];
    const provider = new ReleaseProvider({ cloud: () => sim.cloud(), remotePhase: async () => remote, clock: realClock, log: (l) => lines.push(l) });
    return { vc, sim, remote, lines, provider };
}

/** The provider's raw inputs as the program passes them: a first release v1.0.0 at 2/4/2 unless `over` says otherwise. */
export function providerArgs(sim: SimAws, over: Record<string, any> = {}) {
    return { ...rawArgs(sim, { version: "v1.0.0", capacity: { minSize: 2, maxSize: 4, desiredCapacity: 2 }, ...over }), lockOwner: "shop/prod/web-release", __provider: "serialized" };
}

/** Awaits a provider call that must reject with `ReleaseFailed` (a failed update with its partial state) and returns the rejection. */
export async function releaseFailure(call: Promise<unknown>): Promise<ReleaseFailed> {
    let failed: unknown;
    try {
        await call;
    } catch (e) {
        failed = e;
    }
    assert.ok(failed instanceof ReleaseFailed, `expected ReleaseFailed, got ${failed === undefined ? "success" : String(failed)}`);
    return failed;
}
