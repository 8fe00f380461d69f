import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ManagementInstance, WAIT_FOR_BOOT_SCRIPT } from "../../components";
import { buildComponent, promiseOf, ROOT } from "../support/pulumi-mocks";

const EC2 = "aws:ec2/instance:Instance";
const ARGS = { launchTemplateId: "lt-1", subnetId: "subnet-c", securityGroupId: "sg-mgmt", instanceProfileName: "mgmt-profile" };

describe("component: ManagementInstance", () => {
    describe("with the first-boot wait", () => {
        let built: Awaited<ReturnType<typeof buildComponent<ManagementInstance>>>;
        before(async () => {
            built = await buildComponent((opts) => new ManagementInstance("mgmt", { ...ARGS, terminationProtection: true, waitForBoot: { region: "eu-west-1", timeoutS: 1200 } }, opts));
        });

        it("boots from the fleet's launch template (default version), tagged Role=management", () => {
            const i = built.resources.one(EC2).inputs;
            assert.deepStrictEqual(i.launchTemplate, { id: "lt-1", version: "$Default" });
            assert.strictEqual(i.tags.Role, "management");
            assert.strictEqual(i.iamInstanceProfile, "mgmt-profile", "its own profile, not the template's web one");
            assert.strictEqual(i.disableApiTermination, true);
        });

        it("sits in the private subnet with its own security group, no public address", () => {
            const i = built.resources.one(EC2).inputs;
            assert.strictEqual(i.subnetId, "subnet-c");
            assert.deepStrictEqual(i.vpcSecurityGroupIds, ["sg-mgmt"]);
            assert.strictEqual(i.associatePublicIpAddress, false);
        });

        it("states IMDSv2 and an encrypted root volume itself", () => {
            const i = built.resources.one(EC2).inputs;
            assert.strictEqual(i.metadataOptions.httpTokens, "required");
            assert.strictEqual(i.rootBlockDevice.encrypted, true);
        });

        it("is never replaced by a release (new AMI, new default template version, new user data)", () => {
            const opts = built.children.find((c) => c.type === EC2)!.opts;
            assert.deepStrictEqual(opts.ignoreChanges, ["ami", "launchTemplate", "userData", "userDataBase64"]);
        });

        it("waits for the first boot with a local command that re-runs only for a new instance", async () => {
            const cmd = built.resources.one("command:local:Command");
            const id = built.resources.one(EC2).id;
            assert.strictEqual(cmd.inputs.create, `node -r ts-node/register/transpile-only ${WAIT_FOR_BOOT_SCRIPT}`);
            assert.strictEqual(cmd.inputs.dir, ROOT);
            assert.ok(fs.existsSync(path.join(ROOT, WAIT_FOR_BOOT_SCRIPT)));
            assert.deepStrictEqual(cmd.inputs.environment, { INSTANCE_ID: id, AWS_REGION: "eu-west-1", BOOT_TIMEOUT_S: "1200" });
            assert.deepStrictEqual(cmd.inputs.triggers, [id]);
            assert.deepStrictEqual(built.children.find((c) => c.type === "command:local:Command")!.opts.customTimeouts, { create: "25m" });
            assert.strictEqual(await promiseOf(built.component.readyInstanceId), id);
        });
    });

    it("passes the stack's AWS profile to the wait", async () => {
        const built = await buildComponent((opts) => new ManagementInstance("mgmt", { ...ARGS, waitForBoot: { region: "eu-west-1", profile: "ops" } }, opts));
        assert.strictEqual(built.resources.one("command:local:Command").inputs.environment.AWS_PROFILE, "ops");
    });

    it("creates no command without the wait", async () => {
        const built = await buildComponent((opts) => new ManagementInstance("mgmt", ARGS, opts));
        assert.deepStrictEqual(built.resources.ofType("command:local:Command"), []);
        assert.strictEqual(built.component.bootWait, undefined);
        assert.strictEqual(await promiseOf(built.component.readyInstanceId), built.resources.one(EC2).id);
    });
});
