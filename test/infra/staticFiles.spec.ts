import * as assert from "assert";
import { StaticFiles } from "../../components";
import { buildComponent, plain, promiseOf } from "../support/pulumi-mocks";

describe("component: StaticFiles", () => {
    let built: Awaited<ReturnType<typeof buildComponent<StaticFiles>>>;
    before(async () => {
        built = await buildComponent((opts) => new StaticFiles("static", {
            subnetIds: ["subnet-c", "subnet-d", "subnet-e"],
            subnetCount: 3,
            securityGroupId: "sg-efs",
            clientRoleArns: ["arn:aws:iam::123456789012:role/instances"],
        }, opts));
    });

    it("creates an encrypted file system", async () => {
        const fs = built.resources.one("aws:efs/fileSystem:FileSystem");
        assert.strictEqual(fs.inputs.encrypted, true);
        assert.strictEqual(await promiseOf(built.component.fileSystemId), fs.id);
    });

    it("has a mount target in each private subnet, behind the EFS security group", () => {
        const targets = built.resources.ofType("aws:efs/mountTarget:MountTarget");
        assert.deepStrictEqual(targets.map((t) => t.inputs.subnetId), ["subnet-c", "subnet-d", "subnet-e"]);
        for (const t of targets) assert.deepStrictEqual(t.inputs.securityGroups, ["sg-efs"]);
    });

    it("lets the instance role mount over TLS through a mount target, and denies unencrypted transport", () => {
        const policy = JSON.parse(plain(built.resources.one("aws:efs/fileSystemPolicy:FileSystemPolicy").inputs.policy));
        const [allow, deny] = policy.Statement;
        assert.deepStrictEqual(allow.Principal, { AWS: ["arn:aws:iam::123456789012:role/instances"] });
        assert.deepStrictEqual(allow.Action, ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]);
        assert.strictEqual(allow.Condition.Bool["elasticfilesystem:AccessedViaMountTarget"], "true");
        assert.strictEqual(deny.Effect, "Deny");
        assert.deepStrictEqual(deny.Condition, { Bool: { "aws:SecureTransport": "false" } });
    });
});
