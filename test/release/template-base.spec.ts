/**
 * The base launch template version is read once per release: the read under the lock that asks
 * for the live default ("was this release already made by another run?") asks for the base version
 * too, and the template step copies that data (versions are immutable). A run that did not make
 * that read (a resumed one) has the adapter read the base as before. Either way the new version is
 * the base's full data with only ImageId replaced. Simulated AWS, real SDK clients, virtual clock.
 */
import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { ExecContext, ExecResult, Progress, runRelease } from "../../providers/release/executor";
import type { Deployed } from "../../providers/release/planner";
import { Cloud, realClock } from "../../providers/release/ports";
import { FakeRemotePhase, inputs } from "../../testkit/fakes";
import { expectKnownGood, runningFleet, World } from "../../testkit/world";
import { SimAws } from "../../testkit/sim-aws";

describe("release executor: the base launch template version, read once", () => {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());

    /** A fleet on v2 (the last release, on base v1) and a new base v3 from Pulumi, unlike v1 and v2 beyond the image. */
    function fleetWithNewBase(): { w: World; base: number } {
        const w = runningFleet(2, { max: 2 });
        w.deployed.capacity = { minSize: w.before.min, maxSize: w.before.max, desiredCapacity: w.before.desired };
        const base = w.sim.addBaseVersion({ InstanceType: "t3.medium", UserData: "IyEvYmluL2Jhc2ggLXgK", TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "tier", Value: "web" }] }] });
        return { w, base };
    }

    function ctx(w: World, base: number, over: Partial<ExecContext> = {}, deployed: Deployed | null = w.deployed): ExecContext {
        return {
            cloud: w.sim.cloud(),
            remotePhase: async () => new FakeRemotePhase(deployed?.version ?? null),
            clock: realClock,
            log: () => undefined,
            inputs: inputs(w.sim, { version: "v1.1.0", baseLaunchTemplateVersion: base, capacity: w.deployed.capacity }),
            deployed,
            owner: "shop/prod/web-release",
            ...over,
        };
    }

    const describes = (sim: SimAws, since = 0) => sim.apiCalls((c) => c.command === "DescribeLaunchTemplateVersions" && c.t >= since).map((c) => c.input.Versions);

    /** The version the release made: the base's data with only ImageId replaced (by the release's AMI). */
    function expectBaseWithNewImage(sim: SimAws, r: ExecResult, base: number) {
        const made = sim.templates.get(r.deployed.launchTemplateVersion)!;
        assert.ok(r.deployed.amiId.startsWith("ami-") && r.deployed.amiId !== sim.templates.get(base)!.data.ImageId, "a new AMI");
        assert.deepEqual(made.data, { ...sim.templates.get(base)!.data, ImageId: r.deployed.amiId });
    }

    it("a release reads the default and the base in one DescribeLaunchTemplateVersions; its version is the base's data with only ImageId replaced", async () => {
        const { w, base } = fleetWithNewBase();
        const r = await vc.drive(runRelease(ctx(w, base)));
        assert.equal(r.outcome, "succeeded", r.reason);
        assert.deepEqual(describes(w.sim), [["$Default", String(base)]]);
        expectBaseWithNewImage(w.sim, r, base);
        // Not the default's data (v2, on base v1), which came back in the same answer.
        assert.notEqual(w.sim.templates.get(r.deployed.launchTemplateVersion)!.data.InstanceType, w.sim.templates.get(2)!.data.InstanceType);
        expectKnownGood(w, { version: r.deployed.launchTemplateVersion });
    });

    it("first release, the default is the base: AWS answers one entry for both names", async () => {
        const sim = new SimAws();
        // The simulated AWS's answer when the two names are one version: one entry.
        assert.deepEqual((await vc.drive(sim.cloud().describeTemplateVersions(sim.ltId, ["$Default", "1"]))).map((v) => [v.version, v.isDefault]), [[1, true]]);
        const r = await vc.drive(
            runRelease({
                cloud: sim.cloud(),
                remotePhase: async () => new FakeRemotePhase(null),
                clock: realClock,
                log: () => undefined,
                inputs: inputs(sim, { version: "v1.1.0", baseLaunchTemplateVersion: 1, capacity: { minSize: 1, maxSize: 4, desiredCapacity: 2 } }),
                deployed: null,
                owner: "shop/prod/web-release",
            }),
        );
        assert.equal(r.outcome, "succeeded", r.reason);
        assert.deepEqual(describes(sim).slice(1), [["$Default", "1"]], "the release's one read (after the probe above)");
        expectBaseWithNewImage(sim, r, 1);
    });

    it("an answer with duplicates, in any order (as moto gives): the base is told by its number, the default by DefaultVersion", async () => {
        const { w, base } = fleetWithNewBase();
        const sim = w.sim.cloud();
        // Each entry twice, reversed: the default (v2) comes after the base.
        const cloud: Cloud = Object.assign(Object.create(sim), {
            describeTemplateVersions: async (id: string, versions: string[]) => {
                const out = await sim.describeTemplateVersions(id, versions);
                return [...out, ...out].reverse();
            },
        });
        const r = await vc.drive(runRelease(ctx(w, base, { cloud })));
        assert.equal(r.outcome, "succeeded", r.reason);
        assert.deepEqual(describes(w.sim), [["$Default", String(base)]]);
        expectBaseWithNewImage(w.sim, r, base);
    });

    it("a resumed run (no read under the lock in this process): the template step reads the base itself, same data", async () => {
        const { w, base } = fleetWithNewBase();
        let saved: Progress | null = null;
        const kill = (p: Progress) => {
            if (p.done.includes("bake") && !p.launchTemplateVersion) {
                saved = p;
                throw Object.assign(new Error("killed"), { interrupted: true });
            }
        };
        await assert.rejects(vc.drive(runRelease(ctx(w, base, { checkpoint: kill }))), /killed/);
        assert.ok(saved, "killed after the bake, before the template step");
        const resumedAt = Date.now();
        const r = await vc.drive(runRelease(ctx(w, base, { progress: saved })));
        assert.equal(r.outcome, "succeeded", r.reason);
        assert.deepEqual(describes(w.sim, resumedAt), [[String(base)]], "the adapter's own read of the base");
        expectBaseWithNewImage(w.sim, r, base);
        expectKnownGood(w, { version: r.deployed.launchTemplateVersion });
    });

    describe("the check it serves: a release another run already made is not redone", () => {
        async function releasedTwice(cloudFor: (w: World) => Cloud) {
            const { w, base } = fleetWithNewBase();
            const first = await vc.drive(runRelease(ctx(w, base)));
            assert.equal(first.outcome, "succeeded", first.reason);
            // The same release again from the state before it (Pulumi lost the first run's state).
            const since = Date.now();
            const again = await vc.drive(runRelease(ctx(w, base, { cloud: cloudFor(w) })));
            return { w, base, first, again, since };
        }

        it("found by the merged read", async () => {
            const { w, base, first, again, since } = await releasedTwice((w) => w.sim.cloud());
            assert.equal(again.outcome, "succeeded");
            assert.match(again.reason ?? "", /already on the fleet .*nothing redone/);
            assert.equal(again.deployed.launchTemplateVersion, first.deployed.launchTemplateVersion);
            assert.deepEqual(describes(w.sim, since), [["$Default", String(base)], ["$Default"]], "the merged read, then the default's AMI");
            assert.equal(w.sim.apiCalls((c) => c.command === "CreateImage" && c.t >= since).length, 0, "nothing baked");
        });

        it("found even when the merged read fails (the default is then asked alone, as before)", async () => {
            const { w, first, again, since } = await releasedTwice((w) => {
                const sim = w.sim.cloud();
                return Object.assign(Object.create(sim), {
                    describeTemplateVersions: async (id: string, versions: string[]) => {
                        if (versions.length > 1) throw Object.assign(new Error(`DescribeLaunchTemplateVersions: version ${versions[1]} not found`), { name: "InvalidLaunchTemplateId.VersionNotFound" });
                        return sim.describeTemplateVersions(id, versions);
                    },
                });
            });
            assert.equal(again.outcome, "succeeded");
            assert.match(again.reason ?? "", /already on the fleet .*nothing redone/);
            assert.equal(again.deployed.launchTemplateVersion, first.deployed.launchTemplateVersion);
            assert.deepEqual(describes(w.sim, since), [["$Default"], ["$Default"]], "the default alone, then its AMI");
        });
    });
});
