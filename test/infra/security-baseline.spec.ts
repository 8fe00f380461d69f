/**
 * The security baseline, asserted on every resource it concerns, under several configs:
 * IMDSv2 required; EBS, EFS and RDS encrypted; EFS mounted over TLS; no ingress from anywhere
 * except the load balancer's 80/443; no SSH from anywhere; RDS not public; instances in
 * private subnets; the database password never outside a secret (user data, inputs, outputs).
 */
import * as assert from "assert";
import { APP_DB_USER, APP_GID, APP_UID, decodeUserData, RDS_CA_BUNDLE } from "../../components";
import { ConfigError } from "../../config";
import { isSecretValue, plain, plainOccurrences, ProgramRun, recorded, runProgram, stackConfig } from "../support/pulumi-mocks";

const CONFIGURED_PASSWORD = "Configured-db-Passw0rd-42";
const ADMIN = "198.51.100.0/24";

const VARIANTS: [title: string, stack: string, overrides: Record<string, string>, secretKeys?: string[]][] = [
    ["prod (HTTPS, CloudFront-only ingress, SSH from the admin range)", "prod", {}],
    ["staging (HTTP origin, no SSH)", "staging", {}],
    ["staging open to the internet with SSH and a configured password", "staging", { "django-fleet:albIngress": "internet", "django-fleet:adminCidr": ADMIN, "django-fleet:dbPassword": CONFIGURED_PASSWORD }, ["django-fleet:dbPassword"]],
];

const T = {
    lt: "aws:ec2/launchTemplate:LaunchTemplate",
    instance: "aws:ec2/instance:Instance",
    asg: "aws:autoscaling/group:Group",
    subnet: "aws:ec2/subnet:Subnet",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    efs: "aws:efs/fileSystem:FileSystem",
    efsPolicy: "aws:efs/fileSystemPolicy:FileSystemPolicy",
    accessPoint: "aws:efs/accessPoint:AccessPoint",
    rds: "aws:rds/instance:Instance",
    param: "aws:ssm/parameter:Parameter",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    random: "random:index/randomPassword:RandomPassword",
};

for (const [title, stack, overrides, secretKeys] of VARIANTS) {
    describe(`security baseline: ${title}`, () => {
        let run: ProgramRun;
        let userData: string;
        const sgId = (role: string) => run.resources.ofType(T.sg).find((s) => s.name.endsWith(`-sg-${role}`))!.id;
        const privateSubnets = () => run.resources.ofType(T.subnet).filter((s) => s.inputs.tags.Tier === "private").map((s) => s.id);

        before(async () => {
            run = await runProgram(stack, overrides, { secretKeys });
            userData = decodeUserData(run.resources.one(T.lt).inputs.userData);
        });

        it("requires IMDSv2 on every launch template and instance", () => {
            const all = [...run.resources.ofType(T.lt), ...run.resources.ofType(T.instance)];
            assert.ok(all.length >= 2);
            for (const r of all) assert.strictEqual(r.inputs.metadataOptions?.httpTokens, "required", r.name);
            assert.ok(run.resources.ofType(T.lt).every((lt) => lt.inputs.metadataOptions.httpPutResponseHopLimit <= 2));
        });

        it("encrypts every EBS volume, the file system and the database", () => {
            for (const lt of run.resources.ofType(T.lt)) {
                assert.ok(lt.inputs.blockDeviceMappings.length > 0);
                for (const m of lt.inputs.blockDeviceMappings) assert.strictEqual(m.ebs.encrypted, "true", `${lt.name} ${m.deviceName}`);
            }
            for (const i of run.resources.ofType(T.instance)) {
                assert.strictEqual(i.inputs.rootBlockDevice.encrypted, true, i.name);
                for (const d of i.inputs.ebsBlockDevices ?? []) assert.strictEqual(d.encrypted, true, i.name);
            }
            for (const fs of run.resources.ofType(T.efs)) assert.strictEqual(fs.inputs.encrypted, true, fs.name);
            for (const db of run.resources.ofType(T.rds)) assert.strictEqual(db.inputs.storageEncrypted, true, db.name);
        });

        it("mounts EFS over TLS with IAM through the app user's access point, read-only on web instances; only the management role may write; no root access; TLS only", () => {
            const mountScript = /cat > \/usr\/local\/sbin\/django-fleet-mount-static <<'MOUNTSCRIPT'\n([\s\S]*?)\nMOUNTSCRIPT\n/.exec(userData)![1];
            const ap = run.resources.one(T.accessPoint);
            assert.deepStrictEqual(ap.inputs.posixUser, { uid: APP_UID, gid: APP_GID });
            assert.ok(mountScript.includes(`then want=rw opts=tls,iam,accesspoint=${ap.id},noresvport; else want=ro opts=tls,iam,accesspoint=${ap.id},noresvport,ro; fi`));
            const fsId = run.resources.one(T.efs).id;
            // The file system only through the mount script; the one other mount is the inspection
            // wrapper's read-only tmpfs over the static root, in the inspection's own namespace.
            assert.deepStrictEqual(
                userData.split("\n").filter((l) => /\bmount -t\b/.test(l)),
                [`mount -t efs -o "$opts" ${fsId}:/ /srv/static`, `mount -t tmpfs -o ro,nosuid,nodev,noexec,size=4k,mode=0555 django-fleet-no-static "$0"`],
                "the boot script mounts only through the mount script",
            );
            assert.ok(!/-t nfs/.test(userData));
            assert.ok(!/(chown|chmod)[^\n]*STATIC_ROOT/.test(userData), "nothing chowns the file system's root as root");

            const profileRole = (profileName: string) => run.resources.ofType("aws:iam/instanceProfile:InstanceProfile").find((p) => p.state.name === profileName)!.inputs.role;
            const roleArn = (roleName: string) => run.resources.ofType("aws:iam/role:Role").find((r) => r.state.name === roleName)!.state.arn;
            const managementRole = roleArn(profileRole(run.resources.one(T.instance).inputs.iamInstanceProfile));
            const webProfileArn = run.resources.one(T.lt).inputs.iamInstanceProfile.arn;
            const webRole = roleArn(run.resources.ofType("aws:iam/instanceProfile:InstanceProfile").find((p) => p.state.arn === webProfileArn)!.inputs.role);
            assert.notStrictEqual(webRole, managementRole);

            const policy = JSON.parse(plain(run.resources.one(T.efsPolicy).inputs.policy));
            const allows = policy.Statement.filter((s: any) => s.Effect === "Allow");
            const actions = (s: any): string[] => [].concat(s.Action);
            assert.ok(!JSON.stringify(policy).includes("ClientRootAccess"), "root stays squashed");
            for (const s of allows) assert.strictEqual(s.Condition.StringEquals["elasticfilesystem:AccessPointArn"], ap.state.arn, "only through the access point");
            const writers = allows.filter((s: any) => actions(s).includes("elasticfilesystem:ClientWrite")).flatMap((s: any): string[] => [].concat(s.Principal.AWS));
            assert.deepStrictEqual(writers, [managementRole], "only the management role writes");
            const mounters = allows.filter((s: any) => actions(s).includes("elasticfilesystem:ClientMount")).flatMap((s: any): string[] => [].concat(s.Principal.AWS)).sort();
            assert.deepStrictEqual(mounters, [webRole, managementRole].sort());
            assert.ok(policy.Statement.some((s: any) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false"));
        });

        it("allows ingress from anywhere only to the load balancer on 80/443", () => {
            for (const sg of run.resources.ofType(T.sg)) assert.ok(!sg.inputs.ingress || sg.inputs.ingress.length === 0, `${sg.name}: no inline rules`);
            const open = run.resources.ofType(T.ingress).filter((r) => r.inputs.cidrIpv4 === "0.0.0.0/0" || r.inputs.cidrIpv6 === "::/0");
            for (const r of open) {
                assert.strictEqual(r.inputs.securityGroupId, sgId("alb"), r.name);
                assert.ok([80, 443].includes(r.inputs.fromPort) && r.inputs.fromPort === r.inputs.toPort, r.name);
            }
            if (overrides["django-fleet:albIngress"] === "internet") assert.strictEqual(open.length, 4);
            else assert.strictEqual(open.length, 0, "CloudFront-only: the prefix list, not 0.0.0.0/0");
        });

        it("with CloudFront-only ingress, forwards only requests carrying this distribution's secret header", () => {
            const rules = run.resources.ofType("aws:lb/listenerRule:ListenerRule");
            const origins = run.resources.one("aws:cloudfront/distribution:Distribution").inputs.origins;
            const cdnHeaders = plain(origins)[0].customHeaders ?? [];
            if (overrides["django-fleet:albIngress"] === "internet") {
                assert.deepStrictEqual([rules.length, cdnHeaders.length], [0, 0]);
                return;
            }
            assert.strictEqual(rules.length, 1);
            assert.ok(isSecretValue(rules[0].inputs.conditions), "the header value travels as a secret in the rule");
            assert.ok(isSecretValue(origins), "and in the distribution's origins");
            assert.strictEqual(plain(rules[0].inputs.conditions)[0].httpHeader.values[0], cdnHeaders[0].value);
            for (const l of run.resources.ofType("aws:lb/listener:Listener")) assert.notStrictEqual(l.inputs.defaultActions[0].type, "forward", l.name);
        });

        it("reaches the load balancer from CloudFront over HTTPS, or over plain HTTP only where plainHttpOrigin says so", () => {
            const config = stackConfig(stack, overrides);
            const origin = plain(run.resources.one("aws:cloudfront/distribution:Distribution").inputs.origins)[0].customOriginConfig;
            const listeners = run.resources.ofType("aws:lb/listener:Listener");
            if (config["django-fleet:certificateArn"] !== undefined) {
                assert.strictEqual(origin.originProtocolPolicy, "https-only");
                assert.deepStrictEqual(origin.originSslProtocols, ["TLSv1.2"]);
                const forwarding = listeners.filter((l) => l.inputs.defaultActions[0].type !== "redirect");
                assert.deepStrictEqual(forwarding.map((l) => [l.inputs.protocol, l.inputs.port]), [["HTTPS", 443]], "HTTP only redirects");
            } else {
                assert.strictEqual(config["django-fleet:plainHttpOrigin"], "true", "plain HTTP to the origin only by the explicit setting");
                assert.strictEqual(origin.originProtocolPolicy, "http-only");
            }
        });

        it("never opens SSH to anywhere: port 22 only from the admin range", () => {
            const ssh = run.resources.ofType(T.ingress).filter((r) => r.inputs.ipProtocol === "-1" || (r.inputs.fromPort <= 22 && r.inputs.toPort >= 22));
            const admin = stack === "prod" ? "203.0.113.0/24" : overrides["django-fleet:adminCidr"];
            assert.strictEqual(ssh.length, admin ? 2 : 0);
            for (const r of ssh) {
                assert.strictEqual(r.inputs.cidrIpv4, admin, r.name);
                assert.ok(!r.inputs.cidrIpv6 && !r.inputs.prefixListId, r.name);
            }
        });

        it("keeps the app port, NFS and PostgreSQL reachable only through the security-group chain", () => {
            const rules = run.resources.ofType(T.ingress);
            const into = (role: string) => rules.filter((r) => r.inputs.securityGroupId === sgId(role) && r.inputs.fromPort !== 22);
            assert.deepStrictEqual(into("web").map((r) => r.inputs.referencedSecurityGroupId), [sgId("alb")]);
            assert.deepStrictEqual(into("efs").map((r) => [r.inputs.fromPort, r.inputs.referencedSecurityGroupId]).sort(), [[2049, sgId("web")], [2049, sgId("management")]].sort());
            assert.deepStrictEqual(into("db").map((r) => [r.inputs.fromPort, r.inputs.referencedSecurityGroupId]).sort(), [[5432, sgId("web")], [5432, sgId("management")]].sort());
            assert.deepStrictEqual(into("management"), []);
        });

        it("keeps the database private", () => {
            for (const db of run.resources.ofType(T.rds)) {
                assert.strictEqual(db.inputs.publiclyAccessible, false);
                assert.deepStrictEqual(db.inputs.vpcSecurityGroupIds, [sgId("db")]);
            }
        });

        it("launches every instance in a private subnet without a public address", () => {
            const priv = privateSubnets();
            for (const i of run.resources.ofType(T.instance)) {
                assert.ok(priv.includes(i.inputs.subnetId), i.name);
                assert.strictEqual(i.inputs.associatePublicIpAddress, false, i.name);
            }
            for (const g of run.resources.ofType(T.asg)) for (const s of g.inputs.vpcZoneIdentifiers) assert.ok(priv.includes(s), g.name);
            for (const s of run.resources.ofType(T.subnet)) assert.strictEqual(s.inputs.mapPublicIpOnLaunch, false, s.name);
        });

        it("keeps the database password out of user data, plain inputs and outputs", () => {
            const password = overrides["django-fleet:dbPassword"] ?? run.resources.named("django-fleet-db-password").state.result;
            assert.ok(typeof password === "string" && password.length >= 16);
            assert.ok(!userData.includes(password), "user data");
            for (const r of run.resources.resources) {
                if (r.type === T.random) continue; // the generator holds its own (secret) result
                assert.deepStrictEqual(plainOccurrences(r.inputs, password), [], `${r.type} ${r.name}`);
            }
            // It does reach the database and the SecureString, as secrets.
            assert.strictEqual(plain(run.resources.one(T.rds).inputs.password), password);
            assert.ok(plain(run.resources.ofType(T.param).find((p) => p.inputs.name.endsWith("/management/DATABASE_MASTER_URL"))!.inputs.value).includes(password));
            for (const [key, value] of Object.entries(run.values)) {
                if (!run.secret[key]) assert.ok(!JSON.stringify(value ?? null).includes(password), `output ${key}`);
            }
        });

        it("connects the app as its own database role, never the master user, over TLS that verifies the server (RDS CA bundle); the app's password stays secret", () => {
            const param = (suffix: string) => run.resources.ofType(T.param).find((p) => p.inputs.name === `/django-fleet/${stack}/${suffix}`)!;
            const app = new URL(plain(param("DATABASE_URL").inputs.value));
            const master = new URL(plain(param("management/DATABASE_MASTER_URL").inputs.value));
            assert.strictEqual(app.username, APP_DB_USER);
            assert.strictEqual(master.username, run.resources.one(T.rds).inputs.username);
            assert.notStrictEqual(app.username, master.username);
            for (const u of [app, master]) {
                assert.strictEqual(u.searchParams.get("sslmode"), "verify-full");
                assert.strictEqual(u.searchParams.get("sslrootcert"), RDS_CA_BUNDLE);
            }
            assert.ok(userData.includes(`-o ${RDS_CA_BUNDLE}.tmp https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem`), "the boot script fetches the bundle");
            assert.ok(userData.includes("PGSSLMODE=verify-full\n"), "libpq's default too");
            const appPassword = decodeURIComponent(app.password);
            assert.strictEqual(appPassword, run.resources.named("django-fleet-db-app-password").state.result);
            assert.ok(!userData.includes(appPassword), "user data");
            for (const r of run.resources.resources) {
                if (r.type === T.random) continue;
                assert.deepStrictEqual(plainOccurrences(r.inputs, appPassword), [], `${r.type} ${r.name}`);
            }
            for (const [key, value] of Object.entries(run.values)) if (!run.secret[key]) assert.ok(!JSON.stringify(value ?? null).includes(appPassword), `output ${key}`);
        });

        it("stores DATABASE_URL and SECRET_KEY as SecureStrings and lets the instances read only the stack's own parameters", () => {
            const params = run.resources.ofType(T.param);
            for (const name of ["DATABASE_URL", "management/DATABASE_MASTER_URL", "SECRET_KEY"]) assert.strictEqual(params.find((p) => p.inputs.name.endsWith(`/${name}`))!.inputs.type, "SecureString", name);
            const own = `arn:aws:ssm:eu-west-1:123456789012:parameter/django-fleet/${stack}/*`;
            const policies = run.resources.ofType(T.rolePolicy).map((p) => ({ name: p.name, policy: JSON.parse(plain(p.inputs.policy)) }));
            assert.strictEqual(policies.length, 2, "web and management");
            for (const { name, policy } of policies) {
                const allows = policy.Statement.filter((s: any) => s.Effect === "Allow");
                assert.deepStrictEqual(allows.map((s: any) => [s.Action, s.Resource]), [[["ssm:GetParameter", "ssm:GetParameters"], own]], name);
                const deny = policy.Statement.find((s: any) => s.Sid === "NoOtherParameters");
                assert.strictEqual(deny.NotResource, own, "SSM core's GetParameter on * is taken back");
                assert.ok(deny.Action.includes("ssm:GetParameter") && deny.Action.includes("ssm:GetParametersByPath"));
            }
            const web = policies.find((p) => p.name === "django-fleet-instances-settings")!.policy;
            assert.strictEqual(web.Statement.find((s: any) => s.Sid === "NoManagementParameters").Resource, `arn:aws:ssm:eu-west-1:123456789012:parameter/django-fleet/${stack}/management/*`);
        });

        it("release path (issue 10): deploy owns the release directories, sudo is narrow, the inspection account is fenced, git reads its token from SSM", () => {
            assert.ok(userData.includes(`install -d -m 0755 -o deploy -g deploy "$APP_DIR" "$APP_DIR/releases"`));
            assert.ok(!/install -d -m 2775 [^\n]*releases/.test(userData), "releases/ not writable by the app group");
            assert.match(userData, /cat > \/etc\/sudoers\.d\/django-fleet <<'SUDO'\ndeploy ALL=\(root\) NOPASSWD: \/usr\/bin\/systemctl reload django-app, \/usr\/bin\/systemctl restart django-app, \/usr\/bin\/systemctl reload django-app\.service, \/usr\/bin\/systemctl restart django-app\.service\ndeploy ALL=\(root\) NOPASSWD: \/usr\/local\/sbin\/django-fleet-as-inspect\nSUDO\n/);
            assert.match(userData, /meta skuid fleet-inspect ip daddr 169\.254\.169\.254 reject/);
            // The app account on the management instance too (managementAppMetadata's default).
            assert.match(userData, /= management \]; then\n  nft add rule inet django_fleet_inspect output meta skuid django ip daddr 169\.254\.169\.254 reject\n  nft add rule inet django_fleet_inspect output meta skuid django ip6 daddr fd00:ec2::254 reject\nfi\n/);
            // The candidate's code reaches the inspection account only through the wrapper that hides the static root.
            assert.ok(userData.includes("exec unshare --mount --propagation private --"));
            assert.ok(userData.includes(`--name "/django-fleet/${stack}/REPOSITORY_TOKEN"`), "the token comes from the stack's own parameters at fetch time");
            assert.ok(userData.includes(`rm -rf "$APP_DIR/repo.git"`));
        });
    });
}

describe("security baseline: the release's secrets (repositoryToken, inspectDatabaseUrl)", () => {
    const TOKEN = "ghp_RepositoryToken0123456789abcdefXYZ";
    const INSPECT_PASSWORD = "Inspect-Passw0rd-987";
    const INSPECT_URL = `postgres://fleet_inspect:${INSPECT_PASSWORD}@db.internal:5432/django?sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE}`;
    const settings = { "django-fleet:repositoryToken": TOKEN, "django-fleet:inspectDatabaseUrl": INSPECT_URL, "release:version": "v1.4.0" };

    // With --secret, and without it (the program wraps them anyway).
    for (const secretKeys of [["django-fleet:repositoryToken", "django-fleet:inspectDatabaseUrl"], []]) {
        describe(secretKeys.length ? "set with --secret" : "set without --secret", () => {
            let run: ProgramRun;
            before(async () => {
                run = await runProgram("prod", settings, { secretKeys });
            });

            it("become SecureStrings under the stack's prefix, their values Pulumi secrets", () => {
                const param = (name: string) => run.resources.ofType(T.param).find((p) => p.inputs.name === `/django-fleet/prod/${name}`);
                for (const [name, value] of [["REPOSITORY_TOKEN", TOKEN], ["INSPECT_DATABASE_URL", INSPECT_URL]]) {
                    const p = param(name);
                    assert.ok(p, `${name} is made`);
                    assert.strictEqual(p.inputs.type, "SecureString", name);
                    assert.ok(isSecretValue(p.inputs.value), `${name}'s value is a secret`);
                    assert.strictEqual(plain(p.inputs.value), value);
                }
            });

            it("appear nowhere outside a secret: inputs of every resource (the Release's included), user data, outputs", () => {
                const userData = decodeUserData(run.resources.one(T.lt).inputs.userData);
                for (const needle of [TOKEN, INSPECT_PASSWORD]) {
                    assert.ok(!userData.includes(needle), "user data");
                    for (const r of run.resources.resources) assert.deepStrictEqual(plainOccurrences(r.inputs, needle), [], `${r.type} ${r.name}`);
                    for (const [key, value] of Object.entries(run.values)) if (!run.secret[key]) assert.deepStrictEqual(plainOccurrences(value, needle), [], `output ${key}`);
                }
            });

            it("are readable by the management role only: the web role is denied both parameters", () => {
                const arn = (name: string) => `arn:aws:ssm:eu-west-1:123456789012:parameter/django-fleet/prod/${name}`;
                const policy = (name: string) => JSON.parse(plain(run.resources.named(name).inputs.policy));
                const denied = (p: any) => p.Statement.filter((s: any) => s.Effect === "Deny" && s.Action.includes("ssm:GetParameter")).flatMap((s: any) => [].concat(s.Resource ?? []));
                const web = policy("django-fleet-instances-settings");
                const management = policy("django-fleet-management-role-settings");
                assert.deepStrictEqual(web.Statement.find((s: any) => s.Sid === "NoReleaseParameters").Resource, [arn("REPOSITORY_TOKEN"), arn("INSPECT_DATABASE_URL")]);
                for (const name of ["REPOSITORY_TOKEN", "INSPECT_DATABASE_URL"]) {
                    assert.ok(denied(web).includes(arn(name)), `web may not read ${name}`);
                    assert.ok(!denied(management).includes(arn(name)), `management may read ${name}`);
                    assert.ok(management.Statement.some((s: any) => s.Effect === "Allow" && s.Resource === "arn:aws:ssm:eu-west-1:123456789012:parameter/django-fleet/prod/*"), "management reads the stack's parameters");
                }
            });
        });
    }

    it("are refused with an error naming the setting, never the value, when malformed", async () => {
        const bad = {
            "django-fleet:repositoryToken": "two words-and-more",
            "django-fleet:inspectDatabaseUrl": `postgres://fleet_inspect:${INSPECT_PASSWORD}@db.internal:5432/django?sslmode=require`,
        };
        await assert.rejects(runProgram("prod", bad), (e: unknown) => {
            assert.ok(e instanceof ConfigError, String(e));
            assert.match(e.message, /repositoryToken \(secret\) must be one line of printable characters without spaces/);
            assert.match(e.message, /inspectDatabaseUrl \(secret\) must verify the database's certificate: end it with \?sslmode=verify-full&sslrootcert=\/etc\/django-app\/rds-ca-bundle\.pem/);
            assert.ok(!e.message.includes("two words") && !e.message.includes(INSPECT_PASSWORD), "values not echoed");
            return true;
        });
        assert.strictEqual(recorded.resources.length, 0);
        // A newline would add a line to the inspection's env file (URL() itself drops it).
        await assert.rejects(runProgram("prod", { "django-fleet:inspectDatabaseUrl": `postgres://fleet_inspect:pw@db.internal:5432/django?sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE}\nSECRET_KEY=x` }),
            /inspectDatabaseUrl \(secret\) must be one line without spaces or control characters/);
    });

    it("without them, the stack makes neither parameter (one made by hand keeps working)", async () => {
        const run = await runProgram("prod");
        const names = run.resources.ofType(T.param).map((p) => p.inputs.name);
        assert.ok(!names.includes("/django-fleet/prod/REPOSITORY_TOKEN") && !names.includes("/django-fleet/prod/INSPECT_DATABASE_URL"), names.join(", "));
    });
});

describe("security baseline: the CloudFront -> load balancer hop", () => {
    it("refuses a stack with no load-balancer certificate unless plainHttpOrigin is true, naming both settings, before creating anything", async () => {
        await assert.rejects(
            runProgram("staging", { "django-fleet:plainHttpOrigin": undefined }),
            (e: unknown) => e instanceof ConfigError && e.problems.length === 1 && /certificateArn is required/.test(e.message) && /set plainHttpOrigin true/.test(e.message),
        );
        assert.strictEqual(recorded.resources.length, 0);
    });

    it("documents what plainHttpOrigin exposes", () => {
        const { PROJECT_SETTINGS } = require("../../config");
        assert.strictEqual(PROJECT_SETTINGS.plainHttpOrigin.default, false);
        for (const what of ["X-Origin-Verify", "cookies", "form posts", "clear text", "certificateArn"]) assert.ok(PROJECT_SETTINGS.plainHttpOrigin.description.includes(what), what);
    });
});
