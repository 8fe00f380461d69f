import * as assert from "assert";
import { ConfigError } from "../../config";
import { decodeUserData, TLS_POLICY } from "../../components";
import { plain, ProgramRun, recorded, runProgram } from "../support/pulumi-mocks";

const T = {
    asg: "aws:autoscaling/group:Group",
    lt: "aws:ec2/launchTemplate:LaunchTemplate",
    instance: "aws:ec2/instance:Instance",
    subnet: "aws:ec2/subnet:Subnet",
    nat: "aws:ec2/natGateway:NatGateway",
    eip: "aws:ec2/eip:Eip",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    alb: "aws:lb/loadBalancer:LoadBalancer",
    tg: "aws:lb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    cdn: "aws:cloudfront/distribution:Distribution",
    rds: "aws:rds/instance:Instance",
    dbSubnets: "aws:rds/subnetGroup:SubnetGroup",
    efs: "aws:efs/fileSystem:FileSystem",
    mount: "aws:efs/mountTarget:MountTarget",
    param: "aws:ssm/parameter:Parameter",
    command: "command:local:Command",
    random: "random:index/randomPassword:RandomPassword",
};

const userDataOf = (run: ProgramRun) => decodeUserData(run.resources.one(T.lt).inputs.userData);
const subnetIds = (run: ProgramRun, tier: "public" | "private") => run.resources.ofType(T.subnet).filter((s) => s.inputs.tags.Tier === tier).map((s) => s.id);

const EXPECTED = {
    prod: {
        azs: 3, nats: 3, listeners: 2, ingressRules: 8, siteUrl: "https://www.example.com", listenerName: "https", originPolicy: "https-only",
        capacity: { minSize: 2, desiredCapacity: 3, maxSize: 6 }, instanceType: "t3.medium", amiArch: "x86_64", deletionProtection: true, multiAz: true,
    },
    staging: {
        azs: 2, nats: 1, listeners: 1, ingressRules: 6, siteUrl: "https://d111111abcdef8.cloudfront.net", listenerName: "http", originPolicy: "http-only",
        capacity: { minSize: 1, desiredCapacity: 1, maxSize: 2 }, instanceType: "t4g.small", amiArch: "arm64", deletionProtection: false, multiAz: false,
    },
} as const;

for (const stack of ["prod", "staging"] as const) {
    const want = EXPECTED[stack];

    describe(`program under Pulumi.${stack}.yaml`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await runProgram(stack);
        });

        it("creates one of each core resource, and the network for its AZ count", () => {
            const c = run.resources.counts();
            for (const type of [T.asg, T.lt, T.instance, T.alb, T.tg, T.cdn, T.rds, T.efs, T.dbSubnets, T.command]) assert.strictEqual(c[type], 1, type);
            assert.strictEqual(c["aws:ec2/vpc:Vpc"], 1);
            assert.strictEqual(c[T.subnet], want.azs * 2);
            assert.strictEqual(c[T.nat], want.nats);
            assert.strictEqual(c[T.eip], want.nats);
            assert.strictEqual(c[T.mount], want.azs, "a mount target per private subnet");
            assert.strictEqual(c[T.sg], 5, "alb, web, management, efs, db");
            assert.strictEqual(c[T.ingress], want.ingressRules);
            assert.strictEqual(c[T.listener], want.listeners);
            assert.strictEqual(c[T.param], 6, "DATABASE_URL, management/DATABASE_MASTER_URL, SECRET_KEY, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, SITE_URL");
            assert.strictEqual(c[T.random], 4, "database master and app passwords, SECRET_KEY and the origin header's secret");
            assert.strictEqual(c["aws:lb/listenerRule:ListenerRule"], 1, "forward only with CloudFront's origin header");
        });

        it("exports the outputs the operator and the release need", () => {
            const v = run.values;
            const lt = run.resources.one(T.lt);
            assert.strictEqual(v.siteUrl, want.siteUrl);
            assert.strictEqual(v.cdnDomain, "d111111abcdef8.cloudfront.net");
            assert.strictEqual(v.autoScalingGroupName, run.resources.one(T.asg).id);
            assert.strictEqual(v.launchTemplateId, lt.id);
            assert.strictEqual(v.launchTemplateLatestVersion, 1);
            assert.strictEqual(v.targetGroupArn, run.resources.one(T.tg).state.arn);
            assert.strictEqual(v.listenerArn, run.resources.named(`django-fleet-lb-${want.listenerName}`).state.arn);
            assert.strictEqual(v.managementInstanceId, run.resources.one(T.instance).id);
            assert.strictEqual(v.managementReadyInstanceId, run.resources.one(T.instance).id);
            assert.strictEqual(v.efsId, run.resources.one(T.efs).id);
            assert.match(v.dbEndpoint, /\.rds\.amazonaws\.com:5432$/);
            assert.strictEqual(v.distributionId, run.resources.one(T.cdn).id);
            assert.match(v.albDnsName, /\.elb\.amazonaws\.com$/);
            assert.deepStrictEqual(v.capacity, want.capacity);
            assert.strictEqual(v.releaseVersion, null, "no release:version set in the stack file");
        });

        it("creates the group empty with the configured maximum; the release owns min/desired and the template version", () => {
            const asg = run.resources.one(T.asg);
            assert.strictEqual(asg.inputs.minSize, 0);
            assert.strictEqual(asg.inputs.desiredCapacity, 0);
            assert.strictEqual(asg.inputs.maxSize, want.capacity.maxSize);
            assert.deepStrictEqual(asg.inputs.launchTemplate, { id: run.resources.one(T.lt).id, version: "$Default" });
            assert.strictEqual(asg.inputs.healthCheckType, "ELB");
            assert.ok(asg.inputs.healthCheckGracePeriod > 0);
            assert.strictEqual(asg.inputs.instanceRefreshes ?? asg.inputs.instanceRefresh, undefined, "no instanceRefresh: the release ramps");
        });

        it("wires the group to the target group, the private subnets and the launch template", () => {
            const asg = run.resources.one(T.asg);
            assert.deepStrictEqual(asg.inputs.targetGroupArns, [run.resources.one(T.tg).state.arn]);
            assert.deepStrictEqual([...asg.inputs.vpcZoneIdentifiers].sort(), subnetIds(run, "private").sort());
            assert.ok(asg.inputs.tags.some((t: any) => t.key === "Role" && t.value === "web" && t.propagateAtLaunch));
            assert.strictEqual(run.resources.one(T.lt).inputs.instanceType, want.instanceType);
        });

        it("launches the management instance from the same template, tagged Role=management, in a private subnet", () => {
            const mgmt = run.resources.one(T.instance);
            assert.deepStrictEqual(mgmt.inputs.launchTemplate, { id: run.resources.one(T.lt).id, version: "$Default" });
            assert.strictEqual(mgmt.inputs.tags.Role, "management");
            assert.ok(subnetIds(run, "private").includes(mgmt.inputs.subnetId));
            const sgs = run.resources.ofType(T.sg);
            assert.deepStrictEqual(mgmt.inputs.vpcSecurityGroupIds, [sgs.find((s) => s.name.endsWith("-sg-management"))!.id]);
            assert.strictEqual(mgmt.inputs.disableApiTermination, want.deletionProtection);
        });

        it("waits for the management instance's first boot with @pulumi/command", () => {
            const wait = run.resources.one(T.command);
            const mgmt = run.resources.one(T.instance);
            assert.match(wait.inputs.create, /scripts\/wait-for-boot\.ts$/);
            assert.strictEqual(wait.inputs.environment.INSTANCE_ID, mgmt.id);
            assert.strictEqual(wait.inputs.environment.AWS_REGION, "eu-west-1");
            assert.deepStrictEqual(wait.inputs.triggers, [mgmt.id]);
        });

        it("puts the load balancer in the public subnets and serves HTTPS when a certificate is configured", () => {
            const alb = run.resources.one(T.alb);
            assert.deepStrictEqual([...alb.inputs.subnets].sort(), subnetIds(run, "public").sort());
            const main = run.resources.named(`django-fleet-lb-${want.listenerName}`);
            assert.strictEqual(main.inputs.defaultActions[0].type, "fixed-response", "requests without CloudFront's header get 403");
            const rule = run.resources.one("aws:lb/listenerRule:ListenerRule");
            assert.strictEqual(rule.inputs.listenerArn, main.state.arn);
            assert.deepStrictEqual(rule.inputs.actions, [{ type: "forward", targetGroupArn: run.resources.one(T.tg).state.arn }]);
            if (stack === "prod") {
                assert.strictEqual(main.inputs.protocol, "HTTPS");
                assert.strictEqual(main.inputs.sslPolicy, TLS_POLICY);
                assert.match(main.inputs.certificateArn, /^arn:aws:acm:eu-west-1:/);
                const http = run.resources.named("django-fleet-lb-http");
                assert.deepStrictEqual(http.inputs.defaultActions[0].redirect, { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" });
            } else {
                assert.strictEqual(main.inputs.protocol, "HTTP");
            }
        });

        it("fronts the load balancer with CloudFront", () => {
            const cdn = run.resources.one(T.cdn);
            const origins = plain(cdn.inputs.origins); // secret: they carry the origin header's value
            assert.strictEqual(origins[0].domainName, run.values.albDnsName);
            assert.strictEqual(origins[0].customOriginConfig.originProtocolPolicy, want.originPolicy);
            assert.deepStrictEqual(cdn.inputs.aliases ?? [], stack === "prod" ? ["www.example.com"] : []);
            const header = origins[0].customHeaders[0];
            assert.strictEqual(header.name, "X-Origin-Verify");
            const rule = run.resources.one("aws:lb/listenerRule:ListenerRule");
            assert.deepStrictEqual(plain(rule.inputs.conditions), [{ httpHeader: { httpHeaderName: "X-Origin-Verify", values: [header.value] } }]);
            assert.strictEqual(header.value, run.resources.named("django-fleet-origin-secret").state.result);
        });

        it("stores the app settings under /django-fleet/<stack>/ and points the boot script at them and at EFS", () => {
            const params = run.resources.ofType(T.param);
            assert.deepStrictEqual(params.map((p) => p.inputs.name).sort(), ["ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASE_URL", "SECRET_KEY", "SITE_URL", "management/DATABASE_MASTER_URL"].map((n) => `/django-fleet/${stack}/${n}`));
            const hosts = params.find((p) => p.inputs.name.endsWith("/ALLOWED_HOSTS"))!;
            assert.strictEqual(plain(hosts.inputs.value), want.siteUrl.replace("https://", ""));
            const userData = userDataOf(run);
            assert.ok(userData.includes(`EFS_ID=${run.resources.one(T.efs).id}`));
            assert.ok(userData.includes(`/django-fleet/${stack}/$name`));
            assert.ok(userData.includes("for name in DATABASE_URL SECRET_KEY ALLOWED_HOSTS CSRF_TRUSTED_ORIGINS SITE_URL;"));
        });

        it("puts the database and the file system in the private subnets", () => {
            assert.deepStrictEqual([...run.resources.one(T.dbSubnets).inputs.subnetIds].sort(), subnetIds(run, "private").sort());
            assert.deepStrictEqual(run.resources.ofType(T.mount).map((m) => m.inputs.subnetId).sort(), subnetIds(run, "private").sort());
            const rds = run.resources.one(T.rds);
            assert.strictEqual(rds.inputs.deletionProtection, want.deletionProtection);
            assert.strictEqual(rds.inputs.multiAz, want.multiAz);
            assert.strictEqual(rds.inputs.skipFinalSnapshot, !want.deletionProtection);
        });

        it("boots the latest Debian 12 image for the fleet's CPU architecture", () => {
            const call = run.resources.calls.find((c) => c.token === "aws:ec2/getAmi:getAmi")!;
            assert.deepStrictEqual(call.inputs.owners, ["136693071363"]);
            assert.ok(call.inputs.filters.some((f: any) => f.name === "architecture" && f.values[0] === want.amiArch));
            assert.ok(call.inputs.filters.some((f: any) => f.name === "name" && /^debian-12-(amd64|arm64)-\*$/.test(f.values[0])));
            assert.strictEqual(run.resources.one(T.lt).inputs.imageId, want.amiArch === "arm64" ? "ami-0a7a1e5d3c2b4f601" : "ami-0d3b1a5e7c9f24680");
        });
    });
}

describe("program: config is validated before anything is created", () => {
    it("refuses a bad stack config with one error and creates no resource", async () => {
        await assert.rejects(
            runProgram("staging", { "django-fleet:minSize": "9", "django-fleet:healthCheckPath": "health" }),
            (e: unknown) => e instanceof ConfigError && e.problems.length === 3 && /minSize \(9\) > maxSize \(2\)/.test(e.message) && /healthCheckPath "health"/.test(e.message),
        );
        assert.strictEqual(recorded.resources.length, 0);
    });

    it("uses an existing VPC's subnets instead of creating a network", async () => {
        const run = await runProgram("staging", {
            "django-fleet:vpcId": "vpc-0123456789abcdef0",
            "django-fleet:publicSubnetIds": "[\"subnet-0aaaaaaaaaaaaaaa1\",\"subnet-0aaaaaaaaaaaaaaa2\"]",
            "django-fleet:privateSubnetIds": "[\"subnet-0bbbbbbbbbbbbbbb1\",\"subnet-0bbbbbbbbbbbbbbb2\",\"subnet-0bbbbbbbbbbbbbbb3\"]",
        });
        const c = run.resources.counts();
        for (const type of ["aws:ec2/vpc:Vpc", T.subnet, T.nat, "aws:ec2/internetGateway:InternetGateway"]) assert.strictEqual(c[type], undefined, type);
        assert.strictEqual(c[T.mount], 3);
        assert.deepStrictEqual(run.resources.one(T.asg).inputs.vpcZoneIdentifiers, ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2", "subnet-0bbbbbbbbbbbbbbb3"]);
        assert.deepStrictEqual(run.resources.one(T.alb).inputs.subnets, ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]);
        assert.strictEqual(run.resources.one(T.instance).inputs.subnetId, "subnet-0bbbbbbbbbbbbbbb1");
        assert.ok(run.resources.ofType(T.sg).every((sg) => sg.inputs.vpcId === "vpc-0123456789abcdef0"));
    });

    it("gives the boot wait the stack's aws:profile", async () => {
        const run = await runProgram("staging", { "aws:profile": "deploy" });
        assert.strictEqual(run.resources.one(T.command).inputs.environment.AWS_PROFILE, "deploy");
    });

    it("boots a configured base AMI instead of looking up Debian", async () => {
        const run = await runProgram("staging", { "django-fleet:baseAmiId": "ami-0fedcba9876543210" });
        assert.strictEqual(run.resources.one(T.lt).inputs.imageId, "ami-0fedcba9876543210");
        const call = run.resources.calls.find((c) => c.token === "aws:ec2/getAmi:getAmi")!;
        assert.deepStrictEqual(call.inputs.filters, [{ name: "image-id", values: ["ami-0fedcba9876543210"] }]);
    });
});
