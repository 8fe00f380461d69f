import * as assert from "assert";
import { APP_GID, APP_UID, StaticFiles, STATIC_ROOT_DIRECTORY } from "../../components";
import { buildComponent, plain, promiseOf } from "../support/pulumi-mocks";

describe("component: StaticFiles", () => {
    let built: Awaited<ReturnType<typeof buildComponent<StaticFiles>>>;
    before(async () => {
        built = await buildComponent((opts) => new StaticFiles("static", {
            subnetIds: ["subnet-c", "subnet-d", "subnet-e"],
            subnetCount: 3,
            securityGroupId: "sg-efs",
            readerRoleArns: ["arn:aws:iam::123456789012:role/web"],
            writerRoleArns: ["arn:aws:iam::123456789012:role/management"],
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

    it("has one access point acting as the app user, rooted in a directory it creates owned by that user", async () => {
        const ap = built.resources.one("aws:efs/accessPoint:AccessPoint");
        assert.strictEqual(ap.inputs.fileSystemId, built.resources.one("aws:efs/fileSystem:FileSystem").id);
        assert.deepStrictEqual(ap.inputs.posixUser, { uid: APP_UID, gid: APP_GID });
        assert.deepStrictEqual(ap.inputs.rootDirectory, { path: STATIC_ROOT_DIRECTORY, creationInfo: { ownerUid: APP_UID, ownerGid: APP_GID, permissions: "0755" } });
        assert.strictEqual(await promiseOf(built.component.accessPointId), ap.id);
    });

    it("lets readers mount and only writers write, both only through the access point and a mount target; no root access; TLS only", () => {
        const ap = built.resources.one("aws:efs/accessPoint:AccessPoint");
        const policy = JSON.parse(plain(built.resources.one("aws:efs/fileSystemPolicy:FileSystemPolicy").inputs.policy));
        const through = { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" }, StringEquals: { "elasticfilesystem:AccessPointArn": ap.state.arn } };
        const fsArn = built.resources.one("aws:efs/fileSystem:FileSystem").state.arn;
        assert.deepStrictEqual(policy.Statement, [
            { Sid: "MountThroughTheAccessPoint", Effect: "Allow", Principal: { AWS: ["arn:aws:iam::123456789012:role/web", "arn:aws:iam::123456789012:role/management"] }, Action: "elasticfilesystem:ClientMount", Resource: fsArn, Condition: through },
            { Sid: "OnlyWritersWrite", Effect: "Allow", Principal: { AWS: ["arn:aws:iam::123456789012:role/management"] }, Action: "elasticfilesystem:ClientWrite", Resource: fsArn, Condition: through },
            { Sid: "DenyUnencryptedTransport", Effect: "Deny", Principal: { AWS: "*" }, Action: "*", Resource: fsArn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
        ]);
        assert.ok(!JSON.stringify(policy).includes("ClientRootAccess"));
    });
});
