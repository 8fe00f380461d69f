/**
 * Issue 10, finding 8: values the config used to accept that are dangerous (SSH open to half
 * the internet, EFS mounted over a system or app directory, a public VPC range) or impossible
 * (instance types, DB classes and PostgreSQL versions that do not exist: 75 resources were
 * created before AWS refused them), and empty strings silently taking the default. Each is now
 * refused before anything is created, with an error naming the key and the value.
 */
import * as assert from "assert";
import { ConfigError, parseConfig } from "../../config";

// plainHttpOrigin: a minimal stack without a certificate must opt in to plain HTTP to the origin.
const BASE = { "django-fleet:repositoryUrl": "https://github.com/example-org/mysite.git", "django-fleet:plainHttpOrigin": "true" };

function problemsOf(settings: Record<string, string>): string[] {
    const raw: Record<string, string> = { ...BASE };
    for (const [k, v] of Object.entries(settings)) raw[k.includes(":") ? k : `django-fleet:${k}`] = v;
    try {
        parseConfig(raw, "test");
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
    return [];
}

function refused(key: string, value: string, why: RegExp): void {
    const problems = problemsOf({ [key]: value });
    assert.strictEqual(problems.length, 1, `${key}=${JSON.stringify(value)}: ${JSON.stringify(problems)}`);
    assert.ok(problems[0].startsWith(`${key} ${JSON.stringify(value)} `), `names the key and the value: ${problems[0]}`);
    assert.match(problems[0], why);
}

function accepted(key: string, value: string): void {
    assert.deepStrictEqual(problemsOf({ [key]: value }), [], `${key}=${value}`);
}

describe("config: dangerous or impossible values (issue 10, finding 8)", () => {
    it("refuses an adminCidr wider than /8 (0.0.0.0/1 is half the internet), accepts a VPN range", () => {
        for (const v of ["0.0.0.0/1", "128.0.0.0/1", "0.0.0.0/4", "8.0.0.0/7"]) refused("adminCidr", v, /must have a prefix between \/8 and \/32/);
        for (const v of ["10.0.0.0/8", "203.0.113.0/24", "198.51.100.7/32"]) accepted("adminCidr", v);
    });

    it("refuses a staticRoot that is, is inside or contains a system directory or the app directory", () => {
        for (const v of ["/etc", "/etc/static", "/usr/share/static", "/run/django-app", "/var", "/var/lib/static", "/home/static", "/tmp/static", "/boot"]) {
            refused("staticRoot", v, /system directory .*: the EFS file system would be mounted over it/);
        }
        for (const v of ["/srv/app", "/srv/app/static", "/srv", "/srv/"]) refused("staticRoot", v, /the app directory \/srv\/app: the EFS file system would be mounted over it/);
        for (const v of ["/srv/static", "/var/www/static", "/mnt/static", "/srv/app-static"]) accepted("staticRoot", v);
    });

    it("refuses a vpcCidr outside the RFC 1918 private ranges", () => {
        for (const v of ["8.8.0.0/16", "172.32.0.0/16", "192.169.0.0/16", "100.64.0.0/16", "11.0.0.0/16"]) refused("vpcCidr", v, /is not a private range: it must lie inside 10\.0\.0\.0\/8, 172\.16\.0\.0\/12, 192\.168\.0\.0\/16 \(RFC 1918\)/);
        for (const v of ["10.0.0.0/16", "172.16.0.0/16", "172.31.0.0/20", "192.168.0.0/16"]) accepted("vpcCidr", v);
    });

    it("refuses instance types, DB instance classes and PostgreSQL versions that do not exist (from @pulumi/aws's enums)", () => {
        refused("instanceType", "zz9g.small", /is not an EC2 instance type @pulumi\/aws knows/);
        refused("instanceType", "t3.huge", /is not an EC2 instance type @pulumi\/aws knows/);
        refused("managementInstanceType", "zz9g.small", /is not an EC2 instance type @pulumi\/aws knows/);
        refused("dbInstanceClass", "db.zz9.micro", /is not an RDS instance class @pulumi\/aws knows/);
        refused("dbInstanceClass", "db.t4g.mega", /is not an RDS instance class @pulumi\/aws knows/);
        refused("dbEngineVersion", "99", /must be a PostgreSQL version from 13 to 18/);
        refused("dbEngineVersion", "19", /must be a PostgreSQL version from 13 to 18/);
        for (const v of ["t3.small", "t4g.small", "m7g.large", "m7i-flex.large", "c6gn.2xlarge"]) accepted("instanceType", v);
        // db.m7g.large is not in @pulumi/aws's RDS enum, which lags; it is db. + an EC2 type the EC2 enum has.
        for (const v of ["db.t4g.micro", "db.m7g.large", "db.r6g.xlarge", "db.t3.micro"]) accepted("dbInstanceClass", v);
        for (const v of ["13", "16", "16.4", "18"]) accepted("dbEngineVersion", v);
    });

    it("refuses an empty or blank value instead of silently taking the default", () => {
        for (const [key, value] of [["instanceType", ""], ["staticRoot", "   "], ["release:maxSurge", ""], ["release:version", " "], ["repositoryUrl", ""]]) {
            refused(key, value, /is empty: give it a value, or remove it \(pulumi config rm /);
        }
        assert.match(problemsOf({ instanceType: "" })[0], /for the default "t3\.small"/);
        assert.strictEqual(problemsOf({ vpcId: "vpc-0123456789abcdef0", publicSubnetIds: "", privateSubnetIds: "subnet-0bbbbbbbbbbbbbbb1,subnet-0bbbbbbbbbbbbbbb2" }).join("\n"),
            "publicSubnetIds \"\" is empty: give it a value, or remove it (pulumi config rm publicSubnetIds)");
        // A secret's value is never echoed, not even a blank one.
        const [secret] = problemsOf({ dbPassword: "  " });
        assert.strictEqual(secret, "dbPassword (secret) is empty: give it a value, or remove it (pulumi config rm dbPassword)");
    });
});
