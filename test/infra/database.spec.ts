import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Database, databaseUrl, encodeUrlPart } from "../../components";
import { buildComponent, GENERATED_SECRET_PREFIX, isSecretOutput, isSecretValue, plain, promiseOf } from "../support/pulumi-mocks";

const RDS = "aws:rds/instance:Instance";

describe("component: Database", () => {
    it("builds the connection string with every part percent-encoded and TLS required", () => {
        assert.strictEqual(encodeUrlPart("a b/c@d:e!'()*"), "a%20b%2Fc%40d%3Ae%21%27%28%29%2A");
        assert.strictEqual(
            databaseUrl({ username: "django", password: "p@ss:w/rd", address: "db.example", port: 5432, dbName: "site" }),
            "postgres://django:p%40ss%3Aw%2Frd@db.example:5432/site?sslmode=require",
        );
    });

    describe("with the defaults", () => {
        let built: Awaited<ReturnType<typeof buildComponent<Database>>>;
        before(async () => {
            built = await buildComponent((opts) => new Database("db", { subnetIds: ["subnet-c", "subnet-d"], securityGroupId: "sg-db", parameterPrefix: "/django-fleet/unit" }, opts));
        });

        it("runs encrypted PostgreSQL 16 in the private subnet group, never public", () => {
            const db = built.resources.one(RDS).inputs;
            assert.strictEqual(db.engine, "postgres");
            assert.strictEqual(db.engineVersion, "16");
            assert.strictEqual(db.instanceClass, "db.t4g.micro");
            assert.strictEqual(db.storageEncrypted, true);
            assert.strictEqual(db.storageType, "gp3");
            assert.strictEqual(db.publiclyAccessible, false);
            assert.deepStrictEqual(db.vpcSecurityGroupIds, ["sg-db"]);
            assert.strictEqual(db.dbSubnetGroupName, built.resources.one("aws:rds/subnetGroup:SubnetGroup").state.name);
            assert.deepStrictEqual(built.resources.one("aws:rds/subnetGroup:SubnetGroup").inputs.subnetIds, ["subnet-c", "subnet-d"]);
        });

        it("keeps backups, deletion protection and a final snapshot", () => {
            const db = built.resources.one(RDS).inputs;
            assert.strictEqual(db.backupRetentionPeriod, 7);
            assert.strictEqual(db.deletionProtection, true);
            assert.strictEqual(db.skipFinalSnapshot, false);
            assert.strictEqual(db.finalSnapshotIdentifier, "db-final");
            assert.strictEqual(db.copyTagsToSnapshot, true);
        });

        it("forces TLS on the server side", () => {
            const pg = built.resources.one("aws:rds/parameterGroup:ParameterGroup").inputs;
            assert.strictEqual(pg.family, "postgres16");
            assert.deepStrictEqual(pg.parameters, [{ name: "rds.force_ssl", value: "1" }]);
        });

        it("generates a 32-character alphanumeric password and passes it only as a secret", () => {
            const gen = built.resources.one("random:index/randomPassword:RandomPassword");
            assert.strictEqual(gen.inputs.length, 32);
            assert.strictEqual(gen.inputs.special, false);
            const db = built.resources.one(RDS).inputs;
            assert.ok(isSecretValue(db.password), "password reaches RDS as a secret");
            assert.ok(plain(db.password).startsWith(GENERATED_SECRET_PREFIX));
        });

        it("stores DATABASE_URL as a SecureString under the stack's prefix", async () => {
            const p = built.resources.one("aws:ssm/parameter:Parameter").inputs;
            assert.strictEqual(p.name, "/django-fleet/unit/DATABASE_URL");
            assert.strictEqual(p.type, "SecureString");
            assert.ok(isSecretValue(p.value));
            const url = plain(p.value);
            assert.match(url, /^postgres:\/\/django:GeneratedSecret\w+@db-postgres\.c9akciq32\.eu-west-1\.rds\.amazonaws\.com:5432\/django\?sslmode=require$/);
            assert.strictEqual(await promiseOf(built.component.urlParameterName), "/django-fleet/unit/DATABASE_URL");
            assert.match(await promiseOf(built.component.endpoint), /:5432$/);
            assert.strictEqual(await isSecretOutput(built.component.endpoint), false);
        });
    });

    it("uses a configured password (as a secret), and skips deletion protection for throw-away stacks", async () => {
        const built = await buildComponent((opts) => new Database("db", {
            subnetIds: ["subnet-c"], securityGroupId: "sg-db", parameterPrefix: "/p", password: pulumi.secret("Configured-1234"),
            deletionProtection: false, multiAz: true, engineVersion: "15.7", dbName: "shop", username: "shopper",
        }, opts));
        assert.deepStrictEqual(built.resources.ofType("random:index/randomPassword:RandomPassword"), []);
        const db = built.resources.one(RDS).inputs;
        assert.strictEqual(plain(db.password), "Configured-1234");
        assert.ok(isSecretValue(db.password));
        assert.strictEqual(db.deletionProtection, false);
        assert.strictEqual(db.skipFinalSnapshot, true);
        assert.strictEqual(db.finalSnapshotIdentifier, undefined);
        assert.strictEqual(db.multiAz, true);
        assert.strictEqual(built.resources.one("aws:rds/parameterGroup:ParameterGroup").inputs.family, "postgres15");
        assert.match(plain(built.resources.one("aws:ssm/parameter:Parameter").inputs.value), /^postgres:\/\/shopper:Configured-1234@.*\/shop\?sslmode=require$/);
    });
});
