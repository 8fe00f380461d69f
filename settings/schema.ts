/**
 * The stack's settings, one entry each: type, default, bounds or enum, secret or not, and the
 * description. Everything else is derived from this file: the TypeScript types (below), the
 * generic parser (parse.ts), the Release's input defaults (providers/release/inputs.ts), the components'
 * defaults, Pulumi.yaml's `config:` block and the README's table (scripts/config-table.ts;
 * test/config/schema.spec.ts checks both). Descriptions never restate a bound or an enum:
 * describe() appends them from the numbers here.
 *
 * Data only, no imports: the Release provider (serialized with its code) imports it too.
 *
 * Two namespaces:
 *  - `django-fleet:*` (PROJECT_SETTINGS): declared in Pulumi.yaml too (generated from here);
 *  - `release:*` (RELEASE_SETTINGS): Pulumi refuses `type`/`default` on keys outside the project
 *    namespace in Pulumi.yaml, so this file alone declares them.
 */

export const PROJECT = "django-fleet";
export const RELEASE_NAMESPACE = "release";

interface Common {
    readonly description: string;
    /** Set with `pulumi config set --secret`; never echoed in an error. */
    readonly secret?: boolean;
    /** No default, and the stack cannot go without it. */
    readonly required?: boolean;
}
export interface IntegerSpec extends Common { readonly type: "integer"; readonly default?: number; readonly min: number; readonly max: number }
export interface BooleanSpec extends Common { readonly type: "boolean"; readonly default?: boolean }
export interface StringSpec extends Common {
    readonly type: "string";
    readonly default?: string;
    /** The allowed values, each with what it means ("" when the name says it all). */
    readonly enum?: Readonly<Record<string, string>>;
    readonly length?: { readonly min: number; readonly max: number };
}
export interface ArraySpec extends Common { readonly type: "array"; readonly minItems?: number }
/** An IPv4 CIDR with a prefix between the bounds; `rfc1918`: inside 10/8, 172.16/12 or 192.168/16. */
export interface CidrSpec extends Common { readonly type: "cidr"; readonly default?: string; readonly prefix: { readonly min: number; readonly max: number }; readonly rfc1918?: boolean }
/** A count of instances (1 to maxCount) or a percentage of the fleet (above 0%, at most 100%, decimals allowed). */
export interface SurgeSpec extends Common { readonly type: "surge"; readonly default: number; readonly maxCount: number }
/** A PostgreSQL major ("16") or major.minor ("16.4") version, majors between the bounds. */
export interface PostgresVersionSpec extends Common { readonly type: "postgresVersion"; readonly default: string; readonly major: { readonly min: number; readonly max: number } }
/** An EC2 instance type (or, with `rds`, an RDS instance class) that @pulumi/aws's enums know. */
export interface InstanceTypeSpec extends Common { readonly type: "instanceType"; readonly default?: string; readonly rds?: boolean }

export type SettingSpec = IntegerSpec | BooleanSpec | StringSpec | ArraySpec | CidrSpec | SurgeSpec | PostgresVersionSpec | InstanceTypeSpec;

export const PROJECT_SETTINGS = {
    repositoryUrl: { type: "string", required: true, description: "Git URL of the Django app (https://, ssh://, git@host:path or file://)." },
    repositoryToken: { type: "string", secret: true, length: { min: 8, max: 1024 }, description: "Token the management instance's git credential helper gives the repository's host (user name x-access-token), set with --secret: the stack stores it as the SecureString <parameter prefix>/REPOSITORY_TOKEN, readable by the management role only; never in repositoryUrl." },
    inspectDatabaseUrl: { type: "string", secret: true, description: "postgres:// URL of a read-only database role (SELECT on django_migrations), set with --secret, with sslmode=verify-full: the stack stores it as the SecureString <parameter prefix>/INSPECT_DATABASE_URL (management role only), from which `pulumi preview` lists the applied migrations; migrations are not inspected at preview when unset." },
    vpcCidr: { type: "cidr", default: "10.0.0.0/16", prefix: { min: 16, max: 24 }, rfc1918: true, description: "CIDR of the VPC the stack creates; ignored with vpcId." },
    availabilityZoneCount: { type: "integer", default: 2, min: 2, max: 6, description: "Availability zones the created VPC spans, one public and one private subnet in each." },
    natGateways: { type: "string", default: "one-per-az", enum: { "one-per-az": "survives an AZ outage", single: "cheaper" }, description: "NAT gateways for the private subnets" },
    vpcId: { type: "string", description: "Existing VPC to use instead of creating one; requires publicSubnetIds and privateSubnetIds." },
    publicSubnetIds: { type: "array", minItems: 2, description: "Existing public subnets, in different AZs, for the load balancer; with vpcId." },
    privateSubnetIds: { type: "array", minItems: 2, description: "Existing private subnets with NAT egress, in different AZs, for instances, EFS and the database; with vpcId." },
    instanceType: { type: "instanceType", default: "t3.small", description: "EC2 instance type of the web fleet (and of the management instance unless managementInstanceType is set)." },
    managementInstanceType: { type: "instanceType", description: "EC2 instance type of the management instance; defaults to instanceType (same CPU architecture required)." },
    minSize: { type: "integer", default: 2, min: 0, max: 1000, description: "Minimum web instances; applied to the auto-scaling group by the release, not by Pulumi." },
    maxSize: { type: "integer", default: 4, min: 1, max: 1000, description: "Maximum web instances (a release may raise it for a moment during a ramp)." },
    desiredCapacity: { type: "integer", default: 2, min: 0, max: 1000, description: "Web instances a release brings the fleet to when the group is empty; later releases keep the current capacity." },
    healthCheckGracePeriod: { type: "integer", default: 300, min: 0, max: 7200, description: "Seconds the auto-scaling group ignores failed ELB health checks of a new instance." },
    rootVolumeSize: { type: "integer", default: 20, min: 8, max: 16384, description: "Root EBS volume size in GiB (gp3, encrypted)." },
    baseAmiId: { type: "string", description: "AMI of the first boot (before any release); defaults to the latest official Debian 12 image for the instance architecture." },
    keyName: { type: "string", description: "EC2 key pair installed on the instances (for SSH; SSM needs none)." },
    adminCidr: { type: "cidr", prefix: { min: 8, max: 32 }, description: "IPv4 CIDR allowed to SSH (22) to the instances (in private subnets: your VPN or peered range); no SSH ingress when unset." },
    appPort: { type: "integer", default: 8000, min: 1024, max: 65535, description: "Port gunicorn listens on; the load balancer forwards to it." },
    wsgiApplication: { type: "string", default: "config.wsgi:application", description: "WSGI callable gunicorn serves, as module:attribute." },
    djangoSettingsModule: { type: "string", description: "DJANGO_SETTINGS_MODULE for the app; the app's own default when unset." },
    gunicornWorkers: { type: "integer", default: 3, min: 1, max: 64, description: "gunicorn worker processes per instance." },
    celeryApp: { type: "string", description: "Celery app (celery -A value); when set, celery beat runs on the management instance only." },
    staticRoot: { type: "string", default: "/srv/static", description: "STATIC_ROOT: where the shared EFS file system is mounted (over TLS) on every instance; not a system directory, the app directory or a parent of either." },
    staticUrl: { type: "string", default: "/static/", description: "STATIC_URL: the CDN caches this path prefix long." },
    healthCheckPath: { type: "string", default: "/health/", description: "Path of the Django health view the target group checks (must answer 200)." },
    deregistrationDelay: { type: "integer", default: 30, min: 0, max: 3600, description: "Seconds the load balancer drains an instance before it is removed." },
    healthCheckInterval: {
        type: "integer",
        default: 30,
        min: 5,
        max: 300,
        description:
            "Seconds between the target group's health checks. A new instance serves after healthyThreshold x interval, so each ramp wave costs healthyThreshold x healthCheckInterval seconds (90 s at 30 x 3, 30 s at 10 x 3); a shorter interval means more check requests on every instance (one per interval per load-balancer node) and reacts faster to a failing instance.",
    },
    healthyThreshold: {
        type: "integer",
        default: 3,
        min: 2,
        max: 10,
        description:
            "Consecutive passed health checks before the load balancer sends an instance traffic: each extra check adds healthCheckInterval seconds to every ramp wave; more checks protect against an instance that passes once while still warming up (migrations, caches, a flapping dependency).",
    },
    certificateArn: { type: "string", description: "ACM certificate (in the stack's region) covering domainName: enables HTTPS on the load balancer (HTTP redirects) and HTTPS from CloudFront to it." },
    plainHttpOrigin: { type: "boolean", default: false, description: "Let CloudFront reach the load balancer over plain HTTP (only when certificateArn is unset). This exposes, on the internet between CloudFront's edge and the load balancer, everything visitors send and receive in clear text: the origin secret header (X-Origin-Verify), session and CSRF cookies, form posts with passwords, and every page. For throw-away stacks only; give the load balancer certificateArn (with domainName) instead." },
    albIngress: {
        type: "string",
        default: "cloudfront",
        enum: {
            cloudfront: "CloudFront origin-facing prefix list on the origin port, and only requests carrying this distribution's secret X-Origin-Verify header are served",
            internet: "0.0.0.0/0 on 80 and 443",
        },
        description: "Who may reach the load balancer",
    },
    managementAppMetadata: {
        type: "string",
        default: "block",
        enum: {
            block: "an nftables rule rejects the app account's packets to 169.254.169.254 and fd00:ec2::254 on the management instance, as it does the inspection account's",
            allow: "the app account there may use the instance role, for cron jobs or tasks that call AWS with it (grant the role what they need)",
        },
        description: "Whether the app account (django: gunicorn, cron, celery beat) on the management instance may reach the instance metadata service, hence the management role's credentials, which read the management-only parameters (the database master URL) and the release's repositoryToken and inspectDatabaseUrl. Web instances are unaffected: their role reads only the settings the app already has.",
    },
    domainName: { type: "string", description: "Public host name of the site (CloudFront alias); requires cdnCertificateArn. The CloudFront domain is used when unset." },
    cdnCertificateArn: { type: "string", description: "ACM certificate in us-east-1 covering domainName, for CloudFront." },
    cdnPriceClass: { type: "string", default: "PriceClass_100", enum: { PriceClass_100: "", PriceClass_200: "", PriceClass_All: "" }, description: "CloudFront price class" },
    dbInstanceClass: { type: "instanceType", rds: true, default: "db.t4g.micro", description: "RDS instance class of the PostgreSQL database." },
    dbEngineVersion: { type: "postgresVersion", default: "16", major: { min: 13, max: 18 }, description: "PostgreSQL major (or major.minor) version." },
    dbAllocatedStorage: { type: "integer", default: 20, min: 20, max: 65536, description: "Initial database storage in GiB (gp3, encrypted)." },
    dbMaxAllocatedStorage: { type: "integer", default: 100, min: 20, max: 65536, description: "Storage autoscaling ceiling in GiB (>= dbAllocatedStorage)." },
    dbName: { type: "string", default: "django", description: "Database name." },
    dbUsername: { type: "string", default: "django", description: "Database master user name." },
    dbPassword: { type: "string", secret: true, length: { min: 16, max: 128 }, description: "Database password (set with --secret; letters, digits or - _ . + , =); generated and kept in the stack state when unset." },
    dbMultiAz: { type: "boolean", default: false, description: "Run the database as a Multi-AZ deployment." },
    dbBackupRetentionDays: { type: "integer", default: 7, min: 1, max: 35, description: "Days of automated database backups." },
    deletionProtection: { type: "boolean", default: true, description: "Protect the database from deletion and keep a final snapshot; turn off only for throw-away stacks." },
} as const satisfies Record<string, SettingSpec>;

export const RELEASE_SETTINGS = {
    version: { type: "string", description: "Git tag, branch or commit of the app to release; no release while unset." },
    maxSurge: { type: "surge", default: 1, maxCount: 1000, description: "Extra instances per ramp wave: a count (\"2\") or a share of the fleet (\"25%\")." },
    migrationPolicy: {
        type: "string",
        default: "refuse",
        enum: { refuse: "", maintenance: "maintenance page during the release", allow: "" },
        description: "Breaking or unknown migrations",
    },
    transport: { type: "string", default: "ssm", enum: { ssm: "Run Command", ssh: "" }, description: "How the release reaches the management instance" },
    sshHost: { type: "string", description: "Host (or IP) of the management instance for ssh; required with transport ssh." },
    sshPort: { type: "integer", default: 22, min: 1, max: 65535, description: "SSH port of the management instance." },
    sshUser: { type: "string", default: "deploy", description: "SSH user on the management instance." },
    sshPrivateKey: { type: "string", secret: true, description: "SSH private key (set with --secret); required with transport ssh." },
    sshHostKey: { type: "string", description: "Pinned host key fingerprint, \"SHA256:...\" as ssh-keygen -lf prints it; required with transport ssh." },
    bakeTimeout: { type: "integer", default: 3600, min: 60, max: 86400, description: "Seconds to wait for the release AMI to become available." },
    healthyTimeout: { type: "integer", default: 900, min: 60, max: 86400, description: "Seconds to wait for new instances to be healthy in the target group, per wave." },
    drainTimeout: { type: "integer", default: 600, min: 30, max: 86400, description: "Seconds allowed, beyond the target group's deregistration delay, for old instances to drain." },
    keepImages: { type: "integer", default: 3, min: 1, max: 100, description: "Release AMIs (and snapshots) kept for rollback; older ones are deleted." },
    installCommand: { type: "string", default: "venv/bin/pip install -r requirements.txt", description: "Installs the app's dependencies, run inside the release directory." },
    keepReleases: { type: "integer", default: 5, min: 2, max: 100, description: "Release directories kept on the management instance." },
} as const satisfies Record<string, SettingSpec>;

export type ProjectKey = keyof typeof PROJECT_SETTINGS;
export type ReleaseKey = keyof typeof RELEASE_SETTINGS;

// ---------------------------------------------------------------------------------------
// Types derived from the entries.

export type MaxSurge = { readonly kind: "count"; readonly value: number } | { readonly kind: "percent"; readonly value: number };

/** The parsed value of one entry. */
export type ValueOf<S> = S extends { type: "integer" } ? number
    : S extends { type: "boolean" } ? boolean
    : S extends { type: "array" } ? string[]
    : S extends { type: "surge" } ? MaxSurge
    : S extends { enum: infer E } ? Extract<keyof E, string>
    : string;

type Defined<S> = S extends { default: unknown } ? true : S extends { required: true } ? true : false;

/** Every entry of a table, parsed: entries with a default or required are always present. */
export type Parsed<T> =
    { readonly [K in keyof T as Defined<T[K]> extends true ? K : never]: ValueOf<T[K]> } &
    { readonly [K in keyof T as Defined<T[K]> extends true ? never : K]?: ValueOf<T[K]> };

/** The enum's values of an entry, as a union type (e.g. EnumOf<typeof RELEASE_SETTINGS.migrationPolicy>). */
export type EnumOf<S extends { enum: object }> = Extract<keyof S["enum"], string>;
export type MigrationPolicy = EnumOf<typeof RELEASE_SETTINGS.migrationPolicy>;
export type Transport = EnumOf<typeof RELEASE_SETTINGS.transport>;

/** The enum's values of an entry, as an array. */
export function enumValues<S extends { enum: object }>(spec: S): EnumOf<S>[] {
    return Object.keys(spec.enum) as EnumOf<S>[];
}

/**
 * Plain values for the Release provider: it must not capture the entries themselves, since
 * Pulumi's closure serializer takes an object with a `default` member for an `import *` result
 * and fails on it ("Cannot use 'in' operator to search for 'type' in 1").
 */
export const MIGRATION_POLICIES: readonly MigrationPolicy[] = enumValues(RELEASE_SETTINGS.migrationPolicy);
export const TRANSPORTS: readonly Transport[] = enumValues(RELEASE_SETTINGS.transport);
export const MAX_SURGE_COUNT: number = RELEASE_SETTINGS.maxSurge.maxCount;

/** Each entry's default, by key (entries without one are absent). */
type Defaults<T> = { readonly [K in keyof T as T[K] extends { default: unknown } ? K : never]: T[K] extends { default: infer D } ? D : never };
function defaultsOf<T extends Record<string, SettingSpec>>(table: T): Defaults<T> {
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(table)) if ("default" in spec && spec.default !== undefined) out[key] = spec.default;
    return out as Defaults<T>;
}
export const PROJECT_DEFAULTS = defaultsOf(PROJECT_SETTINGS);
export const RELEASE_DEFAULTS = defaultsOf(RELEASE_SETTINGS);
