/**
 * parseConfig(): the schema's generic reading (parse.ts) plus the rules that tie settings
 * together, which stay code. Pure: takes the raw strings, returns typed settings or throws one
 * ConfigError listing every bad setting with its key and value. index.ts is the only caller
 * that reads the real stack config.
 */
import { architectureOf, type Architecture, PROJECT_CHECKS, RELEASE_CHECKS } from "./checks";
import { repositoryUrlCredentialProblem } from "../providers/release/remote/commands";
import { ConfigError, Problems, readTable, type Raw } from "./parse";
import { type Parsed, PROJECT, PROJECT_SETTINGS, RELEASE_NAMESPACE, RELEASE_SETTINGS } from "./schema";

type ProjectValues = Parsed<typeof PROJECT_SETTINGS>;
type ReleaseValues = Parsed<typeof RELEASE_SETTINGS>;

/** Validated project settings: every PROJECT_SETTINGS entry, the existing VPC's three grouped, plus what is derived. */
export type ProjectSettings = Omit<ProjectValues, "vpcId" | "publicSubnetIds" | "privateSubnetIds" | "managementInstanceType"> & {
    readonly stack: string;
    /** SSM Parameter Store prefix of the stack's app settings: /django-fleet/<stack>. */
    readonly parameterPrefix: string;
    readonly existingVpc?: { readonly vpcId: string; readonly publicSubnetIds: string[]; readonly privateSubnetIds: string[] };
    /** instanceType when unset. */
    readonly managementInstanceType: string;
    readonly architecture: Architecture;
};

export interface SshSettings { readonly host: string; readonly port: number; readonly user: string; readonly privateKey: string; readonly hostKeySha256: string }

/** Validated release settings: the ssh* entries grouped into `ssh` (set with transport ssh). */
export type ReleaseSettings = Omit<ReleaseValues, "sshHost" | "sshPort" | "sshUser" | "sshPrivateKey" | "sshHostKey"> & { readonly ssh?: SshSettings };

export interface StackSettings {
    readonly project: ProjectSettings;
    readonly release: ReleaseSettings;
}

function unknownKeys(raw: Raw, problems: Problems): void {
    // Unknown keys in our namespaces are almost always typos ("minsize"): refuse them.
    for (const full of Object.keys(raw)) {
        const [ns, ...rest] = full.split(":");
        const key = rest.join(":");
        if (ns === PROJECT && !(key in PROJECT_SETTINGS)) problems.add(`unknown setting ${full} (known: ${Object.keys(PROJECT_SETTINGS).join(", ")})`);
        if (ns === RELEASE_NAMESPACE && !(key in RELEASE_SETTINGS)) problems.add(`unknown setting ${full} (known: ${Object.keys(RELEASE_SETTINGS).join(", ")})`);
    }
}

function existingVpcOf(p: ProjectValues, problems: Problems): ProjectSettings["existingVpc"] {
    const { vpcId, publicSubnetIds, privateSubnetIds } = p;
    const set = (key: string, v: unknown) => v !== undefined || problems.refused.has(key);
    if (!set("vpcId", vpcId) && !set("publicSubnetIds", publicSubnetIds) && !set("privateSubnetIds", privateSubnetIds)) return undefined;
    if (!set("vpcId", vpcId)) problems.add("vpcId is required when publicSubnetIds or privateSubnetIds are set");
    for (const key of ["publicSubnetIds", "privateSubnetIds"] as const) if (!set(key, p[key])) problems.add(`${key} is required when vpcId is set`);
    const shared = (publicSubnetIds ?? []).filter((id) => (privateSubnetIds ?? []).includes(id));
    if (shared.length > 0) problems.bad("privateSubnetIds", shared, "are also listed in publicSubnetIds: instances and the database must not sit in public subnets");
    return { vpcId: vpcId ?? "", publicSubnetIds: publicSubnetIds ?? [], privateSubnetIds: privateSubnetIds ?? [] };
}

function projectRules(p: ProjectValues, stack: string, problems: Problems): ProjectSettings {
    const ok = (...keys: string[]) => keys.every((k) => !problems.refused.has(k));
    const { vpcId: _v, publicSubnetIds: _pu, privateSubnetIds: _pr, managementInstanceType: mgmt, ...rest } = p;
    const existingVpc = existingVpcOf(p, problems);

    const managementInstanceType = mgmt ?? p.instanceType;
    if (mgmt !== undefined && ok("instanceType", "managementInstanceType") && architectureOf(mgmt) !== architectureOf(p.instanceType)) {
        problems.bad("managementInstanceType", mgmt, `is ${architectureOf(mgmt)} but instanceType ${p.instanceType} is ${architectureOf(p.instanceType)}: the release AMI is baked on the management instance`);
    }
    if (ok("minSize", "maxSize", "desiredCapacity")) {
        if (p.minSize > p.maxSize) problems.add(`minSize (${p.minSize}) > maxSize (${p.maxSize})`);
        if (p.desiredCapacity < p.minSize) problems.add(`desiredCapacity (${p.desiredCapacity}) < minSize (${p.minSize})`);
        if (p.desiredCapacity > p.maxSize) problems.add(`desiredCapacity (${p.desiredCapacity}) > maxSize (${p.maxSize})`);
    }
    const domainName = p.domainName?.toLowerCase();
    const given = (key: "domainName" | "cdnCertificateArn" | "certificateArn") => p[key] !== undefined || problems.refused.has(key);
    if (given("domainName") && !given("cdnCertificateArn")) problems.add(`cdnCertificateArn is required when domainName (${domainName}) is set: CloudFront serves the alias with it`);
    if (given("cdnCertificateArn") && !given("domainName")) problems.add("domainName is required when cdnCertificateArn is set");
    if (given("certificateArn") && !given("domainName")) {
        problems.add("domainName is required when certificateArn is set: CloudFront forwards the viewer's Host and validates the load balancer's certificate against it");
    }
    if (!given("certificateArn") && !p.plainHttpOrigin) {
        problems.add("certificateArn is required: CloudFront reaches the load balancer over HTTPS with it (set domainName and cdnCertificateArn too). "
            + "To accept plain HTTP between CloudFront and the load balancer instead, set plainHttpOrigin true: it exposes the origin secret header, cookies and form posts in clear text on the internet");
    } else if (given("certificateArn") && p.plainHttpOrigin) {
        problems.bad("plainHttpOrigin", true, `contradicts certificateArn ${p.certificateArn ?? ""}: with a certificate CloudFront always reaches the load balancer over HTTPS; unset plainHttpOrigin`);
    }
    // A credential in the URL: refused without echoing it (the message shows the URL as https://***@...).
    const credential = p.repositoryUrl ? repositoryUrlCredentialProblem(p.repositoryUrl) : null;
    if (credential) problems.add(`repositoryUrl ${credential}`);
    if (ok("dbAllocatedStorage", "dbMaxAllocatedStorage") && p.dbMaxAllocatedStorage < p.dbAllocatedStorage) {
        problems.add(`dbMaxAllocatedStorage (${p.dbMaxAllocatedStorage}) < dbAllocatedStorage (${p.dbAllocatedStorage})`);
    }
    return {
        ...rest,
        stack,
        parameterPrefix: `/${PROJECT}/${stack}`,
        existingVpc,
        managementInstanceType,
        architecture: architectureOf(p.instanceType),
        domainName,
    };
}

function releaseRules(r: ReleaseValues, problems: Problems): ReleaseSettings {
    const { sshHost, sshPort, sshUser, sshPrivateKey, sshHostKey, ...rest } = r;
    let ssh: SshSettings | undefined;
    if (r.transport === "ssh") {
        for (const [key, v] of [["sshHost", sshHost], ["sshPrivateKey", sshPrivateKey], ["sshHostKey", sshHostKey]] as const) {
            if (v === undefined && !problems.refused.has(`release:${key}`)) problems.add(`release:${key} is required when release:transport is ssh`);
        }
        if (sshHost && sshPrivateKey && sshHostKey) ssh = { host: sshHost, port: sshPort, user: sshUser, privateKey: sshPrivateKey, hostKeySha256: sshHostKey };
    }
    return { ...rest, ssh };
}

/**
 * Validates the raw stack config (keys "django-fleet:<name>" and "release:<name>", values as
 * Pulumi hands them to the program: strings, arrays as JSON) and returns typed settings.
 * Throws ConfigError listing every problem.
 */
export function parseConfig(raw: Raw, stack: string): StackSettings {
    const problems = new Problems();
    unknownKeys(raw, problems);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(stack)) problems.bad("stack name", stack, "must be letters, digits, \"_\", \".\" or \"-\" (it names SSM parameters and resources)");
    const project = projectRules(readTable(raw, PROJECT, "", PROJECT_SETTINGS, PROJECT_CHECKS, problems), stack, problems);
    const release = releaseRules(readTable(raw, RELEASE_NAMESPACE, "release:", RELEASE_SETTINGS, RELEASE_CHECKS, problems), problems);
    if (problems.list.length > 0) throw new ConfigError(problems.list);
    return { project, release };
}
