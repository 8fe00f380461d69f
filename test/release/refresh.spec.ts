/**
 * `pulumi refresh` must not trigger a release (the base template's latestVersion read back from AWS
 * is the release's own last version), and a re-run after a failure plans what it will do.
 * Planner functions, the provider's check/diff, and provider update on the simulated AWS.
 */
import * as assert from "node:assert/strict";
import type { VirtualClock } from "../../testkit/sim-aws/clock";
import { providerArgs, providerWorld, releaseFailure } from "../../testkit/provider-world";
import { SimAws } from "../../testkit/sim-aws";
import { ReleaseFailed, ReleaseProvider } from "../../providers/release/provider";
import { realClock } from "../../providers/release/ports";
import { normalizeInputs } from "../../providers/release/inputs";
import { Deployed, ownTemplateVersions, plan, rerunLine, resolveBase } from "../../providers/release/planner";
import { FakeRemotePhase, rawArgs } from "../../testkit/fakes";
import { LOCK_TAG, PROGRESS_TAG } from "../../providers/release/executor";

const dep: Deployed = { version: "v1.3.0", amiId: "ami-0old", baseLaunchTemplateVersion: 1, launchTemplateVersion: 7, capacity: { minSize: 2, maxSize: 6, desiredCapacity: 4 } };

describe("release planner: the base template version and re-runs", () => {
    it("ownTemplateVersions collects every version the state says the Release created", () => {
        const st = { templateVersionsCreated: [3, 4], deployed: { launchTemplateVersion: 7 }, progress: { launchTemplateVersion: 8 }, history: [{ launchTemplateVersion: 5 }, { launchTemplateVersion: null }], previousLaunchTemplateVersion: 1 };
        assert.deepEqual(ownTemplateVersions(st), [3, 4, 5, 7, 8]);
        assert.deepEqual(ownTemplateVersions(undefined), []);
    });

    it("resolveBase: the release's own version is not a base change; a new Pulumi version is", () => {
        assert.deepEqual(resolveBase(7, [2, 7], dep), { base: 1, own: true }, "refresh read back the release's v7");
        assert.deepEqual(resolveBase(9, [2, 7], dep), { base: 9, own: false }, "Pulumi created v9");
        assert.deepEqual(resolveBase(7, [7], null, 1), { base: 1, own: true }, "no deployed: the old input base");
    });

    it("plan: refresh-bumped base plans no change and says why; a genuine base change ramps without re-baking", () => {
        const { inputs } = normalizeInputs({ ...rawArgs(new SimAws()), version: "v1.3.0", baseLaunchTemplateVersion: 1, capacity: dep.capacity });
        const same = plan(inputs, dep, { ownBase: { requested: 7, effective: 1 } });
        assert.equal(same.kind, "none");
        assert.match(same.text, /^no change: v1\.3\.0 is released/);
        assert.match(same.text, /base launch template v7 is a version this Release created .* the base stays v1/);
        const changed = plan({ ...inputs, baseLaunchTemplateVersion: 9 }, dep);
        assert.equal(changed.kind, "template");
        assert.deepEqual(changed.steps.map((s) => s.name), ["lock", "template", "ramp", "unlock"]);
        assert.match(changed.text, /base launch template v1 -> v9 \(version v1\.3\.0 kept\)/);
    });

    it("rerunLine: a resume names the step and the wave, a retry the reason", () => {
        assert.equal(
            rerunLine({ version: "v2", state: "in-progress", next: "ramp", done: ["lock", "remote", "bake", "template"], replaced: 2, remaining: 2, surge: 1, launchTemplateVersion: 9 }),
            "resume release v2 from step ramp (wave 3 of 4); done: lock, remote, bake, template; kept: launch template v9",
        );
        assert.equal(rerunLine({ version: "v2", state: "rolled-back", reason: "step ramp (instance i-1): unhealthy" }), "retry release v2 after: step ramp (instance i-1): unhealthy");
    });
});

describe("Release provider: refresh and re-run on the simulated AWS", () => {
    let vc: VirtualClock, sim: SimAws, remote: FakeRemotePhase, lines: string[], provider: ReleaseProvider;
    beforeEach(() => ({ vc, sim, remote, lines, provider } = providerWorld()));
    afterEach(() => vc.uninstall());
    const news = (over: Record<string, any> = {}) => providerArgs(sim, over);
    const latest = () => Math.max(...sim.templates.keys());
    const imagesBaked = () => sim.apiCalls((c) => c.command === "CreateImage").length;

    /** create v1.0.0, then update to v1.1.0: the release created template versions 2 and 3. */
    async function twoReleases() {
        const c1 = (await vc.drive(provider.check({}, news()))).inputs;
        const r = await vc.drive(provider.create(c1));
        const c2 = (await vc.drive(provider.check(c1, news({ version: "v1.1.0" })))).inputs;
        const u = await vc.drive(provider.update(r.id, r.outs, c2));
        assert.equal(u.outs!.status.state, "succeeded");
        assert.deepEqual(u.outs!.templateVersionsCreated, [2, 3]);
        return { id: r.id, oldInputs: c2, outs: u.outs! };
    }

    it("refresh bumps the base to the release's own version: no change in diff and check; a real base change ramps without re-baking", async () => {
        const { id, oldInputs, outs } = await twoReleases();
        assert.equal(latest(), 3);
        const bakes = imagesBaked();

        // pulumi refresh: the LaunchTemplate's latestVersion is now the release's v3.
        const refreshed = news({ version: "v1.1.0", baseLaunchTemplateVersion: latest() });
        // diff from the state alone (what `pulumi up` after a refresh sees) ...
        assert.equal((await provider.diff(id, outs, refreshed)).changes, false, "diff: no change");
        // ... and check from the old inputs only (what Pulumi passes it): recognised by the description.
        const checked = await vc.drive(provider.check(oldInputs, refreshed));
        assert.equal(checked.failures, undefined);
        assert.match(checked.inputs.plan, /^no change: v1\.1\.0 is released/);
        assert.match(checked.inputs.plan, /base launch template v3 is a version this Release created/);
        assert.equal(checked.inputs.baseIsReleaseVersion, 3);
        assert.equal((await provider.diff(id, { ...outs, templateVersionsCreated: undefined, history: [], deployed: { ...outs.deployed, launchTemplateVersion: 0 } }, checked.inputs)).changes, false, "diff: the check's finding suffices");
        // An update anyway (e.g. another input changed) does not ramp: no instance replaced.
        const same = await vc.drive(provider.update(id, outs, checked.inputs));
        assert.deepEqual(same.outs!.replacedInstanceIds, []);
        assert.equal(same.outs!.deployed.baseLaunchTemplateVersion, 1);
        assert.equal(sim.fleetVersions().join(), "3");

        // A genuine base change: Pulumi creates v4 (instance type changed).
        const v4 = sim.addBaseVersion({ InstanceType: "t3.medium" });
        const changed = news({ version: "v1.1.0", baseLaunchTemplateVersion: v4 });
        assert.equal((await provider.diff(id, same.outs, changed)).changes, true, "diff: a real base change");
        const c = await vc.drive(provider.check(checked.inputs, changed));
        assert.match(c.inputs.plan, /^base launch template v1 -> v4 \(version v1\.1\.0 kept\)/);
        assert.match(c.inputs.plan, /no re-bake/);
        assert.equal(c.inputs.baseIsReleaseVersion, undefined);
        const u = await vc.drive(provider.update(id, same.outs, c.inputs));
        assert.equal(u.outs!.status.state, "succeeded");
        assert.equal(imagesBaked(), bakes, "no re-bake");
        assert.equal(u.outs!.launchTemplateVersion, 5);
        assert.equal(sim.templates.get(5)!.data.InstanceType, "t3.medium", "from the new base");
        assert.equal(sim.templates.get(5)!.data.ImageId, outs.amiId, "with the release's AMI");
        assert.equal(u.outs!.replacedInstanceIds.length, 2, "ramped");
        assert.deepEqual(u.outs!.templateVersionsCreated, [2, 3, 5]);

        // And a refresh after that one: v5 is ours again.
        assert.equal((await provider.diff(id, u.outs, news({ version: "v1.1.0", baseLaunchTemplateVersion: 5 }))).changes, false);
    });

    it("re-run after a rolled-back release: check's plan says retry, with the reason (from the state or from the cloud)", async () => {
        const { id, oldInputs, outs } = await twoReleases();
        sim.nextImageFaults = { neverHealthy: true };
        const c3 = (await vc.drive(provider.check(oldInputs, news({ version: "v1.2.0", rollout: { healthyTimeoutS: 400 } })))).inputs;
        const failed = await releaseFailure(vc.drive(provider.update(id, outs, c3)));
        // Pulumi stores c3 as the inputs: the next check sees v1.2.0 both old and new.
        const fromCloud = await vc.drive(provider.check(c3, c3));
        assert.match(fromCloud.inputs.plan, /^retry release v1\.2\.0 after: the default launch template version v3 is still release v1\.1\.0's .*: release v1\.1\.0 -> v1\.2\.0/);
        assert.match(fromCloud.inputs.plan, /bake AMI/);
        const fromState = await vc.drive(provider.check(failed.properties, c3));
        assert.match(fromState.inputs.plan, /^retry release v1\.2\.0 after: release v1\.2\.0 failed at ramp \(instance i-/);
        assert.match(fromState.inputs.plan, /: release v1\.1\.0 -> v1\.2\.0/);
    });

    it("re-run after an interruption mid-ramp: check's plan says resume from the ramp, at which wave", async () => {
        const { id, oldInputs, outs } = await twoReleases();
        const c3 = (await vc.drive(provider.check(oldInputs, news({ version: "v1.2.0" })))).inputs;
        // Kill the process after the first wave (no partial state: Pulumi saw nothing).
        let waves = 0;
        const killer = new ReleaseProvider({
            cloud: () => sim.cloud(),
            remotePhase: async () => remote,
            clock: realClock,
            log: (l) => {
                if (/ramp wave \d+\/\d+ done/.test(l) && ++waves === 1) throw Object.assign(new Error("killed"), { interrupted: true });
            },
        });
        await assert.rejects(vc.drive(killer.update(id, outs, c3)), /killed/);
        assert.ok(sim.group.tags.has(PROGRESS_TAG) && sim.group.tags.has(LOCK_TAG), "the dead run's tags");
        const c = await vc.drive(provider.check(c3, c3));
        assert.match(c.inputs.plan, /^resume release v1\.2\.0 from step ramp \(stopped: run \S+ was interrupted \(lock held by shop\/prod\/web-release\)\); kept: AMI ami-\S+, launch template v4/);
        // With the state (status/progress) the plan knows the wave: wave 1's old instance is out of
        // service (deregistered, not yet terminated: the pipelined ramp terminates it a wave later).
        const out = sim.apiCalls((x) => x.command === "DeregisterTargets").pop()!.input.Targets[0].Id;
        const progress = { runId: "r", kind: "release", version: "v1.2.0", baseLaunchTemplateVersion: 1, startedAt: "t", phase: "forward", steps: ["lock", "remote", "bake", "template", "ramp", "invalidate", "prune", "unlock"], done: ["lock", "remote", "bake", "template"], maintenance: false, replaced: [], outOfService: [out], launchTemplateVersion: 4, warnings: [] };
        const st = await vc.drive(provider.check({ ...c3, status: { state: "failed", reason: "interrupted", at: "t" }, progress }, c3));
        assert.match(st.inputs.plan, /^resume release v1\.2\.0 from step ramp \(wave 2 of 2\) \(stopped: interrupted\); done: lock, remote, bake, template; kept: launch template v4/);
        // Pulumi saved no state for the killed run: its still-fresh lock is refused (it could be another
        // machine's live run of this stack) until it expires (TTL 1800 s).
        await assert.rejects(vc.drive(provider.update(id, outs, c3)), /held by shop\/prod\/web-release \(run \S+\) until/);
        await vc.advance(1801_000);
        // The resume itself finishes the release.
        const r = await vc.drive(provider.update(id, outs, c3));
        assert.equal(r.outs!.status.state, "succeeded");
        assert.equal(sim.fleetVersions().join(), "4");
    });

    it("re-run after a failed first release: check's plan says retry, as a first release again", async () => {
        sim.nextImageFaults = { neverHealthy: true };
        const c1 = (await vc.drive(provider.check({}, news({ rollout: { healthyTimeoutS: 400 } })))).inputs;
        await assert.rejects(vc.drive(provider.create(c1)), (e: any) => e instanceof ReleaseFailed && (e.properties as any).status.state === "rolled-back");
        assert.equal(sim.group.desired, 0);
        const again = await vc.drive(provider.check(c1, c1));
        assert.match(again.inputs.plan, /^retry release v1\.0\.0 after: group web-asg is still empty: the first release of v1\.0\.0 did not finish: first release of v1\.0\.0/);
        assert.match(again.inputs.plan, /scale group web-asg from 0/);
    });
});
