/**
 * Value checks the type alone does not express, one per setting that needs one, keyed by the
 * setting's name (a key that is not in the schema is a type error). Each returns null when the
 * value is fine, or the text that follows the setting's name and value in the error.
 * Cross-field rules are in rules.ts.
 */
import * as ec2Enums from "@pulumi/aws/types/enums/ec2";
import * as rdsEnums from "@pulumi/aws/types/enums/rds";
import { APP_DIR } from "../components/userData";
import { versionProblem } from "../providers/release/version";
import { APP_DB_USER, RDS_CA_BUNDLE } from "../components/databaseUser";
import type { ProjectKey, ReleaseKey } from "./schema";

export type Architecture = "x86_64" | "arm64";

/** "t4g.small" -> arm64, "m6i.large" -> x86_64 (Graviton families carry a "g" after the generation). */
export function architectureOf(instanceType: string): Architecture {
    const family = instanceType.split(".")[0];
    return family === "a1" || /^[a-z]+[0-9]+g[a-z0-9]*(-flex)?$/.test(family) ? "arm64" : "x86_64";
}

/** The EC2 instance types @pulumi/aws knows (its ec2.InstanceType enum, generated from AWS's API). */
export const EC2_INSTANCE_TYPES: ReadonlySet<string> = new Set(Object.values(ec2Enums.InstanceType));
/**
 * RDS instance classes: @pulumi/aws's rds.InstanceType enum, or "db." + an EC2 type it knows
 * (the RDS enum lags behind: it has no db.m7g.*; every class it lists is db.<an EC2 type>).
 */
export function knownDbInstanceClass(value: string): boolean {
    return (Object.values(rdsEnums.InstanceType) as string[]).includes(value) || (value.startsWith("db.") && EC2_INSTANCE_TYPES.has(value.slice(3)));
}

/** git check-ref-format rules for a tag or branch name, plus commit ids; null when valid. */
export function gitRefProblem(ref: string): string | null {
    if (ref.length === 0) return "is empty";
    if (ref.length > 255) return "is longer than 255 characters";
    if (/[\x00-\x20\x7f]/.test(ref)) return "contains a space or a control character";
    if (/[~^:?*[\\]/.test(ref)) return "contains one of ~ ^ : ? * [ \\";
    if (ref.startsWith("-")) return "starts with \"-\"";
    if (ref.includes("..")) return "contains \"..\"";
    if (ref.includes("@{") || ref === "@") return "contains \"@{\" or is \"@\"";
    if (ref.startsWith("/") || ref.endsWith("/") || ref.includes("//")) return "has an empty path component (leading, trailing or double \"/\")";
    if (ref.endsWith(".")) return "ends with \".\"";
    if (ref.split("/").some((c) => c.startsWith(".") || c.endsWith(".lock"))) return "has a component starting with \".\" or ending with \".lock\"";
    return null;
}

export const ACM_ARN = /^arn:aws[a-z-]*:acm:([a-z]{2}(-[a-z]+)+-\d):\d{12}:certificate\/[A-Za-z0-9-]+$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ABSOLUTE_PATH = /^\/[A-Za-z0-9._\/-]*$/;
const PG_IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/**
 * Directories an EFS mount must not cover, be inside of, or contain: the operating system's,
 * the runtime's (/run holds the app's env file), the users' homes (the deploy user's keys),
 * and the app directory (releases/, current, the venvs; baked into every release AMI).
 */
export const PROTECTED_DIRS = [
    "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run", "/sbin", "/sys", "/tmp", "/usr",
    "/var/backups", "/var/cache", "/var/lib", "/var/local", "/var/lock", "/var/log", "/var/mail", "/var/opt", "/var/run", "/var/spool", "/var/tmp",
    APP_DIR,
];

function staticRootProblem(v: string): string | null {
    if (!ABSOLUTE_PATH.test(v) || v === "/" || v.includes("..") || v.includes("//")) {
        return "must be an absolute directory path other than \"/\" (letters, digits, . _ - /)";
    }
    const path = v.replace(/\/+$/, "");
    const under = (dir: string, parent: string) => dir === parent || dir.startsWith(parent + "/");
    for (const dir of PROTECTED_DIRS) {
        if (under(path, dir) || under(dir, path)) {
            const what = dir === APP_DIR ? `the app directory ${APP_DIR}` : `the system directory ${dir}`;
            const where = path === dir ? "is" : under(path, dir) ? "is inside" : "contains";
            return `${where} ${what}: the EFS file system would be mounted over it and chowned to the app user`;
        }
    }
    return null;
}

/** The inspection's read-only URL: PostgreSQL, with a user, password, host and name, verified TLS. Never echoes the URL. */
function inspectDatabaseUrlProblem(v: string): string | null {
    // URL() drops tabs and newlines; the env file written from it must get one line.
    if (/[\s\x00-\x1f\x7f]/.test(v)) return "must be one line without spaces or control characters (percent-encode them)";
    let u: URL;
    try {
        u = new URL(v);
    } catch {
        return "is not a URL: give postgres://<read-only role>:<password>@<database host>:5432/<name>?sslmode=verify-full&sslrootcert=" + RDS_CA_BUNDLE;
    }
    if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") return `has the scheme ${u.protocol.replace(/:$/, "")}: it must be postgres:// (the stack's database is PostgreSQL)`;
    if (!u.username || !u.password || !u.hostname || u.pathname.length < 2) return "must name a user, a password, a host and a database: postgres://<role>:<password>@<host>:5432/<name>";
    if (decodeURIComponent(u.username) === APP_DB_USER) return `names the app's own role ${APP_DB_USER}: the inspection needs a read-only role (SELECT on django_migrations only)`;
    if (u.searchParams.get("sslmode") !== "verify-full" || !u.searchParams.get("sslrootcert")) {
        return `must verify the database's certificate: end it with ?sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE}`;
    }
    return null;
}

type Check = (value: string) => string | null;
const instanceType: Check = (v) => (EC2_INSTANCE_TYPES.has(v) ? null : "is not an EC2 instance type @pulumi/aws knows, like t3.small or m7g.large");

export const PROJECT_CHECKS: { readonly [K in ProjectKey]?: Check } = {
    repositoryUrl: (v) => (/^(https:\/\/\S+|ssh:\/\/\S+|file:\/\/\/\S+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+)$/.test(v) ? null : "must be an https://, ssh://, git@host:path or file:/// git URL"),
    vpcId: (v) => (/^vpc-[0-9a-f]{8,17}$/.test(v) ? null : "is not a VPC id like vpc-0123456789abcdef0"),
    publicSubnetIds: (v) => (/^subnet-[0-9a-f]{8,17}$/.test(v) ? null : "is not a subnet id like subnet-0123456789abcdef0"),
    privateSubnetIds: (v) => (/^subnet-[0-9a-f]{8,17}$/.test(v) ? null : "is not a subnet id like subnet-0123456789abcdef0"),
    instanceType,
    managementInstanceType: instanceType,
    baseAmiId: (v) => (/^ami-[0-9a-f]{8,17}$/.test(v) ? null : "is not an AMI id like ami-0123456789abcdef0"),
    keyName: (v) => (/^[\x20-\x7e]{1,255}$/.test(v) ? null : "is not a key pair name (printable ASCII, at most 255 characters)"),
    wsgiApplication: (v) => (/^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.()]*$/.test(v) ? null : "must be module:attribute, like config.wsgi:application"),
    djangoSettingsModule: (v) => (/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(v) ? null : "must be a dotted Python module path, like config.settings.production"),
    celeryApp: (v) => (/^[A-Za-z_][A-Za-z0-9_.:]*$/.test(v) ? null : "must be a Python module path, like config.celery"),
    staticRoot: staticRootProblem,
    staticUrl: (v) => (/^\/[A-Za-z0-9._\/-]+\/$/.test(v) && !v.includes("//") ? null : "must start and end with \"/\" and not be \"/\", like /static/"),
    healthCheckPath: (v) => (!v.startsWith("/") ? "must start with \"/\"" : /^\/[\x21-\x7e]{0,1023}$/.test(v) ? null : "must be a URL path without spaces, at most 1024 characters"),
    certificateArn: (v) => (ACM_ARN.test(v) ? null : "is not an ACM certificate ARN"),
    domainName: (v) => (HOSTNAME.test(v.toLowerCase()) ? null : "is not a host name like www.example.com"),
    cdnCertificateArn: (v) => {
        const m = ACM_ARN.exec(v);
        if (!m) return "is not an ACM certificate ARN";
        return m[1] === "us-east-1" ? null : `is in ${m[1]}: CloudFront only uses certificates from us-east-1`;
    },
    dbInstanceClass: (v) => (knownDbInstanceClass(v) ? null : "is not an RDS instance class @pulumi/aws knows, like db.t4g.micro or db.m7g.large"),
    dbName: (v) => (PG_IDENTIFIER.test(v) ? null : "must start with a letter and hold only letters, digits and _ (at most 63)"),
    dbUsername: (v) => (!PG_IDENTIFIER.test(v) ? "must start with a letter and hold only letters, digits and _ (at most 63)"
        : ["postgres", "rdsadmin", "admin", "public"].includes(v.toLowerCase()) ? "is reserved by RDS PostgreSQL"
        : v.toLowerCase() === APP_DB_USER ? "is the app's own database role (the app never connects as the master user): choose another master user name" : null),
    // Written unquoted into the instances' env file (systemd, shell, Python) and accepted by RDS.
    // Printed by the git credential helper as "password=<token>": one line, no spaces.
    repositoryToken: (v) => (/^[\x21-\x7e]+$/.test(v) ? null : "must be one line of printable characters without spaces (the git credential helper prints it as one field)"),
    inspectDatabaseUrl: inspectDatabaseUrlProblem,
    dbPassword: (v) => (/^[A-Za-z0-9._+,=-]+$/.test(v) ? null : "may hold only letters, digits and - _ . + , = (it is written unquoted into the instances' env file)"),
};

export const RELEASE_CHECKS: { readonly [K in ReleaseKey]?: Check } = {
    version: (v) => {
        const why = gitRefProblem(v) ?? versionProblem(v);
        return why ? `is not a git tag, branch or commit fit for a release: it ${why}` : null;
    },
    sshHost: (v) => (/^[A-Za-z0-9.:-]{1,253}$/.test(v) ? null : "is not a host name or IP address"),
    sshUser: (v) => (/^[a-z_][a-z0-9_-]{0,31}$/.test(v) ? null : "is not a Unix user name"),
    sshHostKey: (v) => (/^SHA256:[A-Za-z0-9+\/]{43}=?$/.test(v) ? null : "must be a SHA256 fingerprint like SHA256:<43 base64 characters>, as ssh-keygen -lf prints it"),
    sshPrivateKey: (v) => (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v) ? null : "is not a PEM or OpenSSH private key (no BEGIN ... PRIVATE KEY line)"),
    installCommand: (v) => (/[\x00-\x08\x0a-\x1f\x7f]/.test(v) ? "must be one line without control characters" : null),
};
