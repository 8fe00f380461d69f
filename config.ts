/**
 * Stack settings: the tables that document them and a pure parser that validates them.
 *
 * Two namespaces:
 *  - `django-fleet:*` (the project's own): declared with type, description and default in
 *    Pulumi.yaml; PROJECT_SETTINGS below mirrors that block (a test keeps them equal).
 *  - `release:*`: Pulumi refuses `type`/`default` on keys outside the project namespace in
 *    Pulumi.yaml, so RELEASE_SETTINGS is their single source (docs, defaults, validation).
 *
 * parseConfig() never touches Pulumi: it takes the raw strings and returns typed settings, or
 * throws one ConfigError listing every bad setting with its key and value. index.ts is the only
 * caller that reads the real stack config.
 */
import { versionProblem } from "./providers/release/version";
import { repositoryUrlCredentialProblem } from "./providers/release/remote/commands";

export const PROJECT = "django-fleet";
export const RELEASE_NAMESPACE = "release";

export type SettingType = "string" | "integer" | "boolean" | "array";

export interface SettingSpec {
    readonly type: SettingType;
    readonly description: string;
    /** Absent: no default (the setting is optional unless `required`). */
    readonly default?: string | number | boolean | string[];
    readonly required?: boolean;
    readonly secret?: boolean;
}

/** Mirrors Pulumi.yaml's `config:` block (test/config/pulumi-yaml.spec.ts keeps them in step). */
export const PROJECT_SETTINGS = {
    repositoryUrl: { type: "string", required: true, description: "Git URL of the Django app (https://, ssh://, git@host:path or file://). Required." },
    vpcCidr: { type: "string", default: "10.0.0.0/16", description: "CIDR of the VPC the stack creates (prefix /16 to /24); ignored with vpcId." },
    availabilityZoneCount: { type: "integer", default: 2, description: "Availability zones the created VPC spans (2 to 6), one public and one private subnet in each." },
    natGateways: { type: "string", default: "one-per-az", description: "NAT gateways for the private subnets: one-per-az (survives an AZ outage) or single (cheaper)." },
    vpcId: { type: "string", description: "Existing VPC to use instead of creating one; requires publicSubnetIds and privateSubnetIds." },
    publicSubnetIds: { type: "array", description: "Existing public subnets (>= 2 AZs) for the load balancer; with vpcId." },
    privateSubnetIds: { type: "array", description: "Existing private subnets with NAT egress (>= 2 AZs) for instances, EFS and the database; with vpcId." },
    instanceType: { type: "string", default: "t3.small", description: "EC2 instance type of the web fleet (and of the management instance unless managementInstanceType is set)." },
    managementInstanceType: { type: "string", description: "EC2 instance type of the management instance; defaults to instanceType (same CPU architecture required)." },
    minSize: { type: "integer", default: 2, description: "Minimum web instances; applied to the auto-scaling group by the release, not by Pulumi." },
    maxSize: { type: "integer", default: 4, description: "Maximum web instances (a release may raise it for a moment during a ramp)." },
    desiredCapacity: { type: "integer", default: 2, description: "Web instances a release brings the fleet to when the group is empty; later releases keep the current capacity." },
    healthCheckGracePeriod: { type: "integer", default: 300, description: "Seconds the auto-scaling group ignores failed ELB health checks of a new instance." },
    rootVolumeSize: { type: "integer", default: 20, description: "Root EBS volume size in GiB (gp3, encrypted)." },
    baseAmiId: { type: "string", description: "AMI of the first boot (before any release); defaults to the latest official Debian 12 image for the instance architecture." },
    keyName: { type: "string", description: "EC2 key pair installed on the instances (for SSH; SSM needs none)." },
    adminCidr: { type: "string", description: "IPv4 CIDR allowed to SSH (22) to the instances; no SSH ingress when unset. 0.0.0.0/0 is refused." },
    appPort: { type: "integer", default: 8000, description: "Port gunicorn listens on; the load balancer forwards to it (1024-65535)." },
    wsgiApplication: { type: "string", default: "config.wsgi:application", description: "WSGI callable gunicorn serves, as module:attribute." },
    djangoSettingsModule: { type: "string", description: "DJANGO_SETTINGS_MODULE for the app; the app's own default when unset." },
    gunicornWorkers: { type: "integer", default: 3, description: "gunicorn worker processes per instance." },
    celeryApp: { type: "string", description: "Celery app (celery -A value); when set, celery beat runs on the management instance only." },
    staticRoot: { type: "string", default: "/srv/static", description: "STATIC_ROOT: where the shared EFS file system is mounted (over TLS) on every instance." },
    staticUrl: { type: "string", default: "/static/", description: "STATIC_URL: the CDN caches this path prefix long." },
    healthCheckPath: { type: "string", default: "/health/", description: "Path of the Django health view the target group checks (must answer 200)." },
    deregistrationDelay: { type: "integer", default: 30, description: "Seconds the load balancer drains an instance before it is removed (0-3600)." },
    certificateArn: { type: "string", description: "ACM certificate (in the stack's region) covering domainName: enables HTTPS on the load balancer (HTTP redirects) and HTTPS from CloudFront to it." },
    albIngress: { type: "string", default: "cloudfront", description: "Who may reach the load balancer: cloudfront (CloudFront origin-facing prefix list on the origin port, and only requests carrying this distribution's secret X-Origin-Verify header are served) or internet (0.0.0.0/0 on 80 and 443)." },
    domainName: { type: "string", description: "Public host name of the site (CloudFront alias); requires cdnCertificateArn. The CloudFront domain is used when unset." },
    cdnCertificateArn: { type: "string", description: "ACM certificate in us-east-1 covering domainName, for CloudFront." },
    cdnPriceClass: { type: "string", default: "PriceClass_100", description: "CloudFront price class: PriceClass_100, PriceClass_200 or PriceClass_All." },
    dbInstanceClass: { type: "string", default: "db.t4g.micro", description: "RDS instance class of the PostgreSQL database." },
    dbEngineVersion: { type: "string", default: "16", description: "PostgreSQL major (or major.minor) version." },
    dbAllocatedStorage: { type: "integer", default: 20, description: "Initial database storage in GiB (gp3, encrypted)." },
    dbMaxAllocatedStorage: { type: "integer", default: 100, description: "Storage autoscaling ceiling in GiB (>= dbAllocatedStorage)." },
    dbName: { type: "string", default: "django", description: "Database name." },
    dbUsername: { type: "string", default: "django", description: "Database master user name." },
    dbPassword: { type: "string", secret: true, description: "Database password (set with --secret; 16-128 letters, digits or - _ . + , =); generated and kept in the stack state when unset." },
    dbMultiAz: { type: "boolean", default: false, description: "Run the database as a Multi-AZ deployment." },
    dbBackupRetentionDays: { type: "integer", default: 7, description: "Days of automated database backups (1-35)." },
    deletionProtection: { type: "boolean", default: true, description: "Protect the database from deletion and keep a final snapshot; turn off only for throw-away stacks." },
} as const satisfies Record<string, SettingSpec>;

/**
 * The `release:*` settings. They cannot be declared in Pulumi.yaml (not the project's namespace),
 * so this table is their documentation and their defaults.
 */
export const RELEASE_SETTINGS = {
    version: { type: "string", description: "Git tag, branch or commit of the app to release; no release while unset." },
    maxSurge: { type: "string", default: "1", description: "Extra instances per ramp wave: a count (\"1\") or a share of the fleet (\"25%\")." },
    migrationPolicy: { type: "string", default: "refuse", description: "Breaking or unknown migrations: refuse, maintenance (maintenance page during the release) or allow." },
    transport: { type: "string", default: "ssm", description: "How the release reaches the management instance: ssm (Run Command) or ssh." },
    sshHost: { type: "string", description: "Host (or IP) of the management instance for ssh; required with transport ssh." },
    sshPort: { type: "integer", default: 22, description: "SSH port of the management instance." },
    sshUser: { type: "string", default: "deploy", description: "SSH user on the management instance." },
    sshPrivateKey: { type: "string", secret: true, description: "SSH private key (set with --secret); required with transport ssh." },
    sshHostKey: { type: "string", description: "Pinned host key fingerprint, \"SHA256:...\" as ssh-keygen -lf prints it; required with transport ssh." },
    bakeTimeout: { type: "integer", default: 3600, description: "Seconds to wait for the release AMI to become available." },
    healthyTimeout: { type: "integer", default: 900, description: "Seconds to wait for new instances to be healthy in the target group, per wave." },
    drainTimeout: { type: "integer", default: 600, description: "Seconds allowed, beyond the target group's deregistration delay, for old instances to drain." },
    keepImages: { type: "integer", default: 3, description: "Release AMIs (and snapshots) kept for rollback; older ones are deleted." },
    installCommand: { type: "string", default: "venv/bin/pip install -r requirements.txt", description: "Installs the app's dependencies, run inside the release directory." },
    keepReleases: { type: "integer", default: 5, description: "Release directories kept on the management instance (>= 2)." },
} as const satisfies Record<string, SettingSpec>;

export type ProjectKey = keyof typeof PROJECT_SETTINGS;
export type ReleaseKey = keyof typeof RELEASE_SETTINGS;

export type Architecture = "x86_64" | "arm64";

/** Validated project settings, one field per PROJECT_SETTINGS key (plus what is derived from them). */
export interface ProjectSettings {
    readonly stack: string;
    /** SSM Parameter Store prefix of the stack's app settings: /django-fleet/<stack>. */
    readonly parameterPrefix: string;
    readonly repositoryUrl: string;
    readonly vpcCidr: string;
    readonly availabilityZoneCount: number;
    readonly natGateways: "one-per-az" | "single";
    readonly existingVpc?: { readonly vpcId: string; readonly publicSubnetIds: string[]; readonly privateSubnetIds: string[] };
    readonly instanceType: string;
    readonly managementInstanceType: string;
    readonly architecture: Architecture;
    readonly minSize: number;
    readonly maxSize: number;
    readonly desiredCapacity: number;
    readonly healthCheckGracePeriod: number;
    readonly rootVolumeSize: number;
    readonly baseAmiId?: string;
    readonly keyName?: string;
    readonly adminCidr?: string;
    readonly appPort: number;
    readonly wsgiApplication: string;
    readonly djangoSettingsModule?: string;
    readonly gunicornWorkers: number;
    readonly celeryApp?: string;
    readonly staticRoot: string;
    readonly staticUrl: string;
    readonly healthCheckPath: string;
    readonly deregistrationDelay: number;
    readonly certificateArn?: string;
    readonly albIngress: "cloudfront" | "internet";
    readonly domainName?: string;
    readonly cdnCertificateArn?: string;
    readonly cdnPriceClass: "PriceClass_100" | "PriceClass_200" | "PriceClass_All";
    readonly dbInstanceClass: string;
    readonly dbEngineVersion: string;
    readonly dbAllocatedStorage: number;
    readonly dbMaxAllocatedStorage: number;
    readonly dbName: string;
    readonly dbUsername: string;
    /** Plain here; index.ts wraps it in pulumi.secret before any resource sees it. */
    readonly dbPassword?: string;
    readonly dbMultiAz: boolean;
    readonly dbBackupRetentionDays: number;
    readonly deletionProtection: boolean;
}

export type MaxSurge = { readonly kind: "count"; readonly value: number } | { readonly kind: "percent"; readonly value: number };

export interface ReleaseSettings {
    /** Absent: no release yet (the fleet stays at zero instances). */
    readonly version?: string;
    readonly maxSurge: MaxSurge;
    readonly migrationPolicy: "refuse" | "maintenance" | "allow";
    readonly transport: "ssm" | "ssh";
    readonly ssh?: { readonly host: string; readonly port: number; readonly user: string; readonly privateKey: string; readonly hostKeySha256: string };
    readonly bakeTimeout: number;
    readonly healthyTimeout: number;
    readonly drainTimeout: number;
    readonly keepImages: number;
    readonly installCommand: string;
    readonly keepReleases: number;
}

export interface StackSettings {
    readonly project: ProjectSettings;
    readonly release: ReleaseSettings;
}

/** One error for all bad settings; `problems` holds one line per setting. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

// ---------------------------------------------------------------------------------------
// Validators (pure, exported for the tests and for reuse).

const SIZES = "(nano|micro|small|medium|large|[0-9]*xlarge|metal(-[0-9]+xl)?)";
const INSTANCE_TYPE = new RegExp(`^[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.${SIZES}$`);
const DB_INSTANCE_CLASS = new RegExp(`^db\\.[a-z][a-z0-9-]*[0-9][a-z0-9-]*\\.${SIZES}$`);

/** "t4g.small" -> arm64, "m6i.large" -> x86_64 (Graviton families carry a "g" after the generation). */
export function architectureOf(instanceType: string): Architecture {
    const family = instanceType.split(".")[0];
    return family === "a1" || /^[a-z]+[0-9]+g[a-z0-9]*(-flex)?$/.test(family) ? "arm64" : "x86_64";
}

/** Parses an IPv4 CIDR; returns an error text or the parts. Host bits must be zero. */
export function checkCidr(value: string): { error: string } | { ip: number; prefix: number } {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
    if (!m) return { error: "is not an IPv4 CIDR like 203.0.113.0/24" };
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32) return { error: "is not an IPv4 CIDR like 203.0.113.0/24" };
    const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
    const size = 2 ** (32 - prefix);
    if (ip % size !== 0) {
        const base = ip - (ip % size);
        const canonical = [24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join(".");
        return { error: `has host bits set (did you mean ${canonical}/${prefix}?)` };
    }
    return { ip, prefix };
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

const ACM_ARN = /^arn:aws[a-z-]*:acm:([a-z]{2}(-[a-z]+)+-\d):\d{12}:certificate\/[A-Za-z0-9-]+$/;
const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ABSOLUTE_PATH = /^\/[A-Za-z0-9._\/-]*$/;

// ---------------------------------------------------------------------------------------

type Raw = Record<string, string | undefined>;

/**
 * Validates the raw stack config (keys "django-fleet:<name>" and "release:<name>", values as
 * Pulumi hands them to the program: strings, arrays as JSON) and returns typed settings.
 * Throws ConfigError listing every problem.
 */
export function parseConfig(raw: Raw, stack: string): StackSettings {
    const problems: string[] = [];
    const bad = (key: string, value: unknown, why: string) => problems.push(`${key} ${JSON.stringify(value)} ${why}`);

    // Unknown keys in our namespaces are almost always typos ("minsize"): refuse them.
    for (const full of Object.keys(raw)) {
        const [ns, ...rest] = full.split(":");
        const key = rest.join(":");
        if (ns === PROJECT && !(key in PROJECT_SETTINGS)) problems.push(`unknown setting ${full} (known: ${Object.keys(PROJECT_SETTINGS).join(", ")})`);
        if (ns === RELEASE_NAMESPACE && !(key in RELEASE_SETTINGS)) problems.push(`unknown setting ${full} (known: ${Object.keys(RELEASE_SETTINGS).join(", ")})`);
    }
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(stack)) bad("stack name", stack, "must be letters, digits, \"_\", \".\" or \"-\" (it names SSM parameters and resources)");

    const reader = (ns: string, table: Record<string, SettingSpec>, label: string) => {
        const name = (key: string) => label + key;
        const rawOf = (key: string): string | undefined => {
            const v = raw[`${ns}:${key}`];
            return v === undefined || v.trim() === "" ? undefined : v.trim();
        };
        const str = (key: string): string | undefined => {
            const v = rawOf(key);
            if (v !== undefined) return v;
            const d = table[key].default;
            if (d === undefined && table[key].required) problems.push(`${name(key)} is required (pulumi config set ${name(key)} <value>)`);
            return d === undefined ? undefined : String(d);
        };
        const int = (key: string, min: number, max: number): number => {
            const v = rawOf(key);
            const d = table[key].default as number;
            if (v === undefined) return d;
            if (!/^-?\d+$/.test(v)) {
                bad(name(key), v, "is not a whole number");
                return d;
            }
            const n = Number(v);
            if (n < min || n > max) bad(name(key), n, `must be between ${min} and ${max}`);
            return n;
        };
        const bool = (key: string): boolean => {
            const v = rawOf(key);
            if (v === undefined) return table[key].default as boolean;
            if (v === "true" || v === "false") return v === "true";
            bad(name(key), v, "must be true or false");
            return table[key].default as boolean;
        };
        const oneOf = <T extends string>(key: string, values: readonly T[]): T => {
            const v = str(key) as T;
            if (!values.includes(v)) bad(name(key), v, `must be one of ${values.join(", ")}`);
            return v;
        };
        /** undefined: unset; null: unparsable (already reported). */
        const list = (key: string): string[] | null | undefined => {
            const v = rawOf(key);
            if (v === undefined) return undefined;
            if (v.startsWith("[")) {
                try {
                    const arr = JSON.parse(v);
                    if (Array.isArray(arr) && arr.every((x) => typeof x === "string")) return arr.map((x: string) => x.trim());
                } catch {
                    /* reported below */
                }
                bad(name(key), v, "is not a list of strings");
                return null;
            }
            return v.split(",").map((x) => x.trim()).filter((x) => x !== "");
        };
        return { str, int, bool, oneOf, list, rawOf };
    };

    // --- project namespace ----------------------------------------------------------------
    const p = reader(PROJECT, PROJECT_SETTINGS, "");

    const repositoryUrl = p.str("repositoryUrl") ?? "";
    const urlCredential = repositoryUrl ? repositoryUrlCredentialProblem(repositoryUrl) : null; // the credential itself is not echoed
    if (urlCredential) problems.push(`repositoryUrl ${urlCredential}`);
    else if (repositoryUrl && !/^(https:\/\/\S+|ssh:\/\/\S+|file:\/\/\/\S+|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:\S+)$/.test(repositoryUrl)) {
        bad("repositoryUrl", repositoryUrl, "must be an https://, ssh://, git@host:path or file:/// git URL");
    }

    const vpcCidr = p.str("vpcCidr")!;
    const vpcCheck = checkCidr(vpcCidr);
    if ("error" in vpcCheck) bad("vpcCidr", vpcCidr, vpcCheck.error);
    else if (vpcCheck.prefix < 16 || vpcCheck.prefix > 24) bad("vpcCidr", vpcCidr, "must have a prefix between /16 and /24");
    const availabilityZoneCount = p.int("availabilityZoneCount", 2, 6);
    const natGateways = p.oneOf("natGateways", ["one-per-az", "single"] as const);

    const vpcId = p.str("vpcId");
    const publicSubnetIds = p.list("publicSubnetIds");
    const privateSubnetIds = p.list("privateSubnetIds");
    let existingVpc: ProjectSettings["existingVpc"];
    if (vpcId !== undefined || publicSubnetIds !== undefined || privateSubnetIds !== undefined) {
        if (vpcId === undefined) problems.push("vpcId is required when publicSubnetIds or privateSubnetIds are set");
        else if (!/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) bad("vpcId", vpcId, "is not a VPC id like vpc-0123456789abcdef0");
        for (const [key, ids] of [["publicSubnetIds", publicSubnetIds], ["privateSubnetIds", privateSubnetIds]] as const) {
            if (ids === undefined) problems.push(`${key} is required when vpcId is set`);
            else if (ids !== null) {
                if (ids.length < 2) bad(key, ids, "must list at least 2 subnets (in different availability zones)");
                for (const id of ids) if (!/^subnet-[0-9a-f]{8,17}$/.test(id)) bad(key, id, "is not a subnet id like subnet-0123456789abcdef0");
                if (new Set(ids).size !== ids.length) bad(key, ids, "lists a subnet twice");
            }
        }
        const shared = (publicSubnetIds ?? []).filter((id) => (privateSubnetIds ?? []).includes(id));
        if (shared.length > 0) bad("privateSubnetIds", shared, "are also listed in publicSubnetIds: instances and the database must not sit in public subnets");
        existingVpc = { vpcId: vpcId ?? "", publicSubnetIds: publicSubnetIds ?? [], privateSubnetIds: privateSubnetIds ?? [] };
    }

    const instanceType = p.str("instanceType")!;
    if (!INSTANCE_TYPE.test(instanceType)) bad("instanceType", instanceType, "is not an EC2 instance type like t3.small or m7g.large");
    const managementInstanceType = p.str("managementInstanceType") ?? instanceType;
    if (managementInstanceType === instanceType) {
        // Same type: already checked above.
    } else if (!INSTANCE_TYPE.test(managementInstanceType)) bad("managementInstanceType", managementInstanceType, "is not an EC2 instance type like t3.small or m7g.large");
    else if (INSTANCE_TYPE.test(instanceType) && architectureOf(managementInstanceType) !== architectureOf(instanceType)) {
        bad("managementInstanceType", managementInstanceType, `is ${architectureOf(managementInstanceType)} but instanceType ${instanceType} is ${architectureOf(instanceType)}: the release AMI is baked on the management instance`);
    }

    const minSize = p.int("minSize", 0, 1000);
    const maxSize = p.int("maxSize", 1, 1000);
    const desiredCapacity = p.int("desiredCapacity", 0, 1000);
    if (minSize > maxSize) problems.push(`minSize (${minSize}) > maxSize (${maxSize})`);
    if (desiredCapacity < minSize) problems.push(`desiredCapacity (${desiredCapacity}) < minSize (${minSize})`);
    if (desiredCapacity > maxSize) problems.push(`desiredCapacity (${desiredCapacity}) > maxSize (${maxSize})`);
    const healthCheckGracePeriod = p.int("healthCheckGracePeriod", 0, 7200);
    const rootVolumeSize = p.int("rootVolumeSize", 8, 16384);

    const baseAmiId = p.str("baseAmiId");
    if (baseAmiId !== undefined && !/^ami-[0-9a-f]{8,17}$/.test(baseAmiId)) bad("baseAmiId", baseAmiId, "is not an AMI id like ami-0123456789abcdef0");
    const keyName = p.str("keyName");
    if (keyName !== undefined && !/^[\x20-\x7e]{1,255}$/.test(keyName)) bad("keyName", keyName, "is not a key pair name (printable ASCII, at most 255 characters)");

    const adminCidr = p.str("adminCidr");
    if (adminCidr !== undefined) {
        const c = checkCidr(adminCidr);
        if ("error" in c) bad("adminCidr", adminCidr, c.error);
        else if (c.prefix === 0) bad("adminCidr", adminCidr, "would open SSH to the whole internet: give your office or VPN range");
    }

    const appPort = p.int("appPort", 1024, 65535);
    const wsgiApplication = p.str("wsgiApplication")!;
    if (!/^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.()]*$/.test(wsgiApplication)) bad("wsgiApplication", wsgiApplication, "must be module:attribute, like config.wsgi:application");
    const djangoSettingsModule = p.str("djangoSettingsModule");
    if (djangoSettingsModule !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(djangoSettingsModule)) {
        bad("djangoSettingsModule", djangoSettingsModule, "must be a dotted Python module path, like config.settings.production");
    }
    const gunicornWorkers = p.int("gunicornWorkers", 1, 64);
    const celeryApp = p.str("celeryApp");
    if (celeryApp !== undefined && !/^[A-Za-z_][A-Za-z0-9_.:]*$/.test(celeryApp)) bad("celeryApp", celeryApp, "must be a Python module path, like config.celery");

    const staticRoot = p.str("staticRoot")!;
    if (!ABSOLUTE_PATH.test(staticRoot) || staticRoot === "/" || staticRoot.includes("..")) bad("staticRoot", staticRoot, "must be an absolute directory path other than \"/\" (letters, digits, . _ - /)");
    const staticUrl = p.str("staticUrl")!;
    if (!/^\/[A-Za-z0-9._\/-]+\/$/.test(staticUrl) || staticUrl.includes("//")) bad("staticUrl", staticUrl, "must start and end with \"/\" and not be \"/\", like /static/");

    const healthCheckPath = p.str("healthCheckPath")!;
    if (!healthCheckPath.startsWith("/")) bad("healthCheckPath", healthCheckPath, "must start with \"/\"");
    else if (!/^\/[\x21-\x7e]{0,1023}$/.test(healthCheckPath)) bad("healthCheckPath", healthCheckPath, "must be a URL path without spaces, at most 1024 characters");
    const deregistrationDelay = p.int("deregistrationDelay", 0, 3600);

    const certificateArn = p.str("certificateArn");
    if (certificateArn !== undefined && !ACM_ARN.test(certificateArn)) bad("certificateArn", certificateArn, "is not an ACM certificate ARN");
    const albIngress = p.oneOf("albIngress", ["cloudfront", "internet"] as const);
    const domainName = p.str("domainName")?.toLowerCase();
    if (domainName !== undefined && !HOSTNAME.test(domainName)) bad("domainName", domainName, "is not a host name like www.example.com");
    const cdnCertificateArn = p.str("cdnCertificateArn");
    if (cdnCertificateArn !== undefined) {
        const m = ACM_ARN.exec(cdnCertificateArn);
        if (!m) bad("cdnCertificateArn", cdnCertificateArn, "is not an ACM certificate ARN");
        else if (m[1] !== "us-east-1") bad("cdnCertificateArn", cdnCertificateArn, `is in ${m[1]}: CloudFront only uses certificates from us-east-1`);
    }
    if (domainName !== undefined && cdnCertificateArn === undefined) problems.push(`cdnCertificateArn is required when domainName (${domainName}) is set: CloudFront serves the alias with it`);
    if (cdnCertificateArn !== undefined && domainName === undefined) problems.push("domainName is required when cdnCertificateArn is set");
    if (certificateArn !== undefined && domainName === undefined) {
        problems.push("domainName is required when certificateArn is set: CloudFront forwards the viewer's Host and validates the load balancer's certificate against it");
    }
    const cdnPriceClass = p.oneOf("cdnPriceClass", ["PriceClass_100", "PriceClass_200", "PriceClass_All"] as const);

    const dbInstanceClass = p.str("dbInstanceClass")!;
    if (!DB_INSTANCE_CLASS.test(dbInstanceClass)) bad("dbInstanceClass", dbInstanceClass, "is not an RDS instance class like db.t4g.micro or db.m7g.large");
    const dbEngineVersion = p.str("dbEngineVersion")!;
    if (!/^\d{2}(\.\d{1,2})?$/.test(dbEngineVersion) || Number(dbEngineVersion.split(".")[0]) < 13) bad("dbEngineVersion", dbEngineVersion, "must be a supported PostgreSQL version, 13 or later, like 16 or 16.4");
    const dbAllocatedStorage = p.int("dbAllocatedStorage", 20, 65536);
    const dbMaxAllocatedStorage = p.int("dbMaxAllocatedStorage", 20, 65536);
    if (dbMaxAllocatedStorage < dbAllocatedStorage) problems.push(`dbMaxAllocatedStorage (${dbMaxAllocatedStorage}) < dbAllocatedStorage (${dbAllocatedStorage})`);
    const dbName = p.str("dbName")!;
    if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(dbName)) bad("dbName", dbName, "must start with a letter and hold only letters, digits and _ (at most 63)");
    const dbUsername = p.str("dbUsername")!;
    if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(dbUsername)) bad("dbUsername", dbUsername, "must start with a letter and hold only letters, digits and _ (at most 63)");
    else if (["postgres", "rdsadmin", "admin", "public"].includes(dbUsername.toLowerCase())) bad("dbUsername", dbUsername, "is reserved by RDS PostgreSQL");
    const dbPassword = p.rawOf("dbPassword");
    if (dbPassword !== undefined) {
        // The value itself is a secret: never echo it in the error.
        // Letters, digits and - _ . + , = only: safe unquoted in the env file (systemd, shell,
        // Python) the instances load, and accepted by RDS. Long, since the alphabet is small.
        if (dbPassword.length < 16 || dbPassword.length > 128) problems.push(`dbPassword (secret, ${dbPassword.length} characters) must be 16 to 128 characters`);
        else if (!/^[A-Za-z0-9._+,=-]+$/.test(dbPassword)) problems.push("dbPassword (secret) may hold only letters, digits and - _ . + , = (it is written unquoted into the instances' env file)");
    }
    const dbMultiAz = p.bool("dbMultiAz");
    const dbBackupRetentionDays = p.int("dbBackupRetentionDays", 1, 35);
    const deletionProtection = p.bool("deletionProtection");

    // --- release namespace ----------------------------------------------------------------
    const r = reader(RELEASE_NAMESPACE, RELEASE_SETTINGS, "release:");
    const version = r.str("version");
    if (version !== undefined) {
        const why = gitRefProblem(version) ?? versionProblem(version);
        if (why) bad("release:version", version, `is not a git tag, branch or commit fit for a release: it ${why}`);
    }
    const surgeRaw = r.str("maxSurge")!;
    let maxSurge: MaxSurge = { kind: "count", value: 1 };
    if (/^[1-9]\d{0,3}$/.test(surgeRaw)) maxSurge = { kind: "count", value: Number(surgeRaw) };
    else if (/^([1-9]\d?|100)%$/.test(surgeRaw)) maxSurge = { kind: "percent", value: Number(surgeRaw.slice(0, -1)) };
    else bad("release:maxSurge", surgeRaw, "must be a positive whole number (\"1\") or a percentage from 1% to 100% (\"25%\")");
    const migrationPolicy = r.oneOf("migrationPolicy", ["refuse", "maintenance", "allow"] as const);
    const transport = r.oneOf("transport", ["ssm", "ssh"] as const);

    const sshHost = r.str("sshHost");
    const sshPort = r.int("sshPort", 1, 65535);
    const sshUser = r.str("sshUser")!;
    const sshPrivateKey = r.rawOf("sshPrivateKey");
    const sshHostKey = r.str("sshHostKey");
    let ssh: ReleaseSettings["ssh"];
    if (sshHost !== undefined && !/^[A-Za-z0-9.:-]{1,253}$/.test(sshHost)) bad("release:sshHost", sshHost, "is not a host name or IP address");
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(sshUser)) bad("release:sshUser", sshUser, "is not a Unix user name");
    if (sshHostKey !== undefined && !/^SHA256:[A-Za-z0-9+\/]{43}=?$/.test(sshHostKey)) bad("release:sshHostKey", sshHostKey, "must be a SHA256 fingerprint like SHA256:<43 base64 characters>, as ssh-keygen -lf prints it");
    if (sshPrivateKey !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(sshPrivateKey)) problems.push("release:sshPrivateKey (secret) is not a PEM or OpenSSH private key (no BEGIN ... PRIVATE KEY line)");
    if (transport === "ssh") {
        for (const [key, v] of [["sshHost", sshHost], ["sshPrivateKey", sshPrivateKey], ["sshHostKey", sshHostKey]] as const) {
            if (v === undefined) problems.push(`release:${key} is required when release:transport is ssh`);
        }
        if (sshHost && sshPrivateKey && sshHostKey) ssh = { host: sshHost, port: sshPort, user: sshUser, privateKey: sshPrivateKey, hostKeySha256: sshHostKey };
    }
    const bakeTimeout = r.int("bakeTimeout", 60, 86400);
    const healthyTimeout = r.int("healthyTimeout", 60, 86400);
    const drainTimeout = r.int("drainTimeout", 30, 86400);
    const keepImages = r.int("keepImages", 1, 100);
    const installCommand = r.str("installCommand")!;
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(installCommand)) bad("release:installCommand", installCommand, "must be one line without control characters");
    const keepReleases = r.int("keepReleases", 2, 100);

    if (problems.length > 0) throw new ConfigError(problems);

    return {
        project: {
            stack,
            parameterPrefix: `/${PROJECT}/${stack}`,
            repositoryUrl,
            vpcCidr,
            availabilityZoneCount,
            natGateways,
            existingVpc,
            instanceType,
            managementInstanceType,
            architecture: architectureOf(instanceType),
            minSize,
            maxSize,
            desiredCapacity,
            healthCheckGracePeriod,
            rootVolumeSize,
            baseAmiId,
            keyName,
            adminCidr,
            appPort,
            wsgiApplication,
            djangoSettingsModule,
            gunicornWorkers,
            celeryApp,
            staticRoot,
            staticUrl,
            healthCheckPath,
            deregistrationDelay,
            certificateArn,
            albIngress,
            domainName,
            cdnCertificateArn,
            cdnPriceClass,
            dbInstanceClass,
            dbEngineVersion,
            dbAllocatedStorage,
            dbMaxAllocatedStorage,
            dbName,
            dbUsername,
            dbPassword,
            dbMultiAz,
            dbBackupRetentionDays,
            deletionProtection,
        },
        release: { version, maxSurge, migrationPolicy, transport, ssh, bakeTimeout, healthyTimeout, drainTimeout, keepImages, installCommand, keepReleases },
    };
}
