import * as assert from "assert";
import { validateVersion } from "../../providers/release/remote/commands";
import { architectureOf, ConfigError, gitRefProblem, parseCidr, parseConfig, PROJECT_SETTINGS, RELEASE_DEFAULTS, RELEASE_SETTINGS } from "../../config";
import { stackConfig } from "../support/pulumi-mocks";

const REPO = "https://github.com/example-org/mysite.git";
/** plainHttpOrigin: these cases are about other settings, on a stack without a load-balancer certificate. */
const BASE = { "django-fleet:repositoryUrl": REPO, "django-fleet:plainHttpOrigin": "true" };

/** Runs parseConfig on BASE + overrides (project keys without prefix become django-fleet:<key>) and returns the problems. */
function problemsOf(overrides: Record<string, string | undefined>, stack = "test"): string[] {
    const raw: Record<string, string | undefined> = { ...BASE };
    for (const [k, v] of Object.entries(overrides)) raw[k.includes(":") ? k : `django-fleet:${k}`] = v;
    try {
        parseConfig(raw, stack);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        assert.ok(e.message.startsWith("Invalid stack configuration"), e.message);
        for (const p of e.problems) assert.ok(e.message.includes(p), "the message lists every problem");
        return e.problems;
    }
    return [];
}

/** Each case: the settings, then the substrings of the problems it must produce (exactly that many problems). */
const CASES: [title: string, settings: Record<string, string | undefined>, expected: string[]][] = [
    ["a missing required key (repositoryUrl)", { repositoryUrl: undefined }, ["repositoryUrl is required"]],
    ["a repository URL that is not a git URL", { repositoryUrl: "ftp://example.com/app" }, ["repositoryUrl \"ftp://example.com/app\" must be an https://"]],
    ["an unknown project key (a typo)", { "django-fleet:minsize": "2" }, ["unknown setting django-fleet:minsize"]],
    ["an unknown release key", { "release:verison": "v1" }, ["unknown setting release:verison"]],
    ["a stack name unusable in SSM paths", {}, ["stack name \"prod/eu\""]],
    ["a malformed VPC CIDR", { vpcCidr: "10.0.0.0/33" }, ["vpcCidr \"10.0.0.0/33\" is not an IPv4 CIDR"]],
    ["a VPC CIDR with host bits set", { vpcCidr: "10.0.3.0/16" }, ["vpcCidr \"10.0.3.0/16\" has host bits set (did you mean 10.0.0.0/16?)"]],
    ["a VPC CIDR too large for AWS", { vpcCidr: "10.0.0.0/8" }, ["vpcCidr \"10.0.0.0/8\" must have a prefix between /16 and /24"]],
    ["too few availability zones", { availabilityZoneCount: "1" }, ["availabilityZoneCount 1 must be between 2 and 6"]],
    ["a count that is not a number", { availabilityZoneCount: "two" }, ["availabilityZoneCount \"two\" is not a whole number"]],
    ["an unknown NAT mode", { natGateways: "none" }, ["natGateways \"none\" must be one of one-per-az, single"]],
    ["vpcId without its subnets", { vpcId: "vpc-0123456789abcdef0" }, ["publicSubnetIds is required when vpcId is set", "privateSubnetIds is required when vpcId is set"]],
    ["subnets without vpcId", { publicSubnetIds: "subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2", privateSubnetIds: "[\"subnet-0bbbbbbbbbbbbbbb1\",\"subnet-0bbbbbbbbbbbbbbb2\"]" }, ["vpcId is required when publicSubnetIds or privateSubnetIds are set"]],
    ["a malformed VPC id", { vpcId: "vpc-xyz", publicSubnetIds: "subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2", privateSubnetIds: "subnet-0bbbbbbbbbbbbbbb1,subnet-0bbbbbbbbbbbbbbb2" }, ["vpcId \"vpc-xyz\" is not a VPC id"]],
    ["a single existing public subnet", { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: "subnet-0aaaaaaaaaaaaaaa1", privateSubnetIds: "subnet-0bbbbbbbbbbbbbbb1,subnet-0bbbbbbbbbbbbbbb2" }, ["publicSubnetIds [\"subnet-0aaaaaaaaaaaaaaa1\"] must list at least 2 items"]],
    ["a malformed subnet id", { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: "subnet-0aaaaaaaaaaaaaaa1,sn-2", privateSubnetIds: "subnet-0bbbbbbbbbbbbbbb1,subnet-0bbbbbbbbbbbbbbb2" }, ["publicSubnetIds \"sn-2\" is not a subnet id"]],
    ["a subnet listed as both public and private", { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: "subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2", privateSubnetIds: "subnet-0aaaaaaaaaaaaaaa2,subnet-0bbbbbbbbbbbbbbb2" }, ["privateSubnetIds [\"subnet-0aaaaaaaaaaaaaaa2\"] are also listed in publicSubnetIds"]],
    ["a subnet list that is not a list of strings", { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: "[1, 2]", privateSubnetIds: "subnet-0bbbbbbbbbbbbbbb1,subnet-0bbbbbbbbbbbbbbb2" }, ["publicSubnetIds \"[1, 2]\" is not a list of strings"]],
    ["an unknown instance type shape", { instanceType: "t3-small" }, ["instanceType \"t3-small\" is not an EC2 instance type"]],
    ["a management instance of another CPU architecture", { instanceType: "t3.small", managementInstanceType: "t4g.small" }, ["managementInstanceType \"t4g.small\" is arm64 but instanceType t3.small is x86_64"]],
    ["minSize above maxSize", { minSize: "5", maxSize: "3", desiredCapacity: "3" }, ["minSize (5) > maxSize (3)", "desiredCapacity (3) < minSize (5)"]],
    ["desiredCapacity above maxSize", { desiredCapacity: "9", maxSize: "4" }, ["desiredCapacity (9) > maxSize (4)"]],
    ["desiredCapacity below minSize", { minSize: "3", desiredCapacity: "2" }, ["desiredCapacity (2) < minSize (3)"]],
    ["a negative grace period", { healthCheckGracePeriod: "-1" }, ["healthCheckGracePeriod -1 must be between 0 and 7200"]],
    ["a root volume too small to boot", { rootVolumeSize: "4" }, ["rootVolumeSize 4 must be between 8 and 16384"]],
    ["a malformed base AMI id", { baseAmiId: "debian-12" }, ["baseAmiId \"debian-12\" is not an AMI id"]],
    ["a key pair name with non-ASCII characters", { keyName: "clé" }, ["keyName \"clé\" is not a key pair name"]],
    ["an admin CIDR of the whole internet", { adminCidr: "0.0.0.0/0" }, ["adminCidr \"0.0.0.0/0\" must have a prefix between /8 and /32"]],
    ["a malformed admin CIDR", { adminCidr: "203.0.113.0" }, ["adminCidr \"203.0.113.0\" is not an IPv4 CIDR"]],
    ["an admin CIDR with host bits set", { adminCidr: "203.0.113.7/24" }, ["adminCidr \"203.0.113.7/24\" has host bits set (did you mean 203.0.113.0/24?)"]],
    ["a privileged app port", { appPort: "80" }, ["appPort 80 must be between 1024 and 65535"]],
    ["a WSGI application without attribute", { wsgiApplication: "mysite.wsgi" }, ["wsgiApplication \"mysite.wsgi\" must be module:attribute"]],
    ["a settings module that is not a Python path", { djangoSettingsModule: "my-site.settings" }, ["djangoSettingsModule \"my-site.settings\" must be a dotted Python module path"]],
    ["zero gunicorn workers", { gunicornWorkers: "0" }, ["gunicornWorkers 0 must be between 1 and 64"]],
    ["a celery app with a space", { celeryApp: "my app" }, ["celeryApp \"my app\" must be a Python module path"]],
    ["a relative static root", { staticRoot: "srv/static" }, ["staticRoot \"srv/static\" must be an absolute directory path"]],
    ["the file system root as static root", { staticRoot: "/" }, ["staticRoot \"/\" must be an absolute directory path other than \"/\""]],
    ["a static URL without trailing slash", { staticUrl: "/static" }, ["staticUrl \"/static\" must start and end with \"/\""]],
    ["a health check path without leading slash", { healthCheckPath: "health/" }, ["healthCheckPath \"health/\" must start with \"/\""]],
    ["a health check path with a space", { healthCheckPath: "/he alth/" }, ["healthCheckPath \"/he alth/\" must be a URL path without spaces"]],
    ["a deregistration delay above AWS's limit", { deregistrationDelay: "4000" }, ["deregistrationDelay 4000 must be between 0 and 3600"]],
    ["a malformed certificate ARN", { plainHttpOrigin: undefined, certificateArn: "arn:aws:iam::123456789012:server-certificate/x", domainName: "www.example.com", cdnCertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc-1" }, ["certificateArn \"arn:aws:iam::123456789012:server-certificate/x\" is not an ACM certificate ARN"]],
    ["a load balancer certificate without domainName", { plainHttpOrigin: undefined, certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/abc-1" }, ["domainName is required when certificateArn is set"]],
    ["no load-balancer certificate and no explicit plain-HTTP origin (CloudFront would send cookies and form posts in clear text)", { plainHttpOrigin: undefined }, ["certificateArn is required: CloudFront reaches the load balancer over HTTPS with it (set domainName and cdnCertificateArn too). To accept plain HTTP between CloudFront and the load balancer instead, set plainHttpOrigin true"]],
    ["plainHttpOrigin false without a certificate", { plainHttpOrigin: "false" }, ["certificateArn is required"]],
    ["plainHttpOrigin together with a certificate", { certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/abc-1", domainName: "www.example.com", cdnCertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc-2" }, ["plainHttpOrigin true contradicts certificateArn arn:aws:acm:eu-west-1:123456789012:certificate/abc-1"]],
    ["an unknown ALB ingress mode", { albIngress: "everyone" }, ["albIngress \"everyone\" must be one of cloudfront, internet"]],
    ["an unknown metadata mode for the management app account", { managementAppMetadata: "maybe" }, ["managementAppMetadata \"maybe\" must be one of block, allow"]],
    ["a domain name without a CloudFront certificate", { domainName: "www.example.com" }, ["cdnCertificateArn is required when domainName (www.example.com) is set"]],
    ["a malformed domain name", { domainName: "not a host", cdnCertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc-1" }, ["domainName \"not a host\" is not a host name"]],
    ["a CloudFront certificate outside us-east-1", { domainName: "www.example.com", cdnCertificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/abc-1" }, ["is in eu-west-1: CloudFront only uses certificates from us-east-1"]],
    ["a CloudFront certificate without domainName", { cdnCertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc-1" }, ["domainName is required when cdnCertificateArn is set"]],
    ["an unknown price class", { cdnPriceClass: "PriceClass_1" }, ["cdnPriceClass \"PriceClass_1\" must be one of"]],
    ["an EC2 type given as DB instance class", { dbInstanceClass: "t4g.micro" }, ["dbInstanceClass \"t4g.micro\" is not an RDS instance class"]],
    ["an unsupported PostgreSQL version", { dbEngineVersion: "12" }, ["dbEngineVersion \"12\" must be a PostgreSQL version from 13 to 18"]],
    ["database storage below RDS's minimum", { dbAllocatedStorage: "10" }, ["dbAllocatedStorage 10 must be between 20 and 65536"]],
    ["a storage ceiling below the allocation", { dbAllocatedStorage: "200", dbMaxAllocatedStorage: "100" }, ["dbMaxAllocatedStorage (100) < dbAllocatedStorage (200)"]],
    ["a database name starting with a digit", { dbName: "1site" }, ["dbName \"1site\" must start with a letter"]],
    ["a reserved database user", { dbUsername: "postgres" }, ["dbUsername \"postgres\" is reserved by RDS PostgreSQL"]],
    ["the app's own database role as master user", { dbUsername: "django_app" }, ["dbUsername \"django_app\" is the app's own database role"]],
    ["a short database password (value not echoed)", { dbPassword: "short" }, ["dbPassword (secret) must be 16 to 128 characters (it has 5)"]],
    ["a database password with characters unsafe in the env file or refused by RDS (value not echoed)", { dbPassword: "pass@word/1234567'$" }, ["dbPassword (secret) may hold only letters, digits and - _ . + , ="]],
    ["a boolean that is not true/false", { dbMultiAz: "yes" }, ["dbMultiAz \"yes\" must be true or false"]],
    ["zero days of backups", { dbBackupRetentionDays: "0" }, ["dbBackupRetentionDays 0 must be between 1 and 35"]],
    ["deletion protection not a boolean", { deletionProtection: "maybe" }, ["deletionProtection \"maybe\" must be true or false"]],
    ["a version with a space", { "release:version": "v1 .0" }, ["release:version \"v1 .0\" is not a git tag, branch or commit fit for a release: it contains a space"]],
    ["a version with \"..\"", { "release:version": "v1..v2" }, ["release:version \"v1..v2\" is not a git tag, branch or commit fit for a release: it contains \"..\""]],
    ["a version starting with \"-\"", { "release:version": "-rf" }, ["release:version \"-rf\" is not a git tag, branch or commit fit for a release: it starts with \"-\""]],
    ["a version with a control character", { "release:version": "v1\u0007" }, ["contains a space or a control character"]],
    ["a version with shell or glob characters", { "release:version": "v1;rm*" }, ["contains one of ~ ^ : ? * [ \\"]],
    ["a version ending with \".lock\"", { "release:version": "main.lock" }, ["has a component starting with \".\" or ending with \".lock\""]],
    ["a version with an empty path component", { "release:version": "feature//x" }, ["has an empty path component"]],
    ["a version with \"@{\"", { "release:version": "main@{1}" }, ["contains \"@{\""]],
    ["a branch with \"/\" (release directories are named after the version)", { "release:version": "feature/new-checkout" }, ["release:version \"feature/new-checkout\" is not a git tag, branch or commit fit for a release: it contains \"/\": each release is checked out into a directory named after it"]],
    ["a surge of zero", { "release:maxSurge": "0" }, ["release:maxSurge \"0\" must be a whole number from 1 to 1000"]],
    ["a surge percentage above 100%", { "release:maxSurge": "150%" }, ["release:maxSurge \"150%\" must be a whole number from 1 to 1000 (\"2\") or a percentage above 0% and at most 100%"]],
    ["an unknown migration policy", { "release:migrationPolicy": "yolo" }, ["release:migrationPolicy \"yolo\" must be one of refuse, maintenance, allow"]],
    ["an unknown transport", { "release:transport": "telnet" }, ["release:transport \"telnet\" must be one of ssm, ssh"]],
    ["the ssh transport without its settings", { "release:transport": "ssh" }, ["release:sshHost is required when release:transport is ssh", "release:sshPrivateKey is required", "release:sshHostKey is required"]],
    ["a host key that is not a SHA256 fingerprint", { "release:sshHostKey": "MD5:aa:bb" }, ["release:sshHostKey \"MD5:aa:bb\" must be a SHA256 fingerprint"]],
    ["a private key that is not a key (value not echoed)", { "release:sshPrivateKey": "hunter2" }, ["release:sshPrivateKey (secret) is not a PEM or OpenSSH private key"]],
    ["an SSH port out of range", { "release:sshPort": "70000" }, ["release:sshPort 70000 must be between 1 and 65535"]],
    ["an SSH user that is not a Unix name", { "release:sshUser": "Root!" }, ["release:sshUser \"Root!\" is not a Unix user name"]],
    ["an SSH host with a space", { "release:sshHost": "mgmt host" }, ["release:sshHost \"mgmt host\" is not a host name or IP address"]],
    ["a bake time-out shorter than a minute", { "release:bakeTimeout": "10" }, ["release:bakeTimeout 10 must be between 60 and 86400"]],
    ["a healthy time-out that is not a number", { "release:healthyTimeout": "soon" }, ["release:healthyTimeout \"soon\" is not a whole number"]],
    ["a drain time-out that is not a number", { "release:drainTimeout": "later" }, ["release:drainTimeout \"later\" is not a whole number"]],
    ["keeping no release image", { "release:keepImages": "0" }, ["release:keepImages 0 must be between 1 and 100"]],
    ["keeping fewer than two release directories", { "release:keepReleases": "1" }, ["release:keepReleases 1 must be between 2 and 100"]],
    ["an install command of several lines", { "release:installCommand": "pip install -r requirements.txt\nrm -rf /" }, ["release:installCommand \"pip install -r requirements.txt\\nrm -rf /\" must be one line"]],
];

describe("config: parseConfig", () => {
    describe("refuses, naming the key and the value", () => {
        for (const [title, settings, expected] of CASES) {
            it(title, () => {
                const problems = problemsOf(settings, title.startsWith("a stack name") ? "prod/eu" : "test");
                assert.strictEqual(problems.length, expected.length, `problems: ${JSON.stringify(problems)}`);
                for (const want of expected) assert.ok(problems.some((p) => p.includes(want)), `no problem mentions ${JSON.stringify(want)} in ${JSON.stringify(problems)}`);
            });
        }
    });

    it("lists every bad setting in one error", () => {
        const problems = problemsOf({ minSize: "5", maxSize: "3", desiredCapacity: "3", healthCheckPath: "health/", adminCidr: "10.0.0.0/33", instanceType: "huge", "release:maxSurge": "x" });
        // 6 problems: minSize > maxSize also puts desiredCapacity below minSize.
        assert.strictEqual(problems.length, 6, JSON.stringify(problems));
        for (const key of ["minSize (5) > maxSize (3)", "healthCheckPath \"health/\"", "adminCidr \"10.0.0.0/33\"", "instanceType \"huge\"", "release:maxSurge \"x\""]) {
            assert.ok(problems.some((p) => p.includes(key)), key);
        }
    });

    it("never echoes a secret value in an error", () => {
        const secret = "pa ss@word-that-is-long";
        try {
            parseConfig({ ...BASE, "django-fleet:dbPassword": secret, "release:sshPrivateKey": "not-a-key-material-123" }, "test");
            assert.fail("expected a ConfigError");
        } catch (e) {
            assert.ok(e instanceof ConfigError);
            assert.ok(!e.message.includes(secret) && !e.message.includes("not-a-key-material-123"), e.message);
        }
    });

    it("applies the documented defaults when only the required key is set", () => {
        const { project, release } = parseConfig({ ...BASE }, "staging");
        assert.strictEqual(project.plainHttpOrigin, true, "BASE opts in: no certificate on these stacks");
        for (const [key, spec] of Object.entries(PROJECT_SETTINGS) as [keyof typeof project, { default?: unknown }][]) {
            if (spec.default !== undefined && key !== "plainHttpOrigin") assert.deepStrictEqual(project[key], spec.default, key);
        }
        assert.strictEqual(project.parameterPrefix, "/django-fleet/staging");
        assert.strictEqual(project.managementInstanceType, "t3.small");
        assert.strictEqual(project.architecture, "x86_64");
        assert.strictEqual(project.existingVpc, undefined);
        assert.strictEqual(release.version, undefined, "no release until release:version is set");
        assert.deepStrictEqual(release.maxSurge, { kind: "count", value: 1 });
        assert.strictEqual(release.migrationPolicy, RELEASE_SETTINGS.migrationPolicy.default);
        assert.strictEqual(release.transport, "ssm");
        assert.strictEqual(release.ssh, undefined);
        assert.strictEqual(release.installCommand, RELEASE_SETTINGS.installCommand.default);
        for (const [key, value] of Object.entries(RELEASE_DEFAULTS)) {
            // maxSurge is parsed ({ kind, value }); the ssh* settings are grouped under release.ssh.
            if (key !== "maxSurge" && !key.startsWith("ssh")) assert.deepStrictEqual((release as Record<string, unknown>)[key], value, `release:${key}`);
        }
    });

    it("accepts the prod and staging stack files as the Pulumi CLI hands them over", () => {
        const prod = parseConfig(stackConfig("prod"), "prod");
        assert.strictEqual(prod.project.domainName, "www.example.com");
        assert.strictEqual(prod.project.availabilityZoneCount, 3);
        assert.strictEqual(prod.project.dbMultiAz, true);
        assert.deepStrictEqual(prod.release.maxSurge, { kind: "percent", value: 50 });
        const staging = parseConfig(stackConfig("staging"), "staging");
        assert.strictEqual(staging.project.natGateways, "single");
        assert.strictEqual(staging.project.architecture, "arm64");
        assert.strictEqual(staging.project.deletionProtection, false);
        assert.ok(staging.project.maxSize < prod.project.maxSize, "staging is smaller");
    });

    it("reads an existing VPC's subnets as a JSON list or a comma-separated list", () => {
        const { project } = parseConfig({
            ...BASE,
            "django-fleet:vpcId": "vpc-0123456789abcdef0",
            "django-fleet:publicSubnetIds": "[\"subnet-0aaaaaaaaaaaaaaa1\", \"subnet-0aaaaaaaaaaaaaaa2\"]",
            "django-fleet:privateSubnetIds": "subnet-0bbbbbbbbbbbbbbb1, subnet-0bbbbbbbbbbbbbbb2",
        }, "test");
        assert.deepStrictEqual(project.existingVpc, {
            vpcId: "vpc-0123456789abcdef0",
            publicSubnetIds: ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
            privateSubnetIds: ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
        });
    });

    it("accepts the ssh transport with host, key and pinned host key", () => {
        const { release } = parseConfig({
            ...BASE,
            "release:transport": "ssh",
            "release:sshHost": "10.0.128.10",
            "release:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
            "release:sshHostKey": "SHA256:" + "A".repeat(43),
        }, "test");
        assert.deepStrictEqual(
            { ...release.ssh, privateKey: "(elided)" },
            { host: "10.0.128.10", port: 22, user: "deploy", privateKey: "(elided)", hostKeySha256: "SHA256:" + "A".repeat(43) },
        );
    });

    it("accepts tags, branches and commit ids as release:version (the same rule as the remote phase)", () => {
        for (const version of ["v1.4.0", "main", "feature-new-checkout", "release-2026.11", "3f2a9c1", "0123456789abcdef0123456789abcdef01234567"]) {
            assert.strictEqual(gitRefProblem(version), null, version);
            assert.strictEqual(parseConfig({ ...BASE, "release:version": version }, "test").release.version, version);
            assert.doesNotThrow(() => validateVersion(version), version);
        }
        for (const version of ["feature/new-checkout", "v1..v2", "-rf", "v1 .0"]) {
            assert.throws(() => parseConfig({ ...BASE, "release:version": version }, "test"), ConfigError, version);
            assert.throws(() => validateVersion(version), /Invalid version/, version);
        }
    });

    it("reads maxSurge as a count or a percentage (decimals allowed, as the Release's planner reads it)", () => {
        assert.deepStrictEqual(parseConfig({ ...BASE, "release:maxSurge": "2" }, "t").release.maxSurge, { kind: "count", value: 2 });
        assert.deepStrictEqual(parseConfig({ ...BASE, "release:maxSurge": "12.5%" }, "t").release.maxSurge, { kind: "percent", value: 12.5 });
        assert.deepStrictEqual(parseConfig({ ...BASE, "release:maxSurge": "25%" }, "t").release.maxSurge, { kind: "percent", value: 25 });
        assert.deepStrictEqual(parseConfig({ ...BASE, "release:maxSurge": "100%" }, "t").release.maxSurge, { kind: "percent", value: 100 });
    });

    it("derives the CPU architecture from the instance family", () => {
        const cases: Record<string, string> = { "t3.small": "x86_64", "m7i-flex.large": "x86_64", "c5n.xlarge": "x86_64", "t4g.small": "arm64", "m7g.large": "arm64", "c6gn.2xlarge": "arm64", "m6gd.metal": "arm64", "a1.medium": "arm64" };
        for (const [type, arch] of Object.entries(cases)) assert.strictEqual(architectureOf(type), arch, type);
    });

    it("checks CIDRs strictly", () => {
        assert.deepStrictEqual(parseCidr("10.20.0.0/16"), { ok: { ip: 10 * 2 ** 24 + 20 * 2 ** 16, prefix: 16 } });
        assert.ok("error" in parseCidr("256.0.0.0/8"));
        assert.ok("error" in parseCidr("10.0.0.0"));
        assert.ok("error" in parseCidr("10.0.0.0/-1"));
    });
});
