/**
 * The moto proxy's corrections (test/support/moto.ts, numbered as there) are each needed and each
 * work: moto itself still shows the departure, and the same call through the proxy answers as AWS
 * does. When moto stops showing one, the case fails: drop that correction from moto-proxy.ts.
 */
import * as assert from "node:assert/strict";
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand, SetDesiredCapacityCommand } from "@aws-sdk/client-auto-scaling";
import { CloudFrontClient, CreateInvalidationCommand, GetInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { CreateImageCommand, CreateLaunchTemplateVersionCommand, DescribeSnapshotsCommand, DescribeImagesCommand, EC2Client, ModifyLaunchTemplateCommand } from "@aws-sdk/client-ec2";
import { DeleteRuleCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { Moto, startMoto } from "../support/moto";
import { MotoClients, MotoWorld, buildMotoWorld, motoClients } from "../support/moto-world";

/** The HTTP status of a call that should fail, or 200 when it succeeded. */
async function status(p: Promise<unknown>): Promise<number> {
    try {
        await p;
        return 200;
    } catch (e: any) {
        return e?.$metadata?.httpStatusCode ?? -1;
    }
}

describe("moto proxy: each correction is still needed, and works", function () {
    this.timeout(30_000);
    let moto: Moto;
    let world: MotoWorld;
    /** moto itself, and the proxy in front of it. */
    let raw: MotoClients;
    let proxied: MotoClients;

    before(async () => {
        moto = await startMoto();
        world = await buildMotoWorld(moto.endpoint);
        raw = motoClients(moto.motoEndpoint);
        proxied = motoClients(moto.endpoint);
    });
    after(async () => {
        for (const c of [...Object.values(raw ?? {}), ...Object.values(proxied ?? {})]) c.destroy();
        await moto?.stop();
    });

    const createImage = (ec2: EC2Client, name: string) =>
        ec2.send(
            new CreateImageCommand({
                InstanceId: world.release.managementInstanceId,
                Name: name,
                TagSpecifications: [
                    { ResourceType: "image", Tags: [{ Key: "k", Value: name }] },
                    { ResourceType: "snapshot", Tags: [{ Key: "k", Value: name }] },
                ],
            }),
        );

    it("1. CreateImage with snapshot tags: HTTP 500 from moto; through the proxy, image and snapshots tagged", async () => {
        assert.equal(await status(createImage(raw.ec2, "raw")), 500);
        const { ImageId } = await createImage(proxied.ec2, "proxied");
        const im = (await proxied.ec2.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images![0];
        assert.deepEqual(im.Tags, [{ Key: "k", Value: "proxied" }]);
        const snaps = im.BlockDeviceMappings!.map((b) => b.Ebs!.SnapshotId!);
        assert.equal(snaps.length, 1);
        const s = await proxied.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snaps }));
        assert.deepEqual(s.Snapshots![0].Tags, [{ Key: "k", Value: "proxied" }]);
    });

    it("2. DescribeAutoScalingGroups/Instances: moto reports the new default version for an instance launched on the old one; the proxy its own", async () => {
        const lt = world.release.baseLaunchTemplateId;
        const group = world.release.autoScalingGroupName;
        await proxied.asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: group, DesiredCapacity: 1 }));
        const v = await proxied.ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: lt, SourceVersion: "1", LaunchTemplateData: {} }));
        await proxied.ec2.send(new ModifyLaunchTemplateCommand({ LaunchTemplateId: lt, DefaultVersion: String(v.LaunchTemplateVersion!.VersionNumber) }));
        const versions = async (asg: AutoScalingClient) =>
            (await asg.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }))).AutoScalingGroups![0].Instances!.map((i) => i.LaunchTemplate?.Version);
        const instances = async (asg: AutoScalingClient) => (await asg.send(new DescribeAutoScalingInstancesCommand({}))).AutoScalingInstances!.map((i) => i.LaunchTemplate?.Version);
        const now = String(v.LaunchTemplateVersion!.VersionNumber);
        assert.deepEqual([await versions(raw.asg), await instances(raw.asg)], [[now], [now]]);
        assert.deepEqual([await versions(proxied.asg), await instances(proxied.asg)], [["1"], ["1"]]);
    });

    it("3. CreateLaunchTemplateVersion: moto makes a new version for a repeated ClientToken; the proxy answers the first", async () => {
        const lt = world.release.baseLaunchTemplateId;
        const make = async (ec2: EC2Client, token: string) =>
            (await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateId: lt, SourceVersion: "1", LaunchTemplateData: {}, ClientToken: token }))).LaunchTemplateVersion!.VersionNumber;
        const a = await make(raw.ec2, "raw-token");
        assert.equal(await make(raw.ec2, "raw-token"), a! + 1);
        const b = await make(proxied.ec2, "proxied-token");
        assert.equal(await make(proxied.ec2, "proxied-token"), b);
    });

    it("4. CloudFront invalidation status: COMPLETED from moto, Completed through the proxy", async () => {
        const dist = world.release.distributionId;
        const inv = await raw.cf.send(new CreateInvalidationCommand({ DistributionId: dist, InvalidationBatch: { CallerReference: "r", Paths: { Quantity: 1, Items: ["/a"] } } }));
        const get = (cf: CloudFrontClient) => cf.send(new GetInvalidationCommand({ DistributionId: dist, Id: inv.Invalidation!.Id })).then((o) => o.Invalidation!.Status);
        assert.equal(await get(raw.cf), "COMPLETED");
        assert.equal(await get(proxied.cf), "Completed");
    });

    it("5. Auto Scaling on an unknown group: HTTP 500 from moto, 400 ValidationError through the proxy", async () => {
        const call = (asg: AutoScalingClient) => asg.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: "no-such-group", DesiredCapacity: 1 }));
        assert.equal(await status(call(raw.asg)), 500);
        await assert.rejects(call(proxied.asg), (e: any) => e.name === "ValidationError" && /AutoScalingGroup name not found/.test(e.message));
    });

    it("6. DeleteRule of an unknown rule: moto succeeds, the proxy answers RuleNotFound", async () => {
        const arn = world.release.listenerArn.replace(":listener/", ":listener-rule/") + "/0000000000000000";
        const call = (elb: ElasticLoadBalancingV2Client) => elb.send(new DeleteRuleCommand({ RuleArn: arn }));
        assert.equal(await status(call(raw.elb)), 200);
        await assert.rejects(call(proxied.elb), (e: any) => e.name === "RuleNotFoundException");
    });
});
