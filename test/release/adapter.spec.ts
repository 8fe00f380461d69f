/**
 * Exact-call tests for the AWS adapter: the parameters of every mutating call, with
 * aws-sdk-client-mock recording the commands the real SDK clients would send.
 */
import * as assert from "node:assert/strict";
import { mockClient } from "aws-sdk-client-mock";
import {
    AutoScalingClient,
    CreateOrUpdateTagsCommand,
    DescribeAutoScalingGroupsCommand,
    ResumeProcessesCommand,
    SetDesiredCapacityCommand,
    SuspendProcessesCommand,
    TerminateInstanceInAutoScalingGroupCommand,
    UpdateAutoScalingGroupCommand,
} from "@aws-sdk/client-auto-scaling";
import {
    CreateImageCommand,
    CreateLaunchTemplateVersionCommand,
    DeleteSnapshotCommand,
    DeregisterImageCommand,
    DescribeImagesCommand,
    DescribeInstancesCommand,
    DescribeLaunchTemplateVersionsCommand,
    EC2Client,
    ModifyLaunchTemplateCommand,
} from "@aws-sdk/client-ec2";
import { CreateRuleCommand, DeregisterTargetsCommand, DescribeRulesCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { CloudFrontClient, CreateInvalidationCommand } from "@aws-sdk/client-cloudfront";
import { AwsCloud } from "../../providers/release/aws/cloud";
import { MAINTENANCE_MARKER } from "../../providers/release/ports";

describe("AWS adapter: exact calls", () => {
    // Created in before() (not at load time), so the prototype stubs do not leak into other suites.
    const mocks = () => ({
        asg: mockClient(AutoScalingClient),
        ec2: mockClient(EC2Client),
        elb: mockClient(ElasticLoadBalancingV2Client),
        cf: mockClient(CloudFrontClient),
    });
    let asg: ReturnType<typeof mocks>["asg"];
    let ec2: ReturnType<typeof mocks>["ec2"];
    let elb: ReturnType<typeof mocks>["elb"];
    let cf: ReturnType<typeof mocks>["cf"];
    before(() => {
        ({ asg, ec2, elb, cf } = mocks());
    });
    const cloud = () => new AwsCloud({ region: "eu-west-1", clientConfig: { credentials: { accessKeyId: "AKID", secretAccessKey: "s" } } });

    beforeEach(() => {
        asg.reset();
        ec2.reset();
        elb.reset();
        cf.reset();
    });
    after(() => {
        asg.restore();
        ec2.restore();
        elb.restore();
        cf.restore();
    });

    it("CreateImage: from the management instance, with reboot, tags on the image and its snapshots", async () => {
        ec2.on(CreateImageCommand).resolves({ ImageId: "ami-0new" });
        const id = await cloud().createImage("i-0mgmt", "web-v1.4.0-2026", { "release:version": "v1.4.0", "release:group": "web" });
        assert.equal(id, "ami-0new");
        const tags = [
            { Key: "release:version", Value: "v1.4.0" },
            { Key: "release:group", Value: "web" },
        ];
        assert.deepEqual(ec2.commandCalls(CreateImageCommand)[0].args[0].input, {
            InstanceId: "i-0mgmt",
            Name: "web-v1.4.0-2026",
            Description: "release image of i-0mgmt",
            NoReboot: false,
            TagSpecifications: [
                { ResourceType: "image", Tags: tags },
                { ResourceType: "snapshot", Tags: tags },
            ],
        });
    });

    it("CreateLaunchTemplateVersion: the base version's full data with only ImageId replaced; ModifyLaunchTemplate sets the default", async () => {
        const data = {
            ImageId: "ami-0base",
            InstanceType: "t3.small",
            UserData: "IyEvYmluL2Jhc2g=",
            MetadataOptions: { HttpTokens: "required" as const },
            BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { Encrypted: true, VolumeSize: 20 } }],
        };
        ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [{ VersionNumber: 3, LaunchTemplateData: data as any }] });
        ec2.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 9 } });
        ec2.on(ModifyLaunchTemplateCommand).resolves({});
        const c = cloud();
        const v = await c.createLaunchTemplateVersion("lt-0abc", 3, "ami-0new", "release v1.4.0 (base v3)", "release-run01-b3-ami-0new");
        await c.setDefaultLaunchTemplateVersion("lt-0abc", v);
        assert.equal(v, 9);
        assert.deepEqual(ec2.commandCalls(DescribeLaunchTemplateVersionsCommand)[0].args[0].input, { LaunchTemplateId: "lt-0abc", Versions: ["3"] });
        assert.deepEqual(ec2.commandCalls(CreateLaunchTemplateVersionCommand)[0].args[0].input, {
            LaunchTemplateId: "lt-0abc",
            VersionDescription: "release v1.4.0 (base v3)",
            LaunchTemplateData: { ...data, ImageId: "ami-0new" },
            ClientToken: "release-run01-b3-ami-0new",
        });
        assert.deepEqual(ec2.commandCalls(ModifyLaunchTemplateCommand)[0].args[0].input, { LaunchTemplateId: "lt-0abc", DefaultVersion: "9" });
        // Without a token from the caller, one derived from the request (stable, <= 128 ASCII characters).
        await c.createLaunchTemplateVersion("lt-0abc", 3, "ami-0new", "release v1.4.0 (base v3)");
        await c.createLaunchTemplateVersion("lt-0abc", 3, "ami-0new", "release v1.4.0 (base v3)");
        const [t1, t2] = ec2.commandCalls(CreateLaunchTemplateVersionCommand).slice(1).map((x) => x.args[0].input.ClientToken!);
        assert.equal(t1, t2);
        assert.match(t1, /^[\x21-\x7e]{1,128}$/);
    });

    it("CreateLaunchTemplateVersion with the base's data the caller already read: no DescribeLaunchTemplateVersions, only ImageId replaced", async () => {
        const data = { ImageId: "ami-0base", InstanceType: "t3.small", MetadataOptions: { HttpTokens: "required" }, SecurityGroupIds: ["sg-0web"] };
        ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({
            LaunchTemplateVersions: [
                { VersionNumber: 7, DefaultVersion: true, VersionDescription: "release v1.3.0 (base v3)", LaunchTemplateData: { ImageId: "ami-0live" } },
                { VersionNumber: 3, DefaultVersion: false, VersionDescription: "base", LaunchTemplateData: data as any },
            ],
        });
        ec2.on(CreateLaunchTemplateVersionCommand).resolves({ LaunchTemplateVersion: { VersionNumber: 9 } });
        const c = cloud();
        const versions = await c.describeTemplateVersions("lt-0abc", ["$Default", "3"]);
        assert.deepEqual(versions[1], { version: 3, description: "base", isDefault: false, imageId: "ami-0base", data });
        assert.equal(await c.createLaunchTemplateVersion("lt-0abc", 3, "ami-0new", "release v1.4.0 (base v3)", "release-run01-b3-ami-0new", versions[1].data), 9);
        assert.equal(ec2.commandCalls(DescribeLaunchTemplateVersionsCommand).length, 1, "only the caller's own read");
        assert.deepEqual(ec2.commandCalls(CreateLaunchTemplateVersionCommand)[0].args[0].input.LaunchTemplateData, { ...data, ImageId: "ami-0new" });
        assert.equal(data.ImageId, "ami-0base", "the caller's copy is not changed");
    });

    it("the live default version's AMI (kept by pruning): DescribeLaunchTemplateVersions $Default", async () => {
        ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [{ VersionNumber: 7, DefaultVersion: true, LaunchTemplateData: { ImageId: "ami-0live" } }] });
        assert.equal(await cloud().defaultTemplateImageId("lt-0abc"), "ami-0live");
        assert.deepEqual(ec2.commandCalls(DescribeLaunchTemplateVersionsCommand)[0].args[0].input, { LaunchTemplateId: "lt-0abc", Versions: ["$Default"] });
    });

    it("SetDesiredCapacity for desired alone (no cooldown); UpdateAutoScalingGroup when min or max change", async () => {
        asg.on(SetDesiredCapacityCommand).resolves({});
        asg.on(UpdateAutoScalingGroupCommand).resolves({});
        const c = cloud();
        await c.updateGroupSize("web", { desiredCapacity: 5 });
        await c.updateGroupSize("web", { maxSize: 7, desiredCapacity: 7 });
        assert.deepEqual(asg.commandCalls(SetDesiredCapacityCommand)[0].args[0].input, { AutoScalingGroupName: "web", DesiredCapacity: 5, HonorCooldown: false });
        assert.deepEqual(asg.commandCalls(UpdateAutoScalingGroupCommand)[0].args[0].input, { AutoScalingGroupName: "web", MinSize: undefined, MaxSize: 7, DesiredCapacity: 7 });
    });

    it("TerminateInstanceInAutoScalingGroup with and without decrementing desired", async () => {
        asg.on(TerminateInstanceInAutoScalingGroupCommand).resolves({});
        const c = cloud();
        await c.terminateInstance("i-1", false);
        await c.terminateInstance("i-2", true);
        assert.deepEqual(
            asg.commandCalls(TerminateInstanceInAutoScalingGroupCommand).map((x) => x.args[0].input),
            [
                { InstanceId: "i-1", ShouldDecrementDesiredCapacity: false },
                { InstanceId: "i-2", ShouldDecrementDesiredCapacity: true },
            ],
        );
    });

    it("DeregisterTargets by instance id; DescribeTargetHealth mapped to states", async () => {
        elb.on(DeregisterTargetsCommand).resolves({});
        elb.on(DescribeTargetHealthCommand).resolves({
            TargetHealthDescriptions: [
                { Target: { Id: "i-1", Port: 8000 }, TargetHealth: { State: "draining" } },
                { Target: { Id: "i-2", Port: 8000 }, TargetHealth: { State: "healthy" } },
            ],
        });
        const c = cloud();
        await c.deregisterTargets("arn:tg", ["i-1", "i-3"]);
        assert.deepEqual(elb.commandCalls(DeregisterTargetsCommand)[0].args[0].input, { TargetGroupArn: "arn:tg", Targets: [{ Id: "i-1" }, { Id: "i-3" }] });
        assert.deepEqual(await c.describeTargetHealth("arn:tg"), { "i-1": "draining", "i-2": "healthy" });
    });

    it("SuspendProcesses / ResumeProcesses name the group and the processes", async () => {
        asg.on(SuspendProcessesCommand).resolves({});
        asg.on(ResumeProcessesCommand).resolves({});
        const c = cloud();
        await c.suspendProcesses("web", ["AZRebalance", "AlarmNotification", "ScheduledActions"]);
        await c.resumeProcesses("web", ["AlarmNotification"]);
        assert.deepEqual(asg.commandCalls(SuspendProcessesCommand)[0].args[0].input, { AutoScalingGroupName: "web", ScalingProcesses: ["AZRebalance", "AlarmNotification", "ScheduledActions"] });
        assert.deepEqual(asg.commandCalls(ResumeProcessesCommand)[0].args[0].input, { AutoScalingGroupName: "web", ScalingProcesses: ["AlarmNotification"] });
    });

    it("the lock tag: CreateOrUpdateTags on the group, not propagated to instances", async () => {
        asg.on(CreateOrUpdateTagsCommand).resolves({});
        await cloud().setGroupTag("web", "release:lock", "o;r;2026-01-01T00:00:00.000Z");
        assert.deepEqual(asg.commandCalls(CreateOrUpdateTagsCommand)[0].args[0].input, {
            Tags: [{ ResourceId: "web", ResourceType: "auto-scaling-group", Key: "release:lock", Value: "o;r;2026-01-01T00:00:00.000Z", PropagateAtLaunch: false }],
        });
    });

    it("describeGroup maps instances, their template versions, suspended processes and tags", async () => {
        asg.on(DescribeAutoScalingGroupsCommand).resolves({
            AutoScalingGroups: [
                {
                    AutoScalingGroupName: "web",
                    MinSize: 1,
                    MaxSize: 4,
                    DesiredCapacity: 2,
                    DefaultCooldown: 300,
                    AvailabilityZones: ["eu-west-1a"],
                    HealthCheckType: "ELB",
                    CreatedTime: new Date(0),
                    LaunchTemplate: { LaunchTemplateId: "lt-0abc", Version: "$Default" },
                    Instances: [
                        { InstanceId: "i-1", LifecycleState: "InService", HealthStatus: "Healthy", AvailabilityZone: "eu-west-1a", ProtectedFromScaleIn: true, LaunchTemplate: { LaunchTemplateId: "lt-0abc", Version: "7" } },
                    ],
                    SuspendedProcesses: [{ ProcessName: "AZRebalance" }],
                    Tags: [{ Key: "release:lock", Value: "x" }],
                },
            ],
        });
        const g = await cloud().describeGroup("web");
        assert.deepEqual(g.instances, [{ instanceId: "i-1", lifecycleState: "InService", healthStatus: "Healthy", launchTemplateVersion: "7", protectedFromScaleIn: true, availabilityZone: "eu-west-1a" }]);
        assert.deepEqual(g.suspendedProcesses, ["AZRebalance"]);
        assert.deepEqual(g.tags, { "release:lock": "x" });
        assert.deepEqual(g.launchTemplate, { id: "lt-0abc", version: "$Default" });
    });

    it("describeGroup resolves a version reported as \"$Default\" from EC2's aws:ec2launchtemplate:version tag", async () => {
        asg.on(DescribeAutoScalingGroupsCommand).resolves({
            AutoScalingGroups: [
                {
                    AutoScalingGroupName: "web", MinSize: 1, MaxSize: 2, DesiredCapacity: 1, DefaultCooldown: 300, AvailabilityZones: [], HealthCheckType: "ELB", CreatedTime: new Date(0),
                    Instances: [{ InstanceId: "i-9", LifecycleState: "InService", HealthStatus: "Healthy", AvailabilityZone: "a", ProtectedFromScaleIn: false, LaunchTemplate: { LaunchTemplateId: "lt", Version: "$Default" } }],
                },
            ],
        });
        ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: "i-9", Tags: [{ Key: "aws:ec2launchtemplate:version", Value: "12" }] }] }] });
        const g = await cloud().describeGroup("web");
        assert.equal(g.instances[0].launchTemplateVersion, "12");
        assert.deepEqual(ec2.commandCalls(DescribeInstancesCommand)[0].args[0].input, { InstanceIds: ["i-9"] });
    });

    it("deleteImage: deregisters the image, then deletes its snapshots", async () => {
        ec2.on(DescribeImagesCommand).resolves({ Images: [{ ImageId: "ami-1", State: "available", BlockDeviceMappings: [{ Ebs: { SnapshotId: "snap-1" } }] }] });
        ec2.on(DeregisterImageCommand).resolves({});
        ec2.on(DeleteSnapshotCommand).resolves({});
        await cloud().deleteImage("ami-1");
        assert.deepEqual(ec2.commandCalls(DeregisterImageCommand)[0].args[0].input, { ImageId: "ami-1" });
        assert.deepEqual(ec2.commandCalls(DeleteSnapshotCommand)[0].args[0].input, { SnapshotId: "snap-1" });
    });

    it("DescribeRules is paginated: every page is read (Marker = NextMarker) for the priorities and the maintenance rules", async () => {
        const page1 = { Rules: [{ RuleArn: "arn:r5", Priority: "5" }], NextMarker: "m2" };
        const page2 = {
            Rules: [
                { RuleArn: "arn:maint", Priority: "1", Actions: [{ Type: "fixed-response" as const, FixedResponseConfig: { StatusCode: "503", MessageBody: `<p>${MAINTENANCE_MARKER}</p>` } }] },
                { RuleArn: "arn:default", Priority: "default", IsDefault: true },
            ],
        };
        elb.on(DescribeRulesCommand, { ListenerArn: "arn:listener" }).resolves(page1);
        elb.on(DescribeRulesCommand, { ListenerArn: "arn:listener", Marker: "m2" }).resolves(page2);
        assert.deepEqual(await cloud().findMaintenanceRules("arn:listener"), ["arn:maint"]);
        assert.deepEqual(
            elb.commandCalls(DescribeRulesCommand).map((c) => c.args[0].input),
            [{ ListenerArn: "arn:listener" }, { ListenerArn: "arn:listener", Marker: "m2" }],
        );
        // The priority-1 rule is only on the second page: still seen, so no second priority-1 rule.
        await assert.rejects(cloud().addMaintenanceRule("arn:listener", "<h1>back soon</h1>"), /already has a rule at priority 1/);
        assert.equal(elb.commandCalls(DescribeRulesCommand).length, 4);
        assert.equal(elb.commandCalls(CreateRuleCommand).length, 0);
    });

    it("maintenance page: a priority-1 fixed-response 503 rule on every path", async () => {
        elb.on(DescribeRulesCommand).resolves({ Rules: [{ RuleArn: "arn:default", Priority: "default", IsDefault: true }, { RuleArn: "arn:r5", Priority: "5" }] });
        elb.on(CreateRuleCommand).resolves({ Rules: [{ RuleArn: "arn:maint" }] });
        const arn = await cloud().addMaintenanceRule("arn:listener", "<h1>back soon</h1>");
        assert.equal(arn, "arn:maint");
        assert.deepEqual(elb.commandCalls(CreateRuleCommand)[0].args[0].input, {
            ListenerArn: "arn:listener",
            Priority: 1,
            Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/*"] } }],
            Actions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "503", ContentType: "text/html", MessageBody: "<h1>back soon</h1>" } }],
            Tags: [{ Key: "release:maintenance", Value: "true" }],
        });
    });

    it("CreateInvalidation with the changed paths and the run's caller reference", async () => {
        cf.on(CreateInvalidationCommand).resolves({ Invalidation: { Id: "I1", Status: "InProgress", CreateTime: new Date(0), InvalidationBatch: undefined as any } });
        const id = await cloud().createInvalidation("E123", ["/static/robots.txt", "/static/favicon.ico"], "release-abc");
        assert.equal(id, "I1");
        assert.deepEqual(cf.commandCalls(CreateInvalidationCommand)[0].args[0].input, {
            DistributionId: "E123",
            InvalidationBatch: { CallerReference: "release-abc", Paths: { Quantity: 2, Items: ["/static/robots.txt", "/static/favicon.ico"] } },
        });
    });
});
