import * as assert from "assert";
import { parseConfig } from "../../config";
import { AppSettings, decodeUserData, DjangoStack, InstanceRole } from "../../components";
import { buildComponent, plain, promiseOf } from "../support/pulumi-mocks";

describe("component: InstanceRole", () => {
    const own = "arn:aws:ssm:eu-west-1:123456789012:parameter/django-fleet/unit/*";
    const ssmRead = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"];
    const build = (role: "web" | "management") => buildComponent((opts) => new InstanceRole("instances", { parameterPrefix: "/django-fleet/unit", role }, opts));

    it("lets EC2 assume it, attaches SSM core, and reads only the stack's own parameters (denying the rest SSM core would allow)", async () => {
        const built = await build("management");
        const trust = JSON.parse(built.resources.one("aws:iam/role:Role").inputs.assumeRolePolicy);
        assert.deepStrictEqual(trust.Statement[0].Principal, { Service: "ec2.amazonaws.com" });
        assert.strictEqual(built.resources.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment").inputs.policyArn, "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
        const policy = JSON.parse(plain(built.resources.one("aws:iam/rolePolicy:RolePolicy").inputs.policy));
        assert.deepStrictEqual(policy.Statement, [
            { Sid: "ReadOwnSettings", Effect: "Allow", Action: ["ssm:GetParameter", "ssm:GetParameters"], Resource: own },
            { Sid: "NoOtherParameters", Effect: "Deny", Action: ssmRead, NotResource: own },
        ]);
        assert.strictEqual(built.resources.one("aws:iam/instanceProfile:InstanceProfile").inputs.role, built.resources.one("aws:iam/role:Role").state.name);
    });

    it("denies the web role the management-only parameters (the database master URL) and the release's (repository token, inspection URL)", async () => {
        const built = await build("web");
        const policy = JSON.parse(plain(built.resources.one("aws:iam/rolePolicy:RolePolicy").inputs.policy));
        assert.deepStrictEqual(policy.Statement[2], { Sid: "NoManagementParameters", Effect: "Deny", Action: ssmRead, Resource: "arn:aws:ssm:eu-west-1:123456789012:parameter/django-fleet/unit/management/*" });
        assert.deepStrictEqual(policy.Statement[3], {
            Sid: "NoReleaseParameters",
            Effect: "Deny",
            Action: ssmRead,
            Resource: ["REPOSITORY_TOKEN", "INSPECT_DATABASE_URL"].map((n) => `arn:aws:ssm:eu-west-1:123456789012:parameter/django-fleet/unit/${n}`),
        });
        assert.strictEqual(policy.Statement.length, 4);
    });
});

describe("component: AppSettings", () => {
    it("generates SECRET_KEY as a SecureString and publishes the host names", async () => {
        const built = await buildComponent((opts) => new AppSettings("settings", { parameterPrefix: "/django-fleet/unit", allowedHosts: ["www.example.com"], siteUrl: "https://www.example.com" }, opts));
        const key = built.resources.one("random:index/randomPassword:RandomPassword");
        assert.deepStrictEqual([key.inputs.length, key.inputs.special], [64, false]);
        const params = Object.fromEntries(built.resources.ofType("aws:ssm/parameter:Parameter").map((p) => [p.inputs.name, { type: p.inputs.type, value: plain(p.inputs.value) }]));
        assert.deepStrictEqual(params, {
            "/django-fleet/unit/SECRET_KEY": { type: "SecureString", value: key.state.result },
            "/django-fleet/unit/ALLOWED_HOSTS": { type: "String", value: "www.example.com" },
            "/django-fleet/unit/CSRF_TRUSTED_ORIGINS": { type: "String", value: "https://www.example.com" },
            "/django-fleet/unit/SITE_URL": { type: "String", value: "https://www.example.com" },
        });
    });
});

describe("component: DjangoStack", () => {
    let built: Awaited<ReturnType<typeof buildComponent<DjangoStack>>>;
    before(async () => {
        const { project } = parseConfig({ "django-fleet:repositoryUrl": "https://github.com/example-org/mysite.git", "django-fleet:plainHttpOrigin": "true", "django-fleet:appPort": "8080", "django-fleet:healthCheckPath": "/status/", "django-fleet:healthCheckInterval": "10", "django-fleet:healthyThreshold": "2" }, "unit");
        const { dbPassword: _unused, ...args } = project;
        built = await buildComponent((opts) => new DjangoStack("site", { ...args, waitForBoot: false }, opts), "unit");
    });

    it("composes one of each component under itself", () => {
        const types = built.resources.ofType("django-fleet:index:DjangoStack").length;
        assert.strictEqual(types, 1);
        assert.strictEqual(built.resources.ofType("django-fleet:index:InstanceRole").length, 2, "web and management");
        for (const c of ["Network", "SecurityGroups", "Database", "StaticFiles", "LoadBalancer", "Cdn", "AppSettings", "WebFleet", "ManagementInstance"]) {
            assert.strictEqual(built.resources.ofType(`django-fleet:index:${c}`).length, 1, c);
        }
        assert.deepStrictEqual(built.resources.ofType("command:local:Command"), [], "no boot wait when waitForBoot is false");
    });

    it("gives the web instances and the management instance each their own role", () => {
        const profiles = built.resources.ofType("aws:iam/instanceProfile:InstanceProfile");
        const lt = built.resources.one("aws:ec2/launchTemplate:LaunchTemplate");
        const mgmt = built.resources.one("aws:ec2/instance:Instance");
        const web = profiles.find((p) => p.state.arn === lt.inputs.iamInstanceProfile.arn)!;
        const management = profiles.find((p) => p.state.name === mgmt.inputs.iamInstanceProfile)!;
        assert.ok(web && management && web !== management);
        const roles = built.resources.ofType("aws:iam/role:Role");
        assert.match(roles.find((r) => r.state.name === web.inputs.role)!.inputs.description, /web instances/);
        assert.match(roles.find((r) => r.state.name === management.inputs.role)!.inputs.description, /management instance/);
    });

    it("boots the management instance only after the file system, database, settings and the release's secrets exist", () => {
        const deps = (built.children.find((c) => c.type === "django-fleet:index:ManagementInstance")!.opts.dependsOn as any[]).map((d) => d.constructor.name);
        assert.deepStrictEqual(deps, ["StaticFiles", "Database", "AppSettings", "ReleaseSecrets"]);
    });

    it("tags every taggable resource with the project and the stack", () => {
        for (const r of built.resources.resources.filter((r) => r.type.startsWith("aws:") && r.inputs.tags && !Array.isArray(r.inputs.tags))) {
            assert.strictEqual(r.inputs.tags.Project, "django-fleet", r.name);
            assert.strictEqual(r.inputs.tags.Stack, "unit", r.name);
        }
    });

    it("hands the release everything it needs", async () => {
        const t = built.component.releaseTarget;
        assert.deepStrictEqual(t.capacity, { minSize: 2, desiredCapacity: 2, maxSize: 4 });
        assert.strictEqual(t.healthUrl, "http://127.0.0.1:8080/status/");
        assert.strictEqual(t.appDir, "/srv/app");
        assert.strictEqual(t.staticRoot, "/srv/static");
        assert.strictEqual(t.staticUrl, "/static/");
        assert.strictEqual(t.repositoryUrl, "https://github.com/example-org/mysite.git");
        assert.strictEqual(await promiseOf(t.region), "eu-west-1");
        assert.strictEqual(await promiseOf(t.managementInstanceId), built.resources.one("aws:ec2/instance:Instance").id);
        assert.strictEqual(await promiseOf(t.launchTemplateId), built.resources.one("aws:ec2/launchTemplate:LaunchTemplate").id);
        assert.strictEqual(await promiseOf(t.listenerArn), built.resources.one("aws:lb/listener:Listener").state.arn);
        assert.strictEqual(await promiseOf(t.distributionId), built.resources.one("aws:cloudfront/distribution:Distribution").id);
        assert.strictEqual(await promiseOf(t.managementPrivateIp), "10.0.128.10");
    });

    it("opens the configured app port from the load balancer and health-checks the configured path", () => {
        const tg = built.resources.one("aws:lb/targetGroup:TargetGroup").inputs;
        assert.deepStrictEqual([tg.port, tg.healthCheck.path], [8080, "/status/"]);
        // The health-check timing settings (each ramp wave waits healthyThreshold x interval).
        assert.deepStrictEqual([tg.healthCheck.interval, tg.healthCheck.healthyThreshold, tg.healthCheck.timeout], [10, 2, 5]);
        const userData = decodeUserData(built.resources.one("aws:ec2/launchTemplate:LaunchTemplate").inputs.userData);
        assert.ok(userData.includes("--bind 0.0.0.0:8080"));
    });
});
