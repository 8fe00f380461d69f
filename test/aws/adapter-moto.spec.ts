/**
 * The AWS adapter (providers/release/aws/cloud.ts) at the wire level: every method, against moto
 * 5.2.3 (test/support/moto.ts), through the SDK's own endpoint resolution (AWS_ENDPOINT_URL, no
 * endpoint in the adapter's configuration), with results read back through separate SDK clients.
 *
 * The cases run in order on one world (test/support/moto-world.ts): the group starts at 0 and
 * grows, images and template versions accumulate. Each case is declared with covers(<method>...);
 * the last case fails when the adapter has a method no case covers, so a new Cloud method needs a
 * case here (add it where the world has what it needs).
 *
 * An AWS error keeps its name and its message is prefixed with the API action that failed
 * (providers/release/aws/calls.ts): each error case checks both, as they come off the wire.
 *
 * moto departures met here: the proxy corrects the ones listed in test/support/moto.ts; the rest
 * are judged around (targets healthy at once, no `draining`).
 */
import * as assert from "node:assert/strict";
import { DescribeScalingActivitiesCommand, DescribeTagsCommand } from "@aws-sdk/client-auto-scaling";
import { GetInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { DescribeLaunchTemplateVersionsCommand, DescribeSnapshotsCommand } from "@aws-sdk/client-ec2";
import { CreateRuleCommand, DeleteRuleCommand, DescribeRulesCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { AwsCloud } from "../../providers/release/aws/cloud";
import { MAINTENANCE_MARKER } from "../../providers/release/ports";
import { MOTO_REGION, Moto, motoEnv, startMoto, withEnv } from "../support/moto";
import { MotoClients, MotoWorld, buildMotoWorld, motoClients } from "../support/moto-world";

/** AwsCloud's own helpers (clients and one-call wrappers), not methods anyone calls. */
const HELPERS = ["constructor", "client", "send", "asg", "ec2", "elb", "cf", "listenerRules"];

const UNKNOWN_INSTANCE = "i-0123456789abcdef0";
const UNKNOWN_IMAGE = "ami-0123456789abcdef0";
const UNKNOWN_TEMPLATE = "lt-0123456789abcdef0";

/** Asserts `p` rejects with an error named `name` whose message matches `message`. */
async function rejectsWith(p: Promise<unknown>, name: string, message: RegExp): Promise<void> {
    await assert.rejects(p, (e: any) => {
        assert.equal(e?.name, name, `error name (message: ${e?.message})`);
        assert.match(String(e?.message), message);
        return true;
    });
}

describe("AWS adapter against moto (wire level)", function () {
    this.timeout(60_000);
    let moto: Moto;
    let world: MotoWorld;
    let cloud: AwsCloud;
    let sdk: MotoClients;
    let restoreEnv: (() => void) | undefined;
    let neverDone: { startedMs: number; results: Promise<PromiseSettledResult<void>[]> };
    const covered = new Set<string>();
    const started = Date.now();

    /** One ordered case covering `methods` of the adapter. */
    function covers(methods: (keyof AwsCloud)[], title: string, fn: () => Promise<void>, timeoutMs?: number): void {
        for (const m of methods) covered.add(m);
        it(`${methods.join(", ")}: ${title}`, async function () {
            if (timeoutMs) this.timeout(timeoutMs);
            await fn();
        });
    }
    const group = () => world.release.autoScalingGroupName;
    const lt = () => world.release.baseLaunchTemplateId;
    const tg = () => world.release.targetGroupArn;
    const unknownTg = () => tg().replace(/\/[0-9a-f]+$/, "/0000000000000000");
    const calls = (name: string) => moto.requests[name] ?? 0;

    before(async function () {
        moto = await startMoto();
        restoreEnv = withEnv(motoEnv(moto));
        // No endpoint, no credentials in the configuration: the SDK finds both in the environment.
        cloud = new AwsCloud({ region: MOTO_REGION });
        // Waits that can never succeed, judged by the last cases: both waiters poll every 20 s, so
        // the shortest time-out is 21 s, which building the world and the cases in between cover.
        neverDone = {
            startedMs: Date.now(),
            results: Promise.allSettled([cloud.waitForImage(UNKNOWN_IMAGE, 21), cloud.waitForInvalidation("E000000000000", "I0000000000000", 21)]),
        };
        world = await buildMotoWorld(moto.endpoint, { region: MOTO_REGION, deregistrationDelayS: 45, healthCheckIntervalS: 15, healthyThreshold: 2, maxSize: 5 });
        sdk = motoClients(moto.endpoint);
    });

    after(async () => {
        restoreEnv?.();
        for (const c of Object.values(sdk ?? {})) c.destroy();
        await moto?.stop();
        if (moto) console.log(`      moto: started in ${moto.startupMs} ms; spec ${((Date.now() - started) / 1000).toFixed(1)} s; corrections ${JSON.stringify(moto.corrections)}`);
    });

    it("the adapter's four SDK clients reach moto through AWS_ENDPOINT_URL", async () => {
        const before = { asg: calls("autoscaling:DescribeAutoScalingGroups"), ec2: calls("ec2:DescribeLaunchTemplates"), elb: calls("elasticloadbalancing:DescribeTargetGroupAttributes"), cf: calls("cloudfront:POST /2020-05-31/distribution/{id}/invalidation") };
        await cloud.describeGroup(group());
        await cloud.describeLaunchTemplate(lt());
        await cloud.deregistrationDelayS(tg());
        await rejectsWith(cloud.createInvalidation("E000000000000", ["/x"], "probe"), "NoSuchDistribution", /^CreateInvalidation: .*distribution does not exist/);
        assert.deepEqual(
            { asg: calls("autoscaling:DescribeAutoScalingGroups"), ec2: calls("ec2:DescribeLaunchTemplates"), elb: calls("elasticloadbalancing:DescribeTargetGroupAttributes"), cf: calls("cloudfront:POST /2020-05-31/distribution/{id}/invalidation") },
            { asg: before.asg + 1, ec2: before.ec2 + 1, elb: before.elb + 1, cf: before.cf + 1 },
        );
    });

    covers(["describeGroup"], "the group as created (capacity 0, $Default), and an unknown group", async () => {
        const g = await cloud.describeGroup(group());
        assert.deepEqual(g, {
            name: group(),
            minSize: 0,
            maxSize: 5,
            desiredCapacity: 0,
            instances: [],
            suspendedProcesses: [],
            tags: { Name: group() },
            launchTemplate: { id: lt(), version: "$Default" },
        });
        await rejectsWith(cloud.describeGroup("no-such-group"), "Error", /^auto scaling group no-such-group not found$/);
    });

    covers(["updateGroupSize"], "min and desired (UpdateAutoScalingGroup), desired only (SetDesiredCapacity), an unknown group", async () => {
        await cloud.updateGroupSize(group(), { minSize: 2, desiredCapacity: 2 });
        let g = await cloud.describeGroup(group());
        assert.deepEqual([g.minSize, g.maxSize, g.desiredCapacity, g.instances.length], [2, 5, 2, 2]);
        const setDesired = calls("autoscaling:SetDesiredCapacity");
        await cloud.updateGroupSize(group(), { desiredCapacity: 3 });
        assert.equal(calls("autoscaling:SetDesiredCapacity"), setDesired + 1);
        g = await cloud.describeGroup(group());
        assert.deepEqual([g.minSize, g.maxSize, g.desiredCapacity], [2, 5, 3]);
        assert.deepEqual(
            g.instances.map((i) => [i.lifecycleState, i.healthStatus, i.launchTemplateVersion, i.protectedFromScaleIn]),
            [0, 1, 2].map(() => ["InService", "Healthy", "1", false]),
        );
        for (const i of g.instances) assert.match(i.availabilityZone ?? "", /^us-east-1[ab]$/);
        await rejectsWith(cloud.updateGroupSize("no-such-group", { desiredCapacity: 1 }), "ValidationError", /^SetDesiredCapacity: .*AutoScalingGroup name not found/);
    });

    covers(["setGroupTag", "deleteGroupTag", "deleteGroupTags"], "the deploy lock and progress tags, not propagated; an unknown group", async () => {
        await cloud.setGroupTag(group(), "release:lock", "run-1 until 2030-01-01T00:00:00Z");
        await cloud.setGroupTag(group(), "release:progress", "{}");
        await cloud.setGroupTag(group(), "release:other", "x");
        assert.deepEqual((await cloud.describeGroup(group())).tags, {
            Name: group(),
            "release:lock": "run-1 until 2030-01-01T00:00:00Z",
            "release:progress": "{}",
            "release:other": "x",
        });
        const tags = await sdk.asg.send(new DescribeTagsCommand({ Filters: [{ Name: "auto-scaling-group", Values: [group()] }] }));
        assert.equal(tags.Tags?.find((t) => t.Key === "release:lock")?.PropagateAtLaunch, false);
        await cloud.deleteGroupTag(group(), "release:other");
        assert.deepEqual(Object.keys((await cloud.describeGroup(group())).tags).sort(), ["Name", "release:lock", "release:progress"]);
        await cloud.deleteGroupTags(group(), ["release:lock", "release:progress"]);
        assert.deepEqual((await cloud.describeGroup(group())).tags, { Name: group() });
        await rejectsWith(cloud.setGroupTag("no-such-group", "k", "v"), "ValidationError", /^CreateOrUpdateTags: .*AutoScalingGroup name not found/);
        await rejectsWith(cloud.deleteGroupTag("no-such-group", "k"), "ValidationError", /^DeleteTags: .*AutoScalingGroup name not found/);
    });

    covers(["suspendProcesses", "resumeProcesses"], "the release's suspended processes, resumed one by one; an unknown group", async () => {
        await cloud.suspendProcesses(group(), ["AZRebalance", "ReplaceUnhealthy", "ScheduledActions"]);
        assert.deepEqual((await cloud.describeGroup(group())).suspendedProcesses.sort(), ["AZRebalance", "ReplaceUnhealthy", "ScheduledActions"]);
        await cloud.resumeProcesses(group(), ["AZRebalance", "ScheduledActions"]);
        assert.deepEqual((await cloud.describeGroup(group())).suspendedProcesses, ["ReplaceUnhealthy"]);
        await cloud.resumeProcesses(group(), ["ReplaceUnhealthy"]);
        assert.deepEqual((await cloud.describeGroup(group())).suspendedProcesses, []);
        await rejectsWith(cloud.suspendProcesses("no-such-group", ["Launch"]), "ValidationError", /^SuspendProcesses: .*AutoScalingGroup name not found/);
        await rejectsWith(cloud.resumeProcesses("no-such-group", ["Launch"]), "ValidationError", /^ResumeProcesses: .*AutoScalingGroup name not found/);
    });

    covers(["describeTargetHealth"], "the group's instances are the targets; an unknown target group", async () => {
        const ids = (await cloud.describeGroup(group())).instances.map((i) => i.instanceId).sort();
        const health = await cloud.describeTargetHealth(tg());
        assert.deepEqual(Object.keys(health).sort(), ids);
        // moto: healthy at once (AWS: "initial" first); the value is the state moto reports.
        assert.deepEqual(Object.values(health), ids.map(() => "healthy"));
        await rejectsWith(cloud.describeTargetHealth(unknownTg()), "TargetGroupNotFoundException", /^DescribeTargetHealth: .*target groups not found/);
    });

    covers(["deregisterTargets"], "one target leaves the target group; an unknown target", async () => {
        const [first, ...rest] = Object.keys(await cloud.describeTargetHealth(tg())).sort();
        await cloud.deregisterTargets(tg(), [first]);
        const health = await cloud.describeTargetHealth(tg());
        // AWS: "draining" for the delay; moto drops it at once. Either way it no longer serves.
        assert.ok(health[first] === undefined || health[first] === "draining", `deregistered target reports ${health[first]}`);
        assert.deepEqual(Object.keys(health).filter((k) => k !== first).sort(), rest);
        await rejectsWith(cloud.deregisterTargets(tg(), [UNKNOWN_INSTANCE]), "InvalidTargetException", /^DeregisterTargets: .*target does not exist/);
        await rejectsWith(cloud.deregisterTargets(unknownTg(), [first]), "TargetGroupNotFoundException", /^DeregisterTargets: .*target groups not found/);
    });

    covers(["registerTargets"], "the deregistered target comes back (a rollback's re-registration); an unknown target group", async () => {
        const before = Object.keys(await cloud.describeTargetHealth(tg())).sort();
        const ids = (await cloud.describeGroup(group())).instances.map((i) => i.instanceId).sort();
        const missing = ids.filter((id) => !before.includes(id));
        assert.equal(missing.length, 1, `the previous case deregistered one target: ${JSON.stringify({ before, ids })}`);
        await cloud.registerTargets(tg(), missing);
        assert.deepEqual(Object.keys(await cloud.describeTargetHealth(tg())).sort(), ids);
        await rejectsWith(cloud.registerTargets(unknownTg(), missing), "TargetGroupNotFoundException", /^RegisterTargets: .*target groups not found/);
    });

    covers(["deregistrationDelayS", "describeTargetGroup"], "the target group's own timings (not the defaults); an unknown target group", async () => {
        assert.equal(await cloud.deregistrationDelayS(tg()), 45);
        assert.deepEqual(await cloud.describeTargetGroup(tg()), { deregistrationDelayS: 45, healthCheckIntervalS: 15, healthyThreshold: 2 });
        await rejectsWith(cloud.deregistrationDelayS(unknownTg()), "TargetGroupNotFoundException", /^DescribeTargetGroupAttributes: .*target groups not found/);
        await rejectsWith(cloud.describeTargetGroup(unknownTg()), "TargetGroupNotFoundException", /^DescribeTargetGroups: .*target groups not found/);
    });

    covers(["terminateInstance"], "with and without decrementing desired capacity; an instance in no group", async () => {
        const g0 = await cloud.describeGroup(group());
        const [a, b] = g0.instances.map((i) => i.instanceId);
        await cloud.terminateInstance(a, true);
        const g1 = await cloud.describeGroup(group());
        assert.equal(g1.desiredCapacity, g0.desiredCapacity - 1);
        assert.ok(!g1.instances.some((i) => i.instanceId === a && i.lifecycleState === "InService"), `${a} still in service`);
        await cloud.terminateInstance(b, false);
        const g2 = await cloud.describeGroup(group());
        assert.equal(g2.desiredCapacity, g1.desiredCapacity);
        assert.ok(!g2.instances.some((i) => i.instanceId === b && i.lifecycleState === "InService"), `${b} still in service`);
        await rejectsWith(cloud.terminateInstance(UNKNOWN_INSTANCE, true), "ValidationError", new RegExp(`^TerminateInstanceInAutoScalingGroup: .*No managed instance found for instance ID: ${UNKNOWN_INSTANCE}`));
    });

    covers(["lastScalingFailure"], "the call and its empty answer (moto lists no scaling activities at all)", async () => {
        // moto 5.2.3 answers every DescribeScalingActivities with an empty list, so only the call and
        // the empty answer are proven here; the failure messages are in test/release/adapter.spec.ts.
        const acts = await sdk.asg.send(new DescribeScalingActivitiesCommand({ AutoScalingGroupName: group() }));
        assert.deepEqual(acts.Activities, []);
        const n = calls("autoscaling:DescribeScalingActivities");
        assert.equal(await cloud.lastScalingFailure(group(), 0), null);
        assert.equal(calls("autoscaling:DescribeScalingActivities"), n + 1);
    });

    let image = "";
    covers(["createImage", "waitForImage", "describeImages"], "a tagged image of the management instance, its snapshots tagged too; errors", async () => {
        const tags = { "release:version": "v1", "release:group": group(), Name: `${group()}-v1` };
        image = await cloud.createImage(world.release.managementInstanceId, `${group()}-v1-1`, tags);
        assert.match(image, /^ami-[0-9a-f]+$/);
        const t0 = Date.now();
        await cloud.waitForImage(image, 60);
        assert.ok(Date.now() - t0 < 10_000, "the first poll should find the image available");
        const [im] = await cloud.describeImages({ imageIds: [image] });
        assert.deepEqual({ ...im, snapshotIds: im.snapshotIds.length, creationDate: typeof im.creationDate }, {
            imageId: image,
            state: "available",
            name: `${group()}-v1-1`,
            tags,
            snapshotIds: 1,
            creationDate: "string",
        });
        const snaps = await sdk.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: im.snapshotIds }));
        assert.deepEqual(Object.fromEntries((snaps.Snapshots?.[0]?.Tags ?? []).map((t) => [t.Key, t.Value])), tags);
        assert.deepEqual((await cloud.describeImages({ tags: { "release:group": group() } })).map((i) => i.imageId), [image]);
        assert.deepEqual(await cloud.describeImages({ tags: { "release:group": "another-group" } }), []);
        await rejectsWith(cloud.describeImages({ imageIds: [UNKNOWN_IMAGE] }), "InvalidAMIID.NotFound", new RegExp(`^DescribeImages: .*${UNKNOWN_IMAGE}`));
        await rejectsWith(cloud.createImage(UNKNOWN_INSTANCE, "x", {}), "InvalidInstanceID.NotFound", new RegExp(`^CreateImage: .*${UNKNOWN_INSTANCE}`));
    });

    covers(["describeLaunchTemplate", "describeTemplateVersions", "defaultTemplateImageId"], "the base template as created; unknown template and version", async () => {
        assert.deepEqual(await cloud.describeLaunchTemplate(lt()), { id: lt(), defaultVersion: 1, latestVersion: 1 });
        const raw = await sdk.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: lt(), Versions: ["1"] }));
        const data = raw.LaunchTemplateVersions![0].LaunchTemplateData!;
        assert.equal(data.MetadataOptions?.HttpTokens, "required");
        assert.deepEqual(await cloud.describeTemplateVersions(lt(), ["1"]), [{ version: 1, description: "base", isDefault: true, imageId: world.baseImageId, data }]);
        // Two names for one version (the default is the base): moto answers an entry per name, the
        // simulated AWS one per version; the engine tells them apart by number and DefaultVersion.
        const both = await cloud.describeTemplateVersions(lt(), ["$Default", "1"]);
        assert.ok(both.length >= 1);
        for (const v of both) assert.deepEqual(v, { version: 1, description: "base", isDefault: true, imageId: world.baseImageId, data });
        assert.equal(await cloud.defaultTemplateImageId(lt()), world.baseImageId);
        await rejectsWith(cloud.describeLaunchTemplate(UNKNOWN_TEMPLATE), "Error", new RegExp(`^launch template ${UNKNOWN_TEMPLATE} not found$`));
        await rejectsWith(cloud.describeTemplateVersions(lt(), ["7"]), "InvalidLaunchTemplateId.VersionNotFound", /^DescribeLaunchTemplateVersions: .*version 7/);
        await rejectsWith(cloud.defaultTemplateImageId(UNKNOWN_TEMPLATE), "InvalidLaunchTemplateId.NotFound", new RegExp(`^DescribeLaunchTemplateVersions: .*${UNKNOWN_TEMPLATE}`));
    });

    covers(["createLaunchTemplateVersion"], "the base's full data with only ImageId replaced, idempotent by ClientToken; errors", async () => {
        const v = await cloud.createLaunchTemplateVersion(lt(), 1, image, "release v1 (base v1)");
        assert.equal(v, 2);
        const out = await sdk.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: lt(), Versions: ["1", "2"] }));
        const [base, made] = [1, 2].map((n) => out.LaunchTemplateVersions!.find((x) => x.VersionNumber === n)!);
        assert.equal(made.VersionDescription, "release v1 (base v1)");
        assert.equal(made.LaunchTemplateData?.ImageId, image);
        assert.deepEqual({ ...made.LaunchTemplateData, ImageId: undefined }, { ...base.LaunchTemplateData, ImageId: undefined });
        assert.equal(made.LaunchTemplateData?.MetadataOptions?.HttpTokens, "required");
        assert.equal(made.LaunchTemplateData?.BlockDeviceMappings?.[0]?.Ebs?.Encrypted, true);
        // The same request again (a retry, a resumed run) is the same version, not a new one.
        assert.equal(await cloud.createLaunchTemplateVersion(lt(), 1, image, "release v1 (base v1)"), 2);
        // With the base's data as the caller read it (describeTemplateVersions): no read of the base, the same data.
        const [b1] = await cloud.describeTemplateVersions(lt(), ["1"]);
        const reads = calls("ec2:DescribeLaunchTemplateVersions");
        assert.equal(await cloud.createLaunchTemplateVersion(lt(), 1, image, "release v1 (base v1)", "another-run", b1.data), 3);
        assert.equal(calls("ec2:DescribeLaunchTemplateVersions"), reads, "the base is not read again");
        const three = await sdk.ec2.send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: lt(), Versions: ["3"] }));
        assert.deepEqual(three.LaunchTemplateVersions![0].LaunchTemplateData, made.LaunchTemplateData);
        assert.deepEqual(await cloud.describeLaunchTemplate(lt()), { id: lt(), defaultVersion: 1, latestVersion: 3 });
        await rejectsWith(cloud.createLaunchTemplateVersion(lt(), 9, image, "x"), "InvalidLaunchTemplateId.VersionNotFound", new RegExp(`^DescribeLaunchTemplateVersions: .*version 9 .*${lt()}`));
        await rejectsWith(cloud.createLaunchTemplateVersion(UNKNOWN_TEMPLATE, 1, image, "x"), "InvalidLaunchTemplateId.NotFound", new RegExp(`^DescribeLaunchTemplateVersions: .*${UNKNOWN_TEMPLATE}`));
    });

    covers(["setDefaultLaunchTemplateVersion"], "new instances launch on the new default, old ones keep theirs; errors", async () => {
        await cloud.setDefaultLaunchTemplateVersion(lt(), 2);
        assert.deepEqual(await cloud.describeLaunchTemplate(lt()), { id: lt(), defaultVersion: 2, latestVersion: 3 });
        assert.deepEqual(
            (await cloud.describeTemplateVersions(lt(), ["1", "2"])).map(({ data, ...v }) => ({ ...v, dataImageId: data.ImageId })),
            [
                { version: 1, description: "base", isDefault: false, imageId: world.baseImageId, dataImageId: world.baseImageId },
                { version: 2, description: "release v1 (base v1)", isDefault: true, imageId: image, dataImageId: image },
            ],
        );
        assert.equal(await cloud.defaultTemplateImageId(lt()), image);
        const before = await cloud.describeGroup(group());
        const old = new Set(before.instances.map((i) => i.instanceId));
        await cloud.updateGroupSize(group(), { desiredCapacity: before.desiredCapacity + 1 });
        const after = await cloud.describeGroup(group());
        const versions = after.instances.map((i) => [old.has(i.instanceId) ? "old" : "new", i.launchTemplateVersion]).sort();
        assert.deepEqual(versions, [["new", "2"], ...[...old].map(() => ["old", "1"])]);
        await rejectsWith(cloud.setDefaultLaunchTemplateVersion(lt(), 9), "InvalidLaunchTemplateId.VersionNotFound", /^ModifyLaunchTemplate: .*version 9/);
    });

    covers(["deleteImage"], "deregisters the image and deletes its snapshots; an unknown image", async () => {
        const other = await cloud.createImage(world.release.managementInstanceId, `${group()}-v0-1`, { "release:group": group() });
        const [im] = await cloud.describeImages({ imageIds: [other] });
        assert.equal(im.snapshotIds.length, 1);
        await cloud.deleteImage(other);
        assert.deepEqual(await cloud.describeImages({ imageIds: [other] }), []);
        // moto's InvalidSnapshot.NotFound carries no message (the SDK says "UnknownError"); AWS names the snapshot.
        await rejectsWith(sdk.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: im.snapshotIds })), "InvalidSnapshot.NotFound", new RegExp(`${im.snapshotIds[0]}|^UnknownError$`));
        assert.deepEqual((await cloud.describeImages({ tags: { "release:group": group() } })).map((i) => i.imageId), [image]);
        await rejectsWith(cloud.deleteImage(UNKNOWN_IMAGE), "InvalidAMIID.NotFound", new RegExp(`^DescribeImages: .*${UNKNOWN_IMAGE}`));
    });

    covers(["addMaintenanceRule", "findMaintenanceRules", "removeMaintenanceRule"], "a priority-1 fixed-response 503, found by its marker, removed; errors", async () => {
        const listener = world.release.listenerArn;
        // Another rule of the operator's, which is no maintenance page.
        const own = await sdk.elb.send(
            new CreateRuleCommand({ ListenerArn: listener, Priority: 10, Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/admin/*"] } }], Actions: [{ Type: "forward", TargetGroupArn: tg() }] }),
        );
        assert.deepEqual(await cloud.findMaintenanceRules(listener), []);
        const html = `<h1>Back soon</h1>${MAINTENANCE_MARKER}${"x".repeat(2000)}`;
        const arn = await cloud.addMaintenanceRule(listener, html);
        const rules = await sdk.elb.send(new DescribeRulesCommand({ ListenerArn: listener }));
        const rule = rules.Rules!.find((r) => r.RuleArn === arn)!;
        assert.equal(rule.Priority, "1");
        assert.deepEqual(rule.Conditions?.[0]?.PathPatternConfig?.Values ?? rule.Conditions?.[0]?.Values, ["/*"]);
        assert.deepEqual(rule.Actions?.map((a) => [a.Type, a.FixedResponseConfig?.StatusCode, a.FixedResponseConfig?.ContentType, a.FixedResponseConfig?.MessageBody]), [
            ["fixed-response", "503", "text/html", html.slice(0, 1024)],
        ]);
        assert.deepEqual(await cloud.findMaintenanceRules(listener), [arn]);
        await rejectsWith(cloud.addMaintenanceRule(listener, html), "Error", /already has a rule at priority 1/);
        await cloud.removeMaintenanceRule(arn);
        assert.deepEqual(await cloud.findMaintenanceRules(listener), []);
        // A rule already gone: AWS (and the proxy, for moto) says RuleNotFound, which the adapter accepts.
        await rejectsWith(sdk.elb.send(new DeleteRuleCommand({ RuleArn: arn })), "RuleNotFoundException", /rules not found/);
        await cloud.removeMaintenanceRule(arn);
        assert.ok((await sdk.elb.send(new DescribeRulesCommand({ ListenerArn: listener }))).Rules!.some((r) => r.RuleArn === own.Rules![0].RuleArn));
        await rejectsWith(cloud.addMaintenanceRule(listener.replace(/\/[0-9a-f]+$/, "/0000000000000000"), html), "ListenerNotFoundException", /^DescribeRules: .*listener does not exist/);
        await rejectsWith(cloud.findMaintenanceRules(listener.replace(/\/[0-9a-f]+$/, "/0000000000000000")), "ListenerNotFoundException", /^DescribeRules: .*listener does not exist/);
    });

    covers(["createInvalidation", "waitForInvalidation"], "the changed paths under the caller reference, completed; an unknown distribution", async () => {
        const id = await cloud.createInvalidation(world.release.distributionId, ["/static/robots.txt", "/static/favicon.ico"], "release-v1-1");
        const got = await sdk.cf.send(new GetInvalidationCommand({ DistributionId: world.release.distributionId, Id: id }));
        assert.equal(got.Invalidation?.InvalidationBatch?.CallerReference, "release-v1-1");
        assert.deepEqual(got.Invalidation?.InvalidationBatch?.Paths?.Items, ["/static/robots.txt", "/static/favicon.ico"]);
        const t0 = Date.now();
        await cloud.waitForInvalidation(world.release.distributionId, id, 60);
        assert.ok(Date.now() - t0 < 10_000, "the first poll should find the invalidation completed");
        await rejectsWith(cloud.createInvalidation("E000000000000", ["/x"], "r"), "NoSuchDistribution", /^CreateInvalidation: .*distribution does not exist/);
    });

    covers(["waitForImage", "waitForInvalidation"], "a wait that never succeeds times out after its time-out (started in before())", async () => {
        const results = await neverDone.results;
        const s = (Date.now() - neverDone.startedMs) / 1000;
        for (const r of results) {
            assert.equal(r.status, "rejected");
            assert.equal((r as PromiseRejectedResult).reason?.name, "TimeoutError");
        }
        assert.ok(s >= 20 && s < 45, `the waits ended after ${s.toFixed(1)} s`);
    }, 60_000);

    it("every method of the adapter has a case here", () => {
        const methods = Object.getOwnPropertyNames(AwsCloud.prototype).filter((m) => !HELPERS.includes(m));
        assert.deepEqual(methods.filter((m) => !covered.has(m)), [], "methods without a wire-level case");
        assert.deepEqual([...covered].filter((m) => !methods.includes(m)), [], "cases for methods the adapter no longer has");
    });
});
