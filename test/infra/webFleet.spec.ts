import * as assert from "assert";
import { decodeUserData, encodeUserData, USER_DATA_LIMIT, WebFleet } from "../../components";
import { buildComponent, promiseOf } from "../support/pulumi-mocks";

const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const ASG = "aws:autoscaling/group:Group";

describe("component: WebFleet", () => {
    let built: Awaited<ReturnType<typeof buildComponent<WebFleet>>>;
    before(async () => {
        built = await buildComponent((opts) => new WebFleet("web", {
            subnetIds: ["subnet-c", "subnet-d"],
            securityGroupId: "sg-web",
            targetGroupArn: "arn:tg",
            imageId: "ami-0d3b1a5e7c9f24680",
            rootDeviceName: "/dev/xvda",
            userData: "#!/bin/bash\necho boot\n",
            instanceProfileArn: "arn:aws:iam::123456789012:instance-profile/instances",
            maxSize: 6,
            healthCheckGracePeriod: 240,
            keyName: "ops",
            tags: { Project: "django-fleet" },
        }, opts));
    });

    describe("launch template", () => {
        it("requires IMDSv2 and exposes instance tags (the boot script reads its Role there)", () => {
            assert.deepStrictEqual(built.resources.one(LT).inputs.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "enabled" });
        });

        it("has an encrypted gp3 root volume on the image's root device", () => {
            assert.deepStrictEqual(built.resources.one(LT).inputs.blockDeviceMappings, [{ deviceName: "/dev/xvda", ebs: { volumeSize: 20, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }]);
        });

        it("gzips the boot script for cloud-init (EC2 allows 16 KB) and refuses one that would not fit even so", () => {
            const lt = built.resources.one(LT).inputs;
            assert.deepStrictEqual([...Buffer.from(lt.userData, "base64").subarray(0, 2)], [0x1f, 0x8b], "gzip magic");
            const random = require("crypto").randomBytes(USER_DATA_LIMIT).toString("hex");
            assert.throws(() => encodeUserData(random), /user data is \d+ bytes compressed, over EC2's 16384/);
            assert.strictEqual(decodeUserData(encodeUserData("#!/bin/bash\necho ok\n")), "#!/bin/bash\necho ok\n");
        });

        it("carries the boot script (gzip, base64), the instance profile, the web security group and the key pair", () => {
            const lt = built.resources.one(LT).inputs;
            assert.strictEqual(decodeUserData(lt.userData), "#!/bin/bash\necho boot\n");
            assert.deepStrictEqual(lt.iamInstanceProfile, { arn: "arn:aws:iam::123456789012:instance-profile/instances" });
            assert.deepStrictEqual(lt.vpcSecurityGroupIds, ["sg-web"]);
            assert.strictEqual(lt.keyName, "ops");
            assert.strictEqual(lt.instanceType, "t3.small");
        });

        it("never makes its own new versions the default, and ignores a newer base image (the release owns both)", () => {
            assert.strictEqual(built.resources.one(LT).inputs.updateDefaultVersion, false);
            const opts = built.children.find((c) => c.type === LT)!.opts;
            assert.deepStrictEqual(opts.ignoreChanges, ["imageId"]);
        });
    });

    describe("auto-scaling group", () => {
        it("starts empty: no web instance boots the bare base image", () => {
            const g = built.resources.one(ASG).inputs;
            assert.deepStrictEqual([g.minSize, g.desiredCapacity, g.maxSize], [0, 0, 6]);
        });

        it("leaves min, desired and the template version to the release", () => {
            const opts = built.children.find((c) => c.type === ASG)!.opts;
            assert.deepStrictEqual(opts.ignoreChanges, ["minSize", "desiredCapacity", "launchTemplate.version"]);
            assert.deepStrictEqual(built.resources.one(ASG).inputs.launchTemplate, { id: built.resources.one(LT).id, version: "$Default" });
        });

        it("uses ELB health checks with a grace period, in the private subnets, attached to the target group", () => {
            const g = built.resources.one(ASG).inputs;
            assert.strictEqual(g.healthCheckType, "ELB");
            assert.strictEqual(g.healthCheckGracePeriod, 240);
            assert.deepStrictEqual(g.vpcZoneIdentifiers, ["subnet-c", "subnet-d"]);
            assert.deepStrictEqual(g.targetGroupArns, ["arn:tg"]);
            assert.strictEqual(g.instanceRefresh, undefined);
        });

        it("retires old-template instances first when scaling in", () => {
            assert.deepStrictEqual(built.resources.one(ASG).inputs.terminationPolicies, ["OldestLaunchTemplate", "OldestInstance"]);
        });

        it("tags its instances Role=web (and the stack tags) at launch", () => {
            const tags = built.resources.one(ASG).inputs.tags;
            assert.ok(tags.some((t: any) => t.key === "Role" && t.value === "web" && t.propagateAtLaunch === true));
            assert.ok(tags.some((t: any) => t.key === "Project" && t.value === "django-fleet" && t.propagateAtLaunch === true));
        });

        it("exports the names the release needs", async () => {
            assert.strictEqual(await promiseOf(built.component.autoScalingGroupName), built.resources.one(ASG).id);
            assert.strictEqual(await promiseOf(built.component.launchTemplateId), built.resources.one(LT).id);
            assert.strictEqual(await promiseOf(built.component.launchTemplateLatestVersion), 1);
        });
    });
});
