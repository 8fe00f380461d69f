/**
 * Releases through Pulumi's real dynamic-provider host, against AWS at the wire level: the
 * provider Pulumi serializes from index.ts runs in the host (test/support/host.ts), its SDK
 * clients reach moto through AWS_ENDPOINT_URL (test/support/moto.ts, with the correcting proxy),
 * and its remote phase runs over OpenSSH on 127.0.0.1 (the example app, PostgreSQL, gunicorn:
 * testkit/site.ts). Never the private addresses moto hands out.
 *
 * In order, as `pulumi up` runs them: Check and Create (the first release, group at 0 -> 3),
 * Check, Diff and Update v1 -> v2 (a ramp of 3 instances, maxSurge 1), an Update that fails
 * and returns its partial state, Read (refresh) and Delete. After each, the end state is read
 * back from moto with separate SDK clients. Check, Diff and Read are also asked of the same
 * provider in this process, on the same world: the answers must be equal. Create and Update
 * change the world, so the in-process provider runs them at the same time on a twin world (the
 * same moto, another region; a second example site): the answers must be equal once each
 * world's own ids, instance and image ids and times are replaced by placeholders (and the
 * `remote` settings, which name each site's sshd and directories, are left out).
 */
import { strict as assert } from "assert";
import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { ListInvalidationsCommand, GetInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeLaunchTemplatesCommand } from "@aws-sdk/client-ec2";
import { ReleaseProvider } from "../../providers/release/provider";
import { InProcessProvider, ProviderHost, captureRelease, releaseUrn } from "../support/host";
import { Moto, motoEnv, startMoto, withEnv } from "../support/moto";
import { MotoClients, MotoWorld, buildMotoWorld, motoClients } from "../support/moto-world";
import { ExampleSite, startExampleSite } from "../../testkit/site";

const URN = releaseUrn("staging");
const TEMPLATE_VERSION_TAG = "aws:ec2launchtemplate:version";

/** What differs between two worlds: their ids, the region, generated instance and image ids, times. */
function normalized(v: any, w: MotoWorld): any {
    // bakeS (whole seconds of a real-time wait) may round differently in the two worlds: asserted on its own.
    let text = JSON.stringify(v, (k, x) => (k === "remote" || k === "readAt" ? "(site)" : k === "bakeS" ? "(s)" : x));
    const ids = Object.entries(w.release).filter(([, x]) => typeof x === "string") as [string, string][];
    for (const [k, x] of ids.sort((a, b) => b[1].length - a[1].length)) text = text.split(x).join(`<${k}>`);
    text = text.split(w.launchTemplateName).join("<template>");
    text = text.replace(/\bami-[0-9a-f]{8,17}\b/g, "ami-*").replace(/\bi-[0-9a-f]{8,17}\b/g, "i-*");
    text = text.replace(/\d{4}-\d{2}-\d{2}T\d{2}[:-]\d{2}[:-]\d{2}(\.|-)\d{3}Z/g, "<time>");
    return JSON.parse(text);
}

/** Drops what differs between two identical calls made a moment apart. */
function stable(v: any): any {
    return JSON.parse(JSON.stringify(v, (k, x) => (k === "readAt" ? "(time)" : x)));
}

describe("host tier: releases through the real host against moto, remote phase over OpenSSH", function () {
    this.timeout(300000);

    let moto: Moto;
    let world: MotoWorld;
    let twin: MotoWorld;
    let twinSite: ExampleSite;
    let twinV1State: Record<string, any>;
    let twinV2State: Record<string, any>;
    let sdk: MotoClients;
    let site: ExampleSite;
    let host: ProviderHost;
    let local: InProcessProvider;
    let restoreEnv: () => void;
    let v1Inputs: Record<string, any>;
    let v1State: Record<string, any>;
    let v2State: Record<string, any>;
    let id: string;

    const inputsFor = (version: string) => ({ ...v1Inputs, version });
    /** The same inputs pointed at the twin world and its site. */
    function onTwin(v: Record<string, any>): Record<string, any> {
        let text = JSON.stringify({ ...v, remote: undefined });
        for (const [k, x] of Object.entries(world.release)) if (typeof x === "string") text = text.split(x).join(String((twin.release as any)[k]));
        const out = JSON.parse(text);
        out.remote = { ...v.remote, ...twinSite.settings, region: twin.release.region, instanceId: v.remote.instanceId === world.release.managementInstanceId ? twin.release.managementInstanceId : v.remote.instanceId };
        return out;
    }

    async function group() {
        const g = await sdk.asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [world.release.autoScalingGroupName] }));
        return g.AutoScalingGroups![0];
    }
    /** Each live instance of the group with its launch-template version (the EC2 tag; see moto.ts on why). */
    async function fleet(): Promise<{ id: string; version: string }[]> {
        const ids = ((await group()).Instances ?? []).map((i) => i.InstanceId!);
        if (!ids.length) return [];
        const r = await sdk.ec2.send(new DescribeInstancesCommand({ InstanceIds: ids }));
        return (r.Reservations ?? [])
            .flatMap((x) => x.Instances ?? [])
            .filter((i) => i.State?.Name === "running" || i.State?.Name === "pending")
            .map((i) => ({ id: i.InstanceId!, version: i.Tags?.find((t) => t.Key === TEMPLATE_VERSION_TAG)?.Value ?? "?" }))
            .sort((a, b) => a.id.localeCompare(b.id));
    }
    async function defaultTemplateVersion(): Promise<number> {
        const r = await sdk.ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [world.release.baseLaunchTemplateId] }));
        return Number(r.LaunchTemplates![0].DefaultVersionNumber);
    }
    async function groupTags(): Promise<string[]> {
        return ((await group()).Tags ?? []).map((t) => t.Key!).filter((k) => k.startsWith("release:")).sort();
    }

    before(async function () {
        // The slow pieces side by side: the two example sites (PostgreSQL, sshd, the example
        // repository) start while moto starts and then while the worlds, the captured inputs and
        // the host come up. allSettled, so that whatever started is assigned for after() to stop.
        const sites = Promise.allSettled([startExampleSite({ keepReleases: 3 }), startExampleSite({ keepReleases: 3 })]);
        const motoStarted = await Promise.allSettled([startMoto()]);
        if (motoStarted[0].status === "fulfilled") moto = motoStarted[0].value;
        // Target-group timings shorter than AWS allows (its interval is 5-300 s, its healthy
        // threshold 2-10; moto takes an interval of 2 s with a 1 s check timeout, and a threshold
        // of 1): moto's targets are healthy at once and this world only tests the wire protocol
        // and the host, so the release's scheduled first look at each wave, min(60, span) + span
        // with span = interval x healthy threshold, is 4 s instead of 20 s at 5 x 2.
        const timings = { deregistrationDelayS: 1, healthCheckIntervalS: 2, healthCheckTimeoutS: 1, healthyThreshold: 1 };
        const rest = moto
            ? await Promise.allSettled([
                  // One after the other: moto answers two concurrent CreateDistribution calls with a 500.
                  (async () => {
                      world = await buildMotoWorld(moto.endpoint, timings);
                      twin = await buildMotoWorld(moto.endpoint, timings);
                  })(),
                  (async () => {
                      restoreEnv = withEnv(motoEnv(moto));
                      return captureRelease("staging", { "release:version": "v1" });
                  })(),
                  ProviderHost.start({ env: motoEnv(moto) }).then((h) => (host = h)),
              ])
            : [];
        const [siteStarted, twinSiteStarted] = await sites;
        if (siteStarted.status === "fulfilled") site = siteStarted.value;
        if (twinSiteStarted.status === "fulfilled") twinSite = twinSiteStarted.value;
        const failed = [...motoStarted, ...rest, siteStarted, twinSiteStarted].find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed) throw failed.reason;
        sdk = motoClients(moto.endpoint, world.release.region);
        // The Release's inputs as the real program registers them (index.ts, Pulumi.staging.yaml),
        // pointed at this world: its ids, the local sshd, short polls for a world that is fast.
        const captured = (rest[1] as PromiseFulfilledResult<Record<string, any>>).value;
        v1Inputs = {
            ...captured,
            ...world.release,
            version: "v1",
            capacity: { minSize: 3, maxSize: 4, desiredCapacity: 3 },
            remote: { ...captured.remote, settingsModule: undefined, ...site.settings, region: world.release.region, instanceId: world.release.managementInstanceId },
            rollout: { maxSurge: 1, pollIntervalS: 1, healthyTimeoutS: 120, drainTimeoutS: 30, bakeTimeoutS: 54 },
            migrationPolicy: "refuse",
            // This world's timings are below the settings' bounds, which the input is checked
            // against: the release reads them from moto's target group instead (the input's own
            // path through the host is host.spec.ts's; through a release, test/release's).
            targetGroupTimings: undefined,
        };
        assert.deepEqual(Object.keys(captured.targetGroupTimings).sort(), ["deregistrationDelayS", "healthCheckIntervalS", "healthyThreshold"], "the program passes the target group's timings");
        local = new InProcessProvider(new ReleaseProvider({ log: () => undefined }));
    });

    after(async function () {
        if (process.env.FLEET_HOST_VERBOSE) console.log(host?.stdout.join(""));
        await host?.stop();
        restoreEnv?.();
        await site?.stop();
        await twinSite?.stop();
        await moto?.stop();
    });

    it("Check of the first release: the plan from the live world, as in-process", async function () {
        const got = await host.check(URN, {}, inputsFor("v1"));
        assert.ok(got.ok, JSON.stringify(got));
        assert.deepEqual(got.value.failures, [], JSON.stringify(got.value.failures));
        assert.deepEqual(stable(got), stable(await local.check(URN, {}, inputsFor("v1"))));
        assert.match(got.value.inputs.plan, /^first release of v1/);
        assert.ok(!/not inspected/.test(got.value.inputs.plan), got.value.inputs.plan);
        assert.match(got.value.inputs.plan, new RegExp(`scale group ${world.release.autoScalingGroupName} from 0 to min 3 / desired 3 / max 4`));
        v1Inputs = got.value.inputs;
    });

    it("Create: the first release bakes, makes the template version the default, brings the group from 0 to 3", async function () {
        const [got, here] = await Promise.all([host.create(URN, v1Inputs), local.create(URN, onTwin(v1Inputs))]);
        assert.ok(got.ok, JSON.stringify(got));
        assert.deepEqual(normalized(got, world), normalized(here, twin), "the host's answer is the in-process provider's (twin world)");
        twinV1State = (here as any).value.properties;
        id = got.value.id;
        v1State = got.value.properties;
        assert.equal(id, `${world.release.autoScalingGroupName}/release`);
        assert.equal(v1State.status.state, "succeeded", JSON.stringify(v1State.status));
        assert.equal(v1State.__provider, v1Inputs.__provider);
        const lt = await defaultTemplateVersion();
        assert.equal(v1State.launchTemplateVersion, lt);
        // moto's image is ready at the first look (13.5 s: a quarter of bakeTimeoutS 54, the least
        // the settings take): the state records 80 % of that wait for the next release's first look.
        assert.ok(v1State.deployed.bakeS >= 11 && v1State.deployed.bakeS <= 12, `bakeS ${v1State.deployed.bakeS}`);
        const img = await sdk.ec2.send(new DescribeImagesCommand({ ImageIds: [v1State.amiId] }));
        assert.equal(img.Images?.[0]?.State, "available");
        assert.ok(img.Images![0].Tags!.some((t) => t.Value === "v1"), JSON.stringify(img.Images![0].Tags));
        const g = await group();
        assert.deepEqual([g.MinSize, g.DesiredCapacity, g.MaxSize], [3, 3, 4]);
        const f = await fleet();
        assert.equal(f.length, 3);
        assert.deepEqual([...new Set(f.map((x) => x.version))], [String(lt)]);
        assert.deepEqual(await groupTags(), [], "no lock or progress tag left");
        assert.deepEqual(g.SuspendedProcesses ?? [], []);
    });

    it("Check and Diff of v1 -> v2: the ramp planned from the live fleet, migrations inspected over SSH, as in-process", async function () {
        const got = await host.check(URN, v1Inputs, inputsFor("v2"));
        assert.ok(got.ok, JSON.stringify(got));
        assert.deepEqual(got.value.failures, []);
        assert.deepEqual(stable(got), stable(await local.check(URN, v1Inputs, inputsFor("v2"))));
        const plan: string = got.value.inputs.plan;
        assert.match(plan, /^release v1 -> v2/);
        assert.match(plan, /ramp 3 instances in 3 waves of 1/);
        assert.match(plan, /1 migration operation\(s\), safe/, plan);
        const diff = await host.diff(URN, id, v1State, got.value.inputs);
        assert.deepEqual(diff, await local.diff(URN, id, v1State, got.value.inputs));
        assert.ok(diff.ok && diff.value.changes === 2, JSON.stringify(diff));
        v2Checked = got.value.inputs;
    });
    let v2Checked: Record<string, any>;

    it("Update v1 -> v2: every instance replaced, one wave at a time; sizes, processes and tags as found; the invalidation", async function () {
        const before = await fleet();
        const twinId = id.replace(world.release.autoScalingGroupName, twin.release.autoScalingGroupName);
        const [got, here] = await Promise.all([host.update(URN, id, v1State, v2Checked), local.update(URN, twinId, twinV1State, onTwin(v2Checked))]);
        assert.ok(got.ok, JSON.stringify(got));
        assert.deepEqual(normalized(got, world), normalized(here, twin), "the host's answer is the in-process provider's (twin world)");
        twinV2State = (here as any).value.properties;
        v2State = got.value.properties;
        assert.equal(v2State.status.state, "succeeded", JSON.stringify(v2State.status));
        const lt = await defaultTemplateVersion();
        assert.equal(v2State.launchTemplateVersion, lt);
        assert.equal(v2State.previousLaunchTemplateVersion, v1State.launchTemplateVersion);
        // The state the host kept from Create made this release look earlier (80 % of it), and it records less again.
        assert.ok(v2State.deployed.bakeS >= 7 && v2State.deployed.bakeS < v1State.deployed.bakeS, `bakeS ${v1State.deployed.bakeS} then ${v2State.deployed.bakeS}`);
        assert.deepEqual([...v2State.replacedInstanceIds].sort(), before.map((x) => x.id));
        const after = await fleet();
        assert.equal(after.length, 3);
        assert.deepEqual([...new Set(after.map((x) => x.version))], [String(lt)]);
        assert.ok(after.every((x) => !before.some((b) => b.id === x.id)), "no old instance left");
        const g = await group();
        assert.deepEqual([g.MinSize, g.DesiredCapacity, g.MaxSize], [3, 3, 4]);
        assert.deepEqual(g.SuspendedProcesses ?? [], []);
        assert.deepEqual(await groupTags(), []);
        const inv = await sdk.cf.send(new ListInvalidationsCommand({ DistributionId: world.release.distributionId }));
        assert.equal(inv.InvalidationList?.Quantity, 1);
        const one = await sdk.cf.send(new GetInvalidationCommand({ DistributionId: world.release.distributionId, Id: inv.InvalidationList!.Items![0].Id! }));
        assert.deepEqual([...(one.Invalidation!.InvalidationBatch!.Paths!.Items ?? [])].sort(), ["/static/css/site.css", "/static/js/app.js"]);
        assert.deepEqual(v2State.history.map((h: any) => [h.version, h.outcome]), [["v1", "succeeded"], ["v2", "succeeded"]]);
    });

    it("an Update that fails after the lock returns its partial state (ErrorResourceInitFailed) with the reason; the fleet stays on v2", async function () {
        // The management instance was replaced behind the stack's back: the remote phase (over SSH)
        // runs, then CreateImage fails on the instance id the inputs still name.
        const gone = "i-0123456789abcdef0";
        const news: Record<string, any> = { ...v2Checked, version: "v1", managementInstanceId: gone, remote: { ...v2Checked.remote, instanceId: gone }, plan: "release v2 -> v1" };
        const before = await fleet();
        const ltBefore = await defaultTemplateVersion();
        const twinId = id.replace(world.release.autoScalingGroupName, twin.release.autoScalingGroupName);
        const [got, here] = await Promise.all([host.update(URN, id, v2State, news), local.update(URN, twinId, twinV2State, onTwin(news))]);
        assert.ok(!got.ok, JSON.stringify(got));
        assert.deepEqual(normalized(got, world), normalized(here, twin), "the host's answer is the in-process provider's (twin world)");
        assert.ok(got.error.initFailed, `no partial state: ${JSON.stringify(got.error)}`);
        const partial = got.error.initFailed.properties;
        assert.equal(got.error.initFailed.id, id);
        assert.deepEqual(got.error.initFailed.reasons, [got.error.message]);
        assert.match(got.error.message, /bake/);
        assert.ok(got.error.message.includes(gone), got.error.message);
        assert.match(got.error.message, /CreateImage: /, "the failed AWS call is named");
        assert.ok(["rolled-back", "failed"].includes(partial.status.state), JSON.stringify(partial.status));
        assert.equal(partial.status.reason, got.error.message);
        assert.equal(partial.version, "v1");
        assert.equal(partial.deployed.version, "v2", "the state still records v2 as what the fleet runs");
        assert.equal(partial.__provider, news.__provider, "the provider survives in the partial state");
        assert.deepEqual(partial.history.map((h: any) => [h.version, h.outcome]).slice(-1), [["v1", partial.status.state]]);
        assert.deepEqual(await fleet(), before);
        assert.equal(await defaultTemplateVersion(), ltBefore);
        assert.deepEqual(await groupTags(), []);
        v2State = partial;
    });

    it("Read (pulumi refresh): the live template version, sizes and versions in the fleet, as in-process", async function () {
        const got = await host.read(URN, id, v2State);
        assert.ok(got.ok, JSON.stringify(got));
        assert.deepEqual(stable(got), stable(await local.read(URN, id, v2State)));
        const live = got.value.properties.live;
        assert.equal(live.defaultLaunchTemplateVersion, await defaultTemplateVersion());
        assert.deepEqual([live.minSize, live.desiredCapacity, live.maxSize, live.instances], [3, 3, 4, 3]);
        assert.equal(live.lockHolder, null);
    });

    it("Delete: keeps every AMI in use and the fleet as it is", async function () {
        const before = await fleet();
        const got = await host.delete(URN, id, v2State);
        assert.deepEqual(got, { ok: true, value: {} });
        const img = await sdk.ec2.send(new DescribeImagesCommand({ ImageIds: [v2State.deployed.amiId] }));
        assert.equal(img.Images?.[0]?.State, "available");
        assert.deepEqual(await fleet(), before);
    });
});
