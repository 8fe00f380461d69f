/**
 * The Release dynamic provider's methods called directly (check, diff, create, update, read,
 * delete) against the simulated AWS, and its closure serialization.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { providerArgs, providerWorld, releaseFailure } from "../../testkit/provider-world";
import { SimAws } from "../../testkit/sim-aws";
import { ReleaseProvider, UNKNOWN } from "../../providers/release/provider";
import { BREAKING, FakeRemotePhase } from "../../testkit/fakes";
import { LOCK_TAG } from "../../providers/release/executor";


describe("Release provider", () => {
    let vc: VirtualClock, sim: SimAws, remote: FakeRemotePhase, lines: string[], provider: ReleaseProvider;
    beforeEach(() => ({ vc, sim, remote, lines, provider } = providerWorld()));
    afterEach(() => vc.uninstall());
    const news = (over: Record<string, any> = {}) => providerArgs(sim, over);

    async function createFirst() {
        const inputs = news();
        const checked = await vc.drive(provider.check({}, inputs));
        const r = await vc.drive(provider.create(checked.inputs));
        return { inputs: checked.inputs, r };
    }

    describe("check", () => {
        it("reports every invalid input by property, before touching the cloud", async () => {
            const r = await provider.check({}, news({ version: "v1 && curl evil", rollout: { maxSurge: 0 } }));
            assert.deepEqual(r.failures!.map((f) => f.property).sort(), ["rollout.maxSurge", "version"]);
            assert.equal(sim.calls.length, 0);
        });

        it("computes the plan from the live cloud into the `plan` input (what preview --diff shows)", async () => {
            await createFirst();
            const r = await vc.drive(provider.check(news(), news({ version: "v1.1.0" })));
            assert.equal(r.failures, undefined);
            const plan: string = r.inputs.plan;
            assert.match(plan, /^release v1\.0\.0 -> v1\.1\.0, estimated \d+ min/);
            assert.match(plan, /launch template lt-0123456789abcdef0 v2 -> v3/);
            assert.match(plan, /ramp 2 instances in 2 waves of 1/);
        });

        it("fails on breaking migrations under policy refuse, naming migrationPolicy", async () => {
            await createFirst();
            remote.migrations = BREAKING;
            const r = await vc.drive(provider.check(news(), news({ version: "v1.1.0" })));
            assert.equal(r.failures?.[0].property, "migrationPolicy");
            assert.match(r.failures![0].reason, /RENAME_COLUMN/);
        });

        it("plans a first preview whose ids are still unknown without calling the cloud", async () => {
            const r = await provider.check({}, news({ autoScalingGroupName: UNKNOWN, baseLaunchTemplateVersion: UNKNOWN }));
            assert.equal(r.failures, undefined);
            assert.match(r.inputs.plan, /^first release of v1\.0\.0/);
            assert.match(r.inputs.plan, /known only after/);
            assert.equal(sim.calls.length, 0);
        });
    });

    describe("diff", () => {
        const stored = () => {
            const n = news();
            return { ...n.remote, ssh: { ...n.remote.ssh, privateKey: `[secret sha256:${require("crypto").createHash("sha256").update(n.remote.ssh.privateKey).digest("hex").slice(0, 16)}]` } };
        };
        const olds = () => ({ ...news(), plan: "x", status: { state: "succeeded", reason: null, at: "t" }, deployed: { version: "v1.0.0" }, remote: stored() });
        it("a new version is a change; the plan text alone is not", async () => {
            assert.equal((await provider.diff("id", olds(), news({ version: "v1.1.0" }))).changes, true);
            assert.equal((await provider.diff("id", olds(), { ...news(), plan: "different text" })).changes, false);
            assert.equal((await provider.diff("id", olds(), news())).changes, false, "same key: no change");
        });
        it("an unfinished or rolled-back release is a change (the next up resumes or retries it)", async () => {
            const o = { ...olds(), status: { state: "rolled-back", reason: "x", at: "t" } };
            assert.equal((await provider.diff("id", o, news())).changes, true);
        });
        it("a new group or launch template replaces the resource", async () => {
            const d = await provider.diff("id", olds(), news({ autoScalingGroupName: "web-2" }));
            assert.deepEqual(d.replaces, ["autoScalingGroupName"]);
        });
        it("a rotated SSH key is a change, though the stored one is redacted", async () => {
            const n = news();
            n.remote.ssh.privateKey = "another key";
            const r = await provider.diff("id", olds(), n);
            assert.equal(r.changes, true);
        });
    });

    describe("create / update / read / delete", () => {
        it("create: the first release brings the group from 0 to its capacity; outputs without the private key", async () => {
            const { r } = await createFirst();
            assert.equal(r.id, `${sim.groupName}/release`);
            assert.equal(r.outs.status.state, "succeeded");
            assert.equal(r.outs.launchTemplateVersion, 2);
            assert.equal(r.outs.history.length, 1);
            assert.equal(sim.group.desired, 2);
            assert.equal(sim.fleet().length, 2);
            assert.ok(!JSON.stringify(r.outs).includes("BEGIN OPENSSH"), "private key not in the outputs");
            assert.match(r.outs.remote.ssh.privateKey, /^\[secret sha256:[0-9a-f]{16}\]$/);
            assert.ok(lines.some((l) => /step scale-out done/.test(l)), "progress lines");
        });

        it("update: a new version; a failure keeps partial state that the next update resumes/retries", async () => {
            const { r } = await createFirst();
            const v2 = (await vc.drive(provider.check(news(), news({ version: "v1.1.0" })))).inputs;
            const u = await vc.drive(provider.update(r.id, r.outs, v2));
            assert.equal(u.outs!.status.state, "succeeded");
            assert.equal(u.outs!.deployed.version, "v1.1.0");
            assert.equal(u.outs!.previousLaunchTemplateVersion, 2);
            assert.equal(u.outs!.launchTemplateVersion, 3);
            assert.equal(u.outs!.replacedInstanceIds.length, 2);
            assert.equal(u.outs!.history.length, 2);

            // v1.2.0 never gets healthy: rolled back, partial state thrown.
            sim.nextImageFaults = { neverHealthy: true };
            const v3 = { ...(await vc.drive(provider.check(v2, news({ version: "v1.2.0", rollout: { healthyTimeoutS: 400 } })))).inputs };
            const failed = await releaseFailure(vc.drive(provider.update(r.id, u.outs, v3)));
            assert.equal(failed.id, r.id);
            const props: any = failed.properties;
            assert.equal(props.__provider, "serialized", "the provider survives in the partial state");
            assert.equal(props.status.state, "rolled-back");
            assert.equal(props.deployed.version, "v1.1.0", "the fleet still runs v1.1.0");
            assert.equal(props.history[2].outcome, "rolled-back");
            assert.match(props.status.reason, /failed at ramp \(instance i-/);
            assert.equal(sim.fleetVersions().join(), "3");

            // Same inputs again: diff says change, and the retry succeeds once the image is fine.
            assert.equal((await provider.diff(r.id, props, v3)).changes, true);
            const retry = await vc.drive(provider.update(r.id, props, v3));
            assert.equal(retry.outs!.status.state, "succeeded");
            assert.equal(retry.outs!.deployed.version, "v1.2.0");
        });

        it("read: the live template version, capacity and lock holder", async () => {
            const { r } = await createFirst();
            const rd = await vc.drive(provider.read(r.id, r.outs));
            assert.equal(rd.props!.live.defaultLaunchTemplateVersion, 2);
            assert.equal(rd.props!.live.desiredCapacity, 2);
            assert.deepEqual(rd.props!.live.versionsInFleet, ["2"]);
            assert.equal(rd.props!.live.lockHolder, null);
        });

        it("delete: keeps the fleet's AMI and the last keepImages, deregisters older ones with their snapshots", async () => {
            const { r } = await createFirst();
            const old = [0, 1, 2, 3].map((k) => sim.addImage({ "release:group": sim.groupName }, {}, Date.now() - (10 - k) * 86400_000));
            await vc.drive(provider.delete(r.id, { ...r.outs, keepImages: 2 }));
            const left = [...sim.images.values()].filter((i) => !i.deregistered).map((i) => i.id);
            assert.ok(left.includes(r.outs.amiId), "the fleet's AMI is kept");
            assert.deepEqual(left.filter((x) => old.includes(x)), [old[3]]);
            assert.equal(sim.snapshots.size, 2);
            assert.equal(sim.group.desired, 2, "the fleet is untouched");
            assert.equal(sim.group.tags.has(LOCK_TAG), false);
        });
    });

    describe("closure serialization", () => {
        it("serializes the provider without capturing SDK clients", async function () {
            this.timeout(60000);
            vc.uninstall();
            try {
                const sf = await pulumi.runtime.serializeFunction(() => new ReleaseProvider(), { allowSecrets: true });
                const text = sf.text;
                assert.ok(text.includes('require("@aws-sdk/client-ec2")'), "SDK required inside methods");
                assert.ok(!/middlewareStack\s*[:=]/.test(text), "no SDK client instance captured");
                // The provider host cannot resolve the program's relative paths: local code must be inlined.
                assert.deepEqual(text.match(/require\("\.{1,2}\/[^"]*"\)/g), null, "no relative require left in the serialized code");
                assert.ok(text.length < 400_000, `serialized provider is ${text.length} characters`);
            } finally {
                vc = installVirtualClock();
            }
        });
    });
});
