/**
 * The one place that installs Pulumi mocks for the whole mocha process (mocks are global:
 * a second setMocks elsewhere would break other specs). Import what you need from here:
 *
 *   const run = await runProgram("staging");            // builds index.ts under Pulumi.staging.yaml
 *   run.resources.ofType("aws:ec2/launchTemplate:LaunchTemplate")
 *   await promiseOf(run.outputs.siteUrl)
 *
 * or, for a single component: `await useStack("test")`, construct it, `await settle()`, then
 * look at `recorded`.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";

const yaml: { load(text: string): unknown } = require("js-yaml");

export const ROOT = path.resolve(__dirname, "../..");
export const PROJECT = "django-fleet";
export const REGION = "eu-west-1";
export const ACCOUNT = "123456789012";
/** What the mocked RandomPassword returns: tests search for it where it must not appear. */
export const GENERATED_SECRET_PREFIX = "GeneratedSecret";

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, any>;
    readonly id: string;
    readonly state: Record<string, any>;
}

export interface RecordedCall {
    readonly token: string;
    readonly inputs: Record<string, any>;
}

export class Recorder {
    readonly resources: RecordedResource[] = [];
    readonly calls: RecordedCall[] = [];
    /** A copy that the next run's reset leaves alone. */
    snapshot(): Recorder {
        const copy = new Recorder();
        copy.resources.push(...this.resources);
        copy.calls.push(...this.calls);
        return copy;
    }
    reset(): void {
        this.resources.length = 0;
        this.calls.length = 0;
    }
    /** Every resource of a type token, e.g. "aws:ec2/instance:Instance". */
    ofType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }
    /** The one resource of a type (fails when there are none or several). */
    one(type: string, nameIncludes = ""): RecordedResource {
        const found = this.ofType(type).filter((r) => r.name.includes(nameIncludes));
        if (found.length !== 1) throw new Error(`expected one ${type}${nameIncludes ? ` named *${nameIncludes}*` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
        return found[0];
    }
    named(name: string): RecordedResource {
        const found = this.resources.find((r) => r.name === name);
        if (!found) throw new Error(`no resource named ${name} (have: ${this.resources.map((r) => r.name).join(", ")})`);
        return found;
    }
    /** Resource counts by type. */
    counts(): Record<string, number> {
        const counts: Record<string, number> = {};
        for (const r of this.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
        return counts;
    }
}

export const recorded = new Recorder();

let serial = 0;
const hex = (n: number) => n.toString(16).padStart(17, "0").slice(-17);

function plausibleState(type: string, name: string, inputs: Record<string, any>): { id: string; state: Record<string, any> } {
    const n = ++serial;
    const service = type.split(":")[1]?.split("/")[0] ?? "x";
    const arn = `arn:aws:${service}:${REGION}:${ACCOUNT}:${name}`;
    const base = { arn, ...inputs };
    switch (type) {
        case "aws:ec2/vpc:Vpc": return { id: `vpc-${hex(n)}`, state: base };
        case "aws:ec2/subnet:Subnet": return { id: `subnet-${hex(n)}`, state: base };
        case "aws:ec2/securityGroup:SecurityGroup": return { id: `sg-${hex(n)}`, state: base };
        case "aws:ec2/launchTemplate:LaunchTemplate": return { id: `lt-${hex(n)}`, state: { ...base, latestVersion: 1, defaultVersion: 1 } };
        case "aws:ec2/instance:Instance": return { id: `i-${hex(n)}`, state: { ...base, privateIp: "10.0.128.10", ami: "ami-0d3b1a5e7c9f24680" } };
        case "aws:autoscaling/group:Group": return { id: name, state: { ...base, name } };
        case "aws:lb/loadBalancer:LoadBalancer": return { id: arn, state: { ...base, dnsName: `${name}-1234567890.${REGION}.elb.amazonaws.com`, zoneId: "Z32O12XQLNTSW2" } };
        case "aws:lb/targetGroup:TargetGroup": return { id: `${arn}/tg`, state: { ...base, arn: `${arn}/tg` } };
        case "aws:lb/listener:Listener": return { id: `${arn}/listener`, state: { ...base, arn: `${arn}/listener` } };
        case "aws:cloudfront/distribution:Distribution": return { id: `E${hex(n).toUpperCase().slice(-13)}`, state: { ...base, domainName: "d111111abcdef8.cloudfront.net", hostedZoneId: "Z2FDTNDATAQYW2" } };
        case "aws:rds/instance:Instance": {
            const address = `${name}.c9akciq32.${REGION}.rds.amazonaws.com`;
            return { id: `db-${hex(n)}`, state: { ...base, address, port: 5432, endpoint: `${address}:5432` } };
        }
        case "aws:efs/fileSystem:FileSystem": return { id: `fs-${hex(n)}`, state: base };
        case "aws:efs/accessPoint:AccessPoint": return { id: `fsap-${hex(n)}`, state: { ...base, arn: `arn:aws:elasticfilesystem:${REGION}:${ACCOUNT}:access-point/fsap-${hex(n)}` } };
        case "aws:iam/role:Role": return { id: name, state: { ...base, name, arn: `arn:aws:iam::${ACCOUNT}:role/${name}` } };
        case "aws:iam/instanceProfile:InstanceProfile": return { id: name, state: { ...base, name, arn: `arn:aws:iam::${ACCOUNT}:instance-profile/${name}` } };
        case "aws:ssm/parameter:Parameter": return { id: inputs.name ?? name, state: { ...base, arn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${inputs.name}` } };
        case "aws:rds/subnetGroup:SubnetGroup":
        case "aws:rds/parameterGroup:ParameterGroup": return { id: name, state: { ...base, name } };
        case "random:index/randomPassword:RandomPassword": return { id: name, state: { ...base, result: `${GENERATED_SECRET_PREFIX}${n}x${"Z".repeat(Math.max(0, (inputs.length ?? 32) - 20))}` } };
        case "command:local:Command": return { id: `${name}-${n}`, state: { ...base, stdout: "i-0123456789abcdef0\n", stderr: "" } };
        default: return { id: `${name}-id`, state: base };
    }
}

function invoke(token: string, inputs: Record<string, any>): Record<string, any> {
    switch (token) {
        case "aws:ec2/getAmi:getAmi": {
            const byId = (inputs.filters ?? []).find((f: any) => f.name === "image-id");
            const arch = (inputs.filters ?? []).find((f: any) => f.name === "architecture")?.values?.[0] ?? "x86_64";
            return {
                id: byId ? byId.values[0] : arch === "arm64" ? "ami-0a7a1e5d3c2b4f601" : "ami-0d3b1a5e7c9f24680",
                name: byId ? "custom" : `debian-12-${arch === "arm64" ? "arm64" : "amd64"}-20261101-1000`,
                architecture: arch,
                rootDeviceName: "/dev/xvda",
                ownerId: "136693071363",
            };
        }
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { names: ["a", "b", "c"].map((z) => `${REGION}${z}`), zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"], id: REGION };
        case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:user/test`, userId: "AIDATEST", id: ACCOUNT };
        case "aws:index/getRegion:getRegion":
            return { name: REGION, region: REGION, endpoint: `ec2.${REGION}.amazonaws.com`, description: "Europe (Ireland)", id: REGION };
        case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
        case "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            return { id: "pl-4fa04526", name: inputs.name, maxEntries: 55, addressFamily: "IPv4", entries: [] };
        case "aws:iam/getPolicyDocument:getPolicyDocument":
            return { json: JSON.stringify(inputs), id: "policy" };
        default:
            return inputs;
    }
}

export const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs) {
        const { id, state } = plausibleState(args.type, args.name, args.inputs);
        recorded.resources.push({ type: args.type, name: args.name, inputs: args.inputs, id, state });
        return { id, state };
    },
    call(args: pulumi.runtime.MockCallArgs) {
        recorded.calls.push({ token: args.token, inputs: args.inputs });
        return invoke(args.token, args.inputs);
    },
};

/**
 * Points the Pulumi runtime at the mocks for one run: project django-fleet, the given stack,
 * the given config (full keys, string values), recorder cleared.
 */
export async function useStack(stack: string, config: Record<string, string> = {}, opts: { preview?: boolean; secretKeys?: string[] } = {}): Promise<void> {
    pulumi.runtime.setAllConfig(config, opts.secretKeys);
    await pulumi.runtime.setMocks(mocks, PROJECT, stack, opts.preview ?? false);
    recorded.reset();
}

/** Waits until every pending resource registration and invoke has been answered. */
export async function settle(): Promise<void> {
    // settings.waitForRPCs is internal to @pulumi/pulumi; fall back to polling the recorder.
    const settings = require("@pulumi/pulumi/runtime/settings");
    if (typeof settings.waitForRPCs === "function") {
        await settings.waitForRPCs();
        return;
    }
    let last = -1;
    for (let stable = 0; stable < 5; ) {
        await new Promise((r) => setTimeout(r, 5));
        stable = recorded.resources.length === last ? stable + 1 : 0;
        last = recorded.resources.length;
    }
}

/** The value of an Output (resolved through the mocks). */
export function promiseOf<T>(output: pulumi.Input<T> | undefined): Promise<T> {
    return new Promise((resolve) => pulumi.output(output as pulumi.Input<T>).apply((v) => { resolve(v as T); return v; }));
}

/** Whether an Output is marked secret. */
export async function isSecretOutput(output: unknown): Promise<boolean> {
    return pulumi.Output.isInstance(output) ? await (output as any).isSecret : false;
}

/** The marker Pulumi's serializer puts on a secret value (recorded inputs keep it). */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a recorded input value is a secret ({ <sig key>: SECRET_SIG, value }). */
export function isSecretValue(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && Object.values(v).includes(SECRET_SIG) && "value" in v;
}

/** A recorded input with every secret wrapper removed. */
export function plain(v: any): any {
    if (isSecretValue(v)) return plain(v.value);
    if (Array.isArray(v)) return v.map(plain);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
}

/**
 * Every place a string occurs in a recorded value outside a secret wrapper, as paths like
 * "userData" or "tags.Name" (for leak checks).
 */
export function plainOccurrences(v: any, needle: string, at = ""): string[] {
    if (isSecretValue(v)) return [];
    if (typeof v === "string") {
        const decoded = /^[A-Za-z0-9+/]{40,}={0,2}$/.test(v) ? Buffer.from(v, "base64").toString("utf8") : "";
        return v.includes(needle) || decoded.includes(needle) ? [at || "(value)"] : [];
    }
    if (Array.isArray(v)) return v.flatMap((x, i) => plainOccurrences(x, needle, `${at}[${i}]`));
    if (typeof v === "object" && v !== null) return Object.entries(v).flatMap(([k, x]) => plainOccurrences(x, needle, at ? `${at}.${k}` : k));
    return [];
}

function stringifyConfigValue(v: unknown): string {
    return typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * What the Pulumi CLI hands the program for a stack: the project's config defaults from
 * Pulumi.yaml, overlaid with Pulumi.<stack>.yaml, as "namespace:key" -> string.
 */
export function stackConfig(stack: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
    const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { default?: unknown }> };
    const config: Record<string, string> = {};
    for (const [key, spec] of Object.entries(project.config ?? {})) {
        if (spec.default !== undefined) config[`${PROJECT}:${key}`] = stringifyConfigValue(spec.default);
    }
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    if (fs.existsSync(file)) {
        const stackFile = yaml.load(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
        for (const [key, value] of Object.entries(stackFile.config ?? {})) config[key] = stringifyConfigValue(value);
    }
    for (const [key, value] of Object.entries(overrides)) {
        if (value === undefined) delete config[key];
        else config[key] = value;
    }
    return config;
}

export interface ProgramRun {
    /** index.ts's stack outputs (Outputs and plain values). */
    readonly outputs: Record<string, any>;
    /** The outputs' resolved values. */
    readonly values: Record<string, any>;
    /** Which outputs are secret. */
    readonly secret: Record<string, boolean>;
    /** What the run created (a snapshot: later runs do not change it). */
    readonly resources: Recorder;
}

/**
 * Builds the program (index.ts) under a stack's config (Pulumi.yaml defaults +
 * Pulumi.<stack>.yaml + overrides) and waits until every resource is registered.
 */
export async function runProgram(stack: string, overrides: Record<string, string | undefined> = {}, opts: { preview?: boolean; secretKeys?: string[] } = {}): Promise<ProgramRun> {
    await useStack(stack, stackConfig(stack, overrides), opts);
    const main: () => Record<string, any> = require(path.join(ROOT, "index"));
    const outputs = main();
    await settle();
    const values: Record<string, unknown> = {};
    const secret: Record<string, boolean> = {};
    for (const [key, value] of Object.entries(outputs)) {
        values[key] = await promiseOf(value);
        secret[key] = await isSecretOutput(value);
    }
    return { outputs, values, secret, resources: recorded.snapshot() };
}

/** A child resource's type, name and options, as a component passed them (captured with a transformation). */
export interface CapturedChild {
    readonly type: string;
    readonly name: string;
    readonly opts: pulumi.CustomResourceOptions;
}

/**
 * Builds one component under the mocks and waits for its children. `make` receives options to
 * pass to the component: they capture every child's resource options (ignoreChanges, dependsOn, ...).
 */
export async function buildComponent<T>(make: (opts: pulumi.ComponentResourceOptions) => T, stack = "unit", config: Record<string, string> = {}): Promise<{ component: T; resources: Recorder; children: CapturedChild[] }> {
    await useStack(stack, config);
    const children: CapturedChild[] = [];
    const component = make({
        transformations: [(args) => {
            children.push({ type: args.type, name: args.name, opts: args.opts as pulumi.CustomResourceOptions });
            return undefined;
        }],
    });
    await settle();
    return { component, resources: recorded.snapshot(), children };
}
