import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { APP_DB_USER, Database, databaseUrl, encodeUrlPart, RDS_CA_BUNDLE } from "../../components";
import { buildComponent, GENERATED_SECRET_PREFIX, isSecretOutput, isSecretValue, plain, promiseOf } from "../support/pulumi-mocks";

const RDS = "aws:rds/instance:Instance";

describe("component: Database", () => {
    it("builds the connection string with every part percent-encoded and TLS that verifies the server's certificate and name", () => {
        assert.strictEqual(encodeUrlPart("a b/c@d:e!'()*"), "a%20b%2Fc%40d%3Ae%21%27%28%29%2A");
        assert.strictEqual(RDS_CA_BUNDLE, "/etc/django-app/rds-ca-bundle.pem");
        assert.strictEqual(
            databaseUrl({ username: "django", password: "p@ss:w/rd", address: "db.example", port: 5432, dbName: "site" }),
            "postgres://django:p%40ss%3Aw%2Frd@db.example:5432/site?sslmode=verify-full&sslrootcert=/etc/django-app/rds-ca-bundle.pem",
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

        it("generates 32-character alphanumeric passwords, the master's and the app role's, and passes them only as secrets", () => {
            const [master, app] = ["db-password", "db-app-password"].map((n) => built.resources.named(n));
            for (const gen of [master, app]) assert.deepStrictEqual([gen.inputs.length, gen.inputs.special], [32, false]);
            const db = built.resources.one(RDS).inputs;
            assert.ok(isSecretValue(db.password), "password reaches RDS as a secret");
            assert.strictEqual(plain(db.password), master.state.result);
        });

        it("gives the app its own role in DATABASE_URL, and the master URL only under <prefix>/management/", async () => {
            const params = Object.fromEntries(built.resources.ofType("aws:ssm/parameter:Parameter").map((p) => [p.inputs.name, p.inputs]));
            assert.deepStrictEqual(Object.keys(params).sort(), ["/django-fleet/unit/DATABASE_URL", "/django-fleet/unit/management/DATABASE_MASTER_URL"]);
            const host = "db-postgres.c9akciq32.eu-west-1.rds.amazonaws.com:5432/django?sslmode=verify-full&sslrootcert=/etc/django-app/rds-ca-bundle.pem";
            const app = params["/django-fleet/unit/DATABASE_URL"], master = params["/django-fleet/unit/management/DATABASE_MASTER_URL"];
            for (const p of [app, master]) assert.ok(p.type === "SecureString" && isSecretValue(p.value));
            assert.strictEqual(plain(app.value), `postgres://${APP_DB_USER}:${built.resources.named("db-app-password").state.result}@${host}`);
            assert.strictEqual(plain(master.value), `postgres://django:${built.resources.named("db-password").state.result}@${host}`);
            assert.strictEqual(await promiseOf(built.component.urlParameterName), "/django-fleet/unit/DATABASE_URL");
            assert.match(await promiseOf(built.component.endpoint), /:5432$/);
            assert.strictEqual(await isSecretOutput(built.component.endpoint), false);
        });
    });

    it("refuses a master user named like the app's role", () => {
        assert.throws(() => new Database("db", { subnetIds: ["subnet-c"], securityGroupId: "sg-db", parameterPrefix: "/p", username: APP_DB_USER }), /dbUsername "django_app" is the app's own role name/);
    });

    it("uses a configured password (as a secret), and skips deletion protection for throw-away stacks", async () => {
        const built = await buildComponent((opts) => new Database("db", {
            subnetIds: ["subnet-c"], securityGroupId: "sg-db", parameterPrefix: "/p", password: pulumi.secret("Configured-1234"),
            deletionProtection: false, multiAz: true, engineVersion: "15.7", dbName: "shop", username: "shopper",
        }, opts));
        assert.deepStrictEqual(built.resources.ofType("random:index/randomPassword:RandomPassword").map((r) => r.name), ["db-app-password"], "only the app role's");
        const db = built.resources.one(RDS).inputs;
        assert.strictEqual(plain(db.password), "Configured-1234");
        assert.ok(isSecretValue(db.password));
        assert.strictEqual(db.deletionProtection, false);
        assert.strictEqual(db.skipFinalSnapshot, true);
        assert.strictEqual(db.finalSnapshotIdentifier, undefined);
        assert.strictEqual(db.multiAz, true);
        assert.strictEqual(built.resources.one("aws:rds/parameterGroup:ParameterGroup").inputs.family, "postgres15");
        assert.match(plain(built.resources.one("aws:ssm/parameter:Parameter", "master").inputs.value), /^postgres:\/\/shopper:Configured-1234@.*\/shop\?sslmode=verify-full&sslrootcert=\/etc\/django-app\/rds-ca-bundle\.pem$/);
    });
});
