/**
 * The Release resource as the program builds it under Pulumi mocks: created only when
 * release:version is set, fed from the stack's own resources and settings, its SSH key a
 * secret, and its provider serializable (dynamic resources serialize their provider's code
 * when constructed, so this also runs closure serialization).
 */
import * as assert from "assert";
import { resolveSettings } from "../../providers/release/remote/commands";
import { REDACTED, Redactor } from "../../providers/release/redact";
import { isSecretValue, plain, plainOccurrences, ProgramRun, runProgram } from "../support/pulumi-mocks";

const DYNAMIC = "pulumi-nodejs:dynamic/django-fleet:Release";
const T = {
    asg: "aws:autoscaling/group:Group",
    lt: "aws:ec2/launchTemplate:LaunchTemplate",
    instance: "aws:ec2/instance:Instance",
    tg: "aws:lb/targetGroup:TargetGroup",
    cdn: "aws:cloudfront/distribution:Distribution",
};

// A throwaway key shape: the config check only wants the PEM framing; nothing connects.
const FAKE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAfakefakefakefake\n-----END OPENSSH PRIVATE KEY-----";
const HOST_KEY = "SHA256:" + "A".repeat(43);

describe("the Release resource in the program", () => {
    describe("without release:version", () => {
        let run: ProgramRun;
        before(async () => {
            run = await runProgram("prod");
        });

        it("creates no Release and exports none: the group stays empty until the first release", () => {
            assert.strictEqual(run.resources.ofType(DYNAMIC).length, 0);
            assert.strictEqual(run.values.release, undefined);
            assert.strictEqual(run.values.releaseVersion, null);
        });
    });

    describe("with release:version under Pulumi.prod.yaml", () => {
        let run: ProgramRun;
        let release: any;
        before(async () => {
            run = await runProgram("prod", { "release:version": "v1.4.0" });
            const found = run.resources.ofType(DYNAMIC);
            assert.strictEqual(found.length, 1, "one Release");
            release = found[0];
        });

        it("releases the configured version with the stack's rollout settings", () => {
            const i = plain(release.inputs);
            assert.strictEqual(i.version, "v1.4.0");
            assert.strictEqual(i.migrationPolicy, "refuse");
            assert.strictEqual(i.keepImages, 5);
            assert.deepStrictEqual(i.rollout, { maxSurge: "50%", bakeTimeoutS: 3600, healthyTimeoutS: 900, drainTimeoutS: 600 });
            assert.strictEqual(i.providerVersion, "1");
        });

        it("takes the configured capacity, which the empty group itself never gets from Pulumi", () => {
            const i = plain(release.inputs);
            assert.deepStrictEqual(i.capacity, { minSize: 2, desiredCapacity: 3, maxSize: 6 });
            const asg = run.resources.one(T.asg);
            assert.strictEqual(asg.inputs.minSize, 0);
            assert.strictEqual(asg.inputs.desiredCapacity, 0);
            assert.strictEqual(asg.inputs.maxSize, i.capacity.maxSize);
        });

        it("is wired to the stack's group, template, target group, management instance and distribution", () => {
            const i = plain(release.inputs);
            assert.strictEqual(i.autoScalingGroupName, run.values.autoScalingGroupName);
            assert.strictEqual(i.baseLaunchTemplateId, run.resources.one(T.lt).id);
            assert.strictEqual(i.baseLaunchTemplateVersion, run.values.launchTemplateLatestVersion);
            assert.strictEqual(i.targetGroupArn, run.values.targetGroupArn);
            assert.strictEqual(i.listenerArn, run.values.listenerArn);
            assert.strictEqual(i.managementInstanceId, run.resources.one(T.instance).id);
            assert.strictEqual(i.distributionId, run.values.distributionId);
            assert.strictEqual(i.region, "eu-west-1");
        });

        it("takes the target group's own health-check interval, healthy threshold and deregistration delay (a release then reads none of them)", () => {
            const i = plain(release.inputs);
            const tg = run.resources.one(T.tg).state;
            assert.deepStrictEqual(i.targetGroupTimings, { healthCheckIntervalS: tg.healthCheck.interval, healthyThreshold: tg.healthCheck.healthyThreshold, deregistrationDelayS: tg.deregistrationDelay });
            // Pulumi.prod.yaml sets none of them: the settings' defaults.
            assert.deepStrictEqual(i.targetGroupTimings, { healthCheckIntervalS: 30, healthyThreshold: 3, deregistrationDelayS: 30 });
        });

        it("runs the remote phase over SSM on the management instance, with the app's layout", () => {
            const r = plain(release.inputs).remote;
            assert.strictEqual(r.transport, "ssm");
            assert.strictEqual(r.instanceId, run.resources.one(T.instance).id);
            assert.strictEqual(r.repositoryUrl, "https://github.com/example-org/mysite.git");
            assert.strictEqual(r.appDir, "/srv/app");
            assert.strictEqual(r.healthUrl, "http://127.0.0.1:8000/health/");
            assert.strictEqual(r.settingsModule, "mysite.settings.production");
            // The remote phase's default (a full restart: the management instance serves no visitor).
            assert.strictEqual(r.restartCommand, undefined);
            assert.strictEqual(resolveSettings(r).restartCommand, "sudo systemctl restart django-app");
            assert.strictEqual(r.ssh, undefined);
        });

        it("gets the database passwords as its secretValues, a Pulumi secret, so its state and logs redact them", () => {
            const master = run.resources.named("django-fleet-db-password").state.result;
            const app = run.resources.named("django-fleet-db-app-password").state.result;
            assert.ok(isSecretValue(release.inputs.secretValues), "secretValues is a secret input");
            assert.deepStrictEqual(plain(release.inputs.secretValues), [master, app]);
            // What the provider does with them: a failing command's stderr loses both.
            const redactor = Redactor.forInputs(plain(release.inputs));
            assert.strictEqual(redactor.redact(`psql: FATAL for ${master} and ${app}`), `psql: FATAL for ${REDACTED} and ${REDACTED}`);
        });

        it("carries its provider's code, serialized without a relative require of the program's files", () => {
            const provider = release.inputs.__provider;
            assert.strictEqual(typeof provider, "string");
            assert.ok(provider.length > 1000, "the serialized provider holds the engine's code");
            assert.ok(!/require\("\.{1,2}\//.test(provider), "no relative require: the provider host cannot resolve the program's paths");
        });

        it("exports the release's plan, status and history", () => {
            assert.ok(run.outputs.release, "release outputs");
            for (const key of ["plan", "status", "amiId", "launchTemplateVersion", "history"]) {
                assert.ok(key in run.outputs.release, key);
            }
        });
    });

    describe("with a configured health check and deregistration delay", () => {
        it("they reach the Release's targetGroupTimings through the target group", async () => {
            const run = await runProgram("prod", { "release:version": "v1.4.0", "django-fleet:healthCheckInterval": "10", "django-fleet:healthyThreshold": "2", "django-fleet:deregistrationDelay": "45" });
            const tg = run.resources.one(T.tg).state;
            assert.deepStrictEqual([tg.healthCheck.interval, tg.healthCheck.healthyThreshold, tg.deregistrationDelay], [10, 2, 45]);
            assert.deepStrictEqual(plain(run.resources.one(DYNAMIC).inputs).targetGroupTimings, { healthCheckIntervalS: 10, healthyThreshold: 2, deregistrationDelayS: 45 });
        });
    });

    describe("with a configured database password, repository token and inspection URL", () => {
        const PASSWORD = "Configured-db-Passw0rd-42";
        const TOKEN = "ghp_RepositoryToken0123456789abcdefXYZ";
        const INSPECT = "postgres://fleet_inspect:Inspect%2FPass-987@db.internal:5432/django?sslmode=verify-full&sslrootcert=/etc/django-app/rds-ca-bundle.pem";
        let release: any;
        before(async () => {
            const run = await runProgram("prod", {
                "release:version": "v1.4.0",
                "django-fleet:dbPassword": PASSWORD,
                "django-fleet:repositoryToken": TOKEN,
                "django-fleet:inspectDatabaseUrl": INSPECT,
            }, { secretKeys: ["django-fleet:dbPassword", "django-fleet:repositoryToken", "django-fleet:inspectDatabaseUrl"] });
            release = run.resources.one(DYNAMIC);
        });

        it("passes every one of them in secretValues, as a secret, and nowhere in plain inputs", () => {
            assert.ok(isSecretValue(release.inputs.secretValues));
            const values: string[] = plain(release.inputs.secretValues);
            for (const v of [PASSWORD, TOKEN, INSPECT, "Inspect/Pass-987"]) assert.ok(values.includes(v), v);
            for (const v of [PASSWORD, TOKEN, "Inspect/Pass-987"]) assert.deepStrictEqual(plainOccurrences(release.inputs, v), [], v);
            const redactor = Redactor.forInputs(plain(release.inputs));
            assert.strictEqual(redactor.redact(`fatal: auth failed for ${TOKEN}; pw Inspect/Pass-987`), `fatal: auth failed for ${REDACTED}; pw ${REDACTED}`);
        });
    });

    describe("with the ssh transport", () => {
        let run: ProgramRun;
        before(async () => {
            run = await runProgram(
                "staging",
                {
                    "release:version": "main",
                    "release:transport": "ssh",
                    "release:sshHost": "10.0.1.5",
                    "release:sshPrivateKey": FAKE_KEY,
                    "release:sshHostKey": HOST_KEY,
                },
                { secretKeys: ["release:sshPrivateKey"] },
            );
        });

        it("passes the pinned host key and the key as a secret, never in plain text", () => {
            const release = run.resources.one(DYNAMIC);
            const ssh = plain(release.inputs).remote.ssh;
            assert.deepStrictEqual({ ...ssh, privateKey: undefined }, { host: "10.0.1.5", port: 22, user: "deploy", privateKey: undefined, hostKeySha256: HOST_KEY });
            assert.strictEqual(ssh.privateKey, FAKE_KEY);
            for (const r of run.resources.resources) {
                assert.deepStrictEqual(plainOccurrences(r.inputs, "fakefakefake"), [], `${r.type} ${r.name} has the key outside a secret`);
            }
            for (const [key, value] of Object.entries(run.values)) {
                if (!run.secret[key]) assert.deepStrictEqual(plainOccurrences(value, "fakefakefake"), [], `output ${key}`);
            }
        });
    });
});
