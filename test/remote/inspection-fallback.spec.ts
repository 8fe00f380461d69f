/**
 * Issue 10, finding 1: an instance without read-only database credentials for the inspection
 * (or without the inspection account) does not block `pulumi up`: the executor's pre-check
 * notes it and the remote phase classifies (and gates) the migrations as the deploy account.
 * Any other inspection failure still refuses the release.
 */
import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { SimAws } from "../../testkit/sim-aws";
import { ReleaseProvider } from "../../providers/release/provider";
import { realClock, RemoteInspection } from "../../providers/release/ports";
import { InspectionUnavailableError } from "../../providers/release/remote/phase";
import { FakeRemotePhase, rawArgs } from "../../testkit/fakes";

class NoInspectionRole extends FakeRemotePhase {
    async inspect(version: string): Promise<RemoteInspection> {
        this.calls.push(`inspect ${version}`);
        throw new InspectionUnavailableError(`migrations of ${version} not inspected: no read-only database credentials for the inspection: /run/fleet-inspect/env is missing or unreadable`);
    }
}

describe("inspection unavailable (issue 10, finding 1)", () => {
    let vc: VirtualClock;
    let sim: SimAws;
    beforeEach(() => {
        vc = installVirtualClock();
        sim = new SimAws();
    });
    afterEach(() => vc.uninstall());

    const news = () => ({ ...rawArgs(sim, { version: "v1.0.0", capacity: { minSize: 2, maxSize: 4, desiredCapacity: 2 } }), lockOwner: "shop/prod/web-release", __provider: "serialized" });

    it("preview notes it; up proceeds and the remote phase applies (and gates) the release", async () => {
        const remote = new NoInspectionRole(null);
        const lines: string[] = [];
        const provider = new ReleaseProvider({ cloud: () => sim.cloud(), remotePhase: async () => remote, clock: realClock, log: (l) => lines.push(l) });
        const checked = await vc.drive(provider.check({}, news()));
        assert.equal(checked.failures, undefined);
        assert.match(checked.inputs.plan, /migrations not inspected \(migrations of v1\.0\.0 not inspected: no read-only database credentials/);
        const r = await vc.drive(provider.create(checked.inputs));
        assert.equal(r.outs.status.state, "succeeded");
        assert.ok(remote.calls.includes("apply v1.0.0 refuse"), remote.calls.join(", "));
        assert.ok(lines.some((l) => /not inspected: no read-only database credentials.*: classified by the remote phase/.test(l)), lines.join("\n"));
    });

    it("any other inspection failure still refuses the release before anything changes", async () => {
        const remote = new FakeRemotePhase(null);
        remote.failInspect = "version v1.0.0 is neither a tag, a branch nor a commit reachable from them in the repository";
        const provider = new ReleaseProvider({ cloud: () => sim.cloud(), remotePhase: async () => remote, clock: realClock, log: () => undefined });
        const checked = await vc.drive(provider.check({}, news()));
        await assert.rejects(vc.drive(provider.create(checked.inputs)), /release refused: inspecting v1\.0\.0 .* failed: version v1\.0\.0 is neither a tag/);
        assert.ok(!remote.calls.some((c) => c.startsWith("apply")));
    });
});
