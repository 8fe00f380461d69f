/**
 * Pulumi's real dynamic-provider host, driven over gRPC the way the engine drives it.
 *
 * The CLI runs a dynamic resource's provider in `pulumi-resource-pulumi-nodejs`, which is
 * `node node_modules/@pulumi/pulumi/cmd/dynamic-provider <engine address>` started in the
 * project directory. The host prints its gRPC port on stdout, then the engine calls
 * GetPluginInfo, Configure, and Check / Diff / Create / Update / Read / Delete with
 * google.protobuf.Struct properties. This module does the engine's part:
 *
 * - serves the Engine service the host may call back (Log and the root-resource calls),
 *   recording every call;
 * - starts the host from this project's own node_modules, cwd = the project directory, with
 *   the environment a test gives it (AWS endpoint, credentials);
 * - sends requests in the engine's wire format: Struct properties; unknown values as the
 *   engine's unknown sentinel string (the host's Configure answers acceptSecrets=false, so the
 *   engine sends secret values unwrapped);
 * - returns each answer as the engine receives it: the response message as a plain object, or
 *   the gRPC error with its details (ErrorResourceInitFailed for a create or update that failed
 *   with partial state).
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { ROOT } from "./pulumi-mocks";

const P = (m: string) => require(path.join(ROOT, "node_modules/@pulumi/pulumi/proto", m));
const grpc = require(require.resolve("@grpc/grpc-js", { paths: [path.join(ROOT, "node_modules/@pulumi/pulumi")] }));
const structproto = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [path.join(ROOT, "node_modules/@pulumi/pulumi")] }));
const emptyproto = require(require.resolve("google-protobuf/google/protobuf/empty_pb", { paths: [path.join(ROOT, "node_modules/@pulumi/pulumi")] }));
const provproto = P("provider_pb");
const provrpc = P("provider_grpc_pb");
const engrpc = P("engine_grpc_pb");
const engproto = P("engine_pb");
const statusproto = P("status_pb");

/** The engine's marker for a value not known during preview, as the provider knows it. */
import { UNKNOWN } from "../../providers/release/provider";
export { UNKNOWN };
export const HOST_ENTRY = path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/dynamic-provider");

/** A failed call as the engine sees it. */
export interface HostError {
    code: number;
    message: string;
    /** Present when the provider failed after creating (partial state): the engine saves these. */
    initFailed?: { id: string; properties: Record<string, any>; reasons: string[] };
}

export type HostAnswer<T> = { ok: true; value: T } | { ok: false; error: HostError };

export interface EngineLog {
    severity: number;
    message: string;
}

/** A running host plus the fake engine it was given. */
export class ProviderHost {
    readonly logs: EngineLog[] = [];
    readonly stderr: string[] = [];
    readonly stdout: string[] = [];
    /** Milliseconds from spawn until the host printed its port. */
    startupMs = 0;
    private proc?: ChildProcess;
    private engine?: any;
    private client?: any;

    static async start(opts: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<ProviderHost> {
        const h = new ProviderHost();
        await h.startEngine();
        await h.spawnHost(opts);
        return h;
    }

    private async startEngine(): Promise<void> {
        const server = new grpc.Server();
        const logs = this.logs;
        server.addService(engrpc.EngineService, {
            log(call: any, cb: any) {
                logs.push({ severity: call.request.getSeverity(), message: call.request.getMessage() });
                cb(null, new emptyproto.Empty());
            },
            getRootResource(_call: any, cb: any) {
                cb(null, new engproto.GetRootResourceResponse());
            },
            setRootResource(_call: any, cb: any) {
                cb(null, new engproto.SetRootResourceResponse());
            },
        });
        const port: number = await new Promise((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e: Error | null, p: number) => (e ? rej(e) : res(p))));
        this.engine = { server, port };
    }

    private async spawnHost(opts: { env?: Record<string, string | undefined>; cwd?: string }): Promise<void> {
        const t0 = Date.now();
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries({ ...process.env, ...opts.env })) if (v !== undefined) env[k] = v;
        // The host is not the test process: no mocha, no ts-node registration inherited.
        delete env.TS_NODE_TRANSPILE_ONLY;
        delete env.NODE_OPTIONS;
        const proc = spawn(process.execPath, [HOST_ENTRY, `127.0.0.1:${this.engine.port}`], { cwd: opts.cwd ?? ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
        this.proc = proc;
        proc.stderr!.setEncoding("utf8").on("data", (d: string) => this.stderr.push(d));
        const port: number = await new Promise((res, rej) => {
            let buf = "";
            const onData = (d: string) => {
                buf += d;
                const m = /^(\d+)\s*\n/.exec(buf);
                if (m) {
                    proc.stdout!.off("data", onData);
                    proc.stdout!.on("data", (x: string) => this.stdout.push(x));
                    res(Number(m[1]));
                }
            };
            proc.stdout!.setEncoding("utf8").on("data", onData);
            proc.once("exit", (code) => rej(new Error(`provider host exited (${code}) before printing its port: ${this.stderr.join("")}`)));
            setTimeout(() => rej(new Error(`provider host printed no port in 30 s: ${this.stderr.join("")}`)), 30_000).unref();
        });
        this.startupMs = Date.now() - t0;
        this.client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    }

    async stop(): Promise<void> {
        this.client?.close();
        if (this.proc && this.proc.exitCode === null) {
            const exited = new Promise((r) => this.proc!.once("exit", r));
            this.proc.kill("SIGTERM");
            await exited;
        }
        await new Promise<void>((r) => this.engine?.server.tryShutdown(() => r()) ?? r());
    }

    private rpc<T>(method: string, req: any, toJs: (resp: any) => T): Promise<HostAnswer<T>> {
        return new Promise((resolve) => {
            this.client[method](req, (err: any, resp: any) => {
                if (err) resolve({ ok: false, error: decodeError(err) });
                else resolve({ ok: true, value: toJs(resp) });
            });
        });
    }

    getPluginInfo() {
        return this.rpc("getPluginInfo", new emptyproto.Empty(), (r: any) => ({ version: r.getVersion() }));
    }

    /** Configure as the engine sends it for a dynamic resource: the provider's config variables. */
    configure(variables: Record<string, string> = {}) {
        const req = new provproto.ConfigureRequest();
        req.setAcceptsecrets(true);
        req.setAcceptresources(true);
        const m = req.getVariablesMap();
        for (const [k, v] of Object.entries(variables)) m.set(k, v);
        req.setArgs(structproto.Struct.fromJavaScript({}));
        return this.rpc("configure", req, (r: any) => ({ acceptSecrets: r.getAcceptsecrets(), supportsPreview: r.getSupportspreview() }));
    }

    check(urn: string, olds: Record<string, any>, news: Record<string, any>) {
        const req = new provproto.CheckRequest();
        req.setUrn(urn);
        req.setOlds(toStruct(olds));
        req.setNews(toStruct(news));
        return this.rpc("check", req, (r: any) => ({
            inputs: r.getInputs()?.toJavaScript() ?? {},
            failures: r.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
        }));
    }

    diff(urn: string, id: string, olds: Record<string, any>, news: Record<string, any>) {
        const req = new provproto.DiffRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setOlds(toStruct(olds));
        req.setNews(toStruct(news));
        return this.rpc("diff", req, (r: any) => ({ changes: r.getChanges(), replaces: r.getReplacesList(), deleteBeforeReplace: r.getDeletebeforereplace() }));
    }

    create(urn: string, properties: Record<string, any>, timeoutS = 0) {
        const req = new provproto.CreateRequest();
        req.setUrn(urn);
        req.setProperties(toStruct(properties));
        req.setTimeout(timeoutS);
        return this.rpc("create", req, (r: any) => ({ id: r.getId(), properties: r.getProperties()?.toJavaScript() ?? {} }));
    }

    update(urn: string, id: string, olds: Record<string, any>, news: Record<string, any>, timeoutS = 0) {
        const req = new provproto.UpdateRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setOlds(toStruct(olds));
        req.setNews(toStruct(news));
        req.setTimeout(timeoutS);
        return this.rpc("update", req, (r: any) => ({ properties: r.getProperties()?.toJavaScript() ?? {} }));
    }

    read(urn: string, id: string, properties: Record<string, any>) {
        const req = new provproto.ReadRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setProperties(toStruct(properties));
        return this.rpc("read", req, (r: any) => ({ id: r.getId(), properties: r.getProperties()?.toJavaScript() ?? {}, inputs: r.getInputs()?.toJavaScript() ?? null }));
    }

    delete(urn: string, id: string, properties: Record<string, any>) {
        const req = new provproto.DeleteRequest();
        req.setUrn(urn);
        req.setId(id);
        req.setProperties(toStruct(properties));
        return this.rpc("delete", req, () => ({}));
    }
}

/** The wire form of properties: what Struct.fromJavaScript keeps (undefined dropped, as the engine never sends it). */
export function toStruct(v: Record<string, any>): any {
    return structproto.Struct.fromJavaScript(JSON.parse(JSON.stringify(v)));
}

/** Round-trips a value through the wire format: what the engine would receive for it. */
export function wire<T>(v: T): T {
    return toStruct(v as any).toJavaScript();
}

function decodeError(err: any): HostError {
    const out: HostError = { code: err.code, message: err.details ?? err.message };
    const bin = err.metadata?.get?.("grpc-status-details-bin")?.[0];
    if (bin) {
        const st = statusproto.Status.deserializeBinary(new Uint8Array(bin));
        for (const any of st.getDetailsList()) {
            if (any.getTypeName() === "pulumirpc.ErrorResourceInitFailed") {
                const d = provproto.ErrorResourceInitFailed.deserializeBinary(any.getValue_asU8());
                out.initFailed = { id: d.getId(), properties: d.getProperties()?.toJavaScript() ?? {}, reasons: d.getReasonsList() };
            }
        }
    }
    return out;
}

/** The URN the engine gives the stack's Release resource. */
export function releaseUrn(stack: string, project = "django-fleet"): string {
    return `urn:pulumi:${stack}::${project}::pulumi-nodejs:dynamic/django-fleet:Release::release`;
}

/**
 * The Release resource's inputs exactly as the real program (index.ts) registers them under a
 * stack's config, `__provider` (the serialized provider) included, with secrets unwrapped: the
 * engine sends them plain to a provider that answered Configure with acceptSecrets=false.
 */
export async function captureRelease(stack: string, overrides: Record<string, string | undefined> = {}): Promise<Record<string, any>> {
    const { runProgram, plain } = require("./pulumi-mocks");
    const run = await runProgram(stack, overrides);
    const r = run.resources.one("pulumi-nodejs:dynamic/django-fleet:Release");
    return wire(plain(r.inputs));
}

/** The ids a new stack's first preview does not know yet, as the engine sends them: its unknown sentinel. */
export const IDS_FROM_OTHER_RESOURCES = ["autoScalingGroupName", "baseLaunchTemplateId", "baseLaunchTemplateVersion", "targetGroupArn", "listenerArn", "managementInstanceId", "distributionId"] as const;

export function asNewStackPreview(inputs: Record<string, any>): Record<string, any> {
    const out: Record<string, any> = { ...inputs };
    for (const k of IDS_FROM_OTHER_RESOURCES) out[k] = UNKNOWN;
    out.remote = { ...inputs.remote, instanceId: UNKNOWN };
    // The target group's outputs too: its timings are not known before it exists.
    if ("targetGroupTimings" in inputs) out.targetGroupTimings = UNKNOWN;
    return out;
}

const GRPC_UNKNOWN = 2;

function asHostError(e: any): HostError {
    const out: HostError = { code: GRPC_UNKNOWN, message: String(e?.message ?? e) };
    if (e?.id) out.initFailed = { id: e.id, properties: wire(e.properties ?? {}), reasons: e.reasons ?? [] };
    return out;
}

async function answer<T>(f: () => Promise<T>): Promise<HostAnswer<T>> {
    try {
        return { ok: true, value: await f() };
    } catch (e) {
        return { ok: false, error: asHostError(e) };
    }
}

/**
 * The same calls on a ReleaseProvider in this process, answered in the form the engine gets
 * from the host (host semantics: `__provider` carried into check's inputs and create/update/read
 * properties; diff's changes as the DiffChanges enum; an error with `id` as ErrorResourceInitFailed).
 * What the host answers must equal this.
 */
export class InProcessProvider {
    constructor(private readonly provider: any) {}

    check(_urn: string, olds: Record<string, any>, news: Record<string, any>) {
        return answer(async () => {
            const r = await this.provider.check(wire(olds), wire(news));
            const inputs = { ...(r.inputs ?? news), __provider: news.__provider };
            return { inputs: wire(inputs), failures: (r.failures ?? []).map((f: any) => ({ property: f.property, reason: f.reason })) };
        });
    }

    diff(_urn: string, id: string, olds: Record<string, any>, news: Record<string, any>) {
        return answer(async () => {
            const r = await this.provider.diff(id, wire(olds), wire(news));
            const E = provproto.DiffResponse.DiffChanges;
            return {
                changes: r.changes === true ? E.DIFF_SOME : r.changes === false ? E.DIFF_NONE : E.DIFF_UNKNOWN,
                replaces: r.replaces ?? [],
                deleteBeforeReplace: !!r.deleteBeforeReplace,
            };
        });
    }

    create(_urn: string, properties: Record<string, any>) {
        return answer(async () => {
            const r = await this.provider.create(wire(properties));
            return { id: r.id, properties: wire({ ...r.outs, __provider: properties.__provider }) };
        });
    }

    update(_urn: string, id: string, olds: Record<string, any>, news: Record<string, any>) {
        return answer(async () => {
            const r = await this.provider.update(id, wire(olds), wire(news));
            return { properties: wire({ ...(r?.outs ?? {}), __provider: news.__provider }) };
        });
    }

    read(_urn: string, id: string, properties: Record<string, any>) {
        return answer(async () => {
            const r = await this.provider.read(id, wire(properties));
            return { id: r.id, properties: wire({ ...r.props, __provider: properties.__provider }), inputs: r.inputs ? wire({ ...r.inputs, __provider: properties.__provider }) : null };
        });
    }

    delete(_urn: string, id: string, properties: Record<string, any>) {
        return answer(async () => {
            await this.provider.delete(id, wire(properties));
            return {};
        });
    }
}
