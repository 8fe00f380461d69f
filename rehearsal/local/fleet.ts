/**
 * The local Auto Scaling group and the target group its instances register in: gunicorn
 * instances behind HAProxy (haproxy.ts), kept at the desired capacity by a supervisor (a
 * reconcile loop every 200 ms) that honours min/max, the Launch, Terminate and ReplaceUnhealthy
 * suspensions and scale-in protection. Each instance runs from its own (hard-linked) copy of the
 * image of the default launch template version (images.ts), on its own 127.0.0.1 port.
 *
 * Instance lifecycle: Pending (copying the image, starting gunicorn) -> InService (registered
 * in the target group: `initial` until `rise` health checks pass) -> Terminating (deregistered
 * and drained for the deregistration delay, then SIGTERM: gunicorn finishes requests in flight)
 * -> gone from the group. An instance whose app never starts (the bare base image, a version
 * that fails at start) still goes InService, as an EC2 instance would, and its target turns
 * unhealthy. With ELB health checks, an InService instance whose target is unhealthy after the
 * grace period is marked Unhealthy and replaced unless ReplaceUnhealthy is suspended.
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { promisify } from "util";
import { GroupInstance, GroupState } from "../../providers/release/ports";
import { freePort } from "../../testkit/services";
import { Activities } from "./activities";
import { CloudError, Ids } from "./aws-style";
import { Haproxy, HealthCheckSettings } from "./haproxy";
import { ImageStore, LocalImage } from "./images";
import { Spawned, portOpen, spawnGroup, stopGroup } from "./procs";

const run = promisify(execFile);

export interface LocalAppSpec {
    /** gunicorn's WSGI target, e.g. "mysite.wsgi:application". */
    wsgi: string;
    /** Environment of every instance; also written to <app dir>/shared/env (KEY=VALUE lines). */
    env: Record<string, string>;
    /** gunicorn workers per instance. @default 2 */
    workers?: number;
    /** Seconds gunicorn gives requests in flight after SIGTERM. @default 10 */
    gracefulTimeoutS?: number;
    /** Python used when the release has no venv. @default "/usr/bin/python3" */
    python?: string;
}

type GroupSize = { minSize: number; maxSize: number; desiredCapacity: number };

export interface FleetOptions {
    /** The group's size at start. @default { minSize: 0, maxSize: 4, desiredCapacity: 0 } */
    group?: GroupSize;
    /** The load balancer's front-end port on 127.0.0.1 (0: a free one). */
    port?: number;
    /** Health check of the target group (scaled-down ALB settings). */
    health?: Partial<HealthCheckSettings>;
    /** The target group's deregistration delay, seconds. @default 2 */
    deregistrationDelayS?: number;
    /** ELB health-check grace period of the group, seconds. @default 30 */
    healthCheckGracePeriodS?: number;
    /** How long an instance may take to open its port before it counts as booted anyway. @default 20 */
    bootTimeoutS?: number;
    app: LocalAppSpec;
}

/** What the fleet works with: its group's name (for the log), the run's directory, where instances start from. */
export interface FleetContext {
    groupName: string;
    /** Instances go to <workDir>/instances, HAProxy's files to <workDir>/haproxy. */
    workDir: string;
    images: ImageStore;
    activities: Activities;
    log: (line: string) => void;
}

export interface FleetInstance {
    instanceId: string;
    port: number;
    release: string | null;
    lifecycleState: string;
    launchTemplateVersion: string;
    /** The instance's own copy of the image's release directory. */
    releaseDir: string | null;
}

interface LocalInstance {
    id: string;
    lifecycleState: string;
    healthStatus: string;
    launchTemplateVersion: string;
    protectedFromScaleIn: boolean;
    launchedAt: number;
    inServiceAt: number | null;
    port: number;
    dir: string;
    /** The release directory name the image holds (the version), null for the bare image. */
    release: string | null;
    proc: Spawned | null;
    stopping: Promise<void> | null;
}

export class Fleet {
    /** The target group's deregistration delay, seconds. */
    readonly deregistrationDelayS: number;

    private readonly groupName: string;
    private readonly workDir: string;
    private readonly images: ImageStore;
    private readonly activities: Activities;
    private readonly log: (line: string) => void;
    private readonly ids = new Ids();
    private lb: Haproxy | null = null;
    private timer: NodeJS.Timeout | null = null;
    private reconciling = false;
    private stopped = false;
    private size: GroupSize;
    private readonly instances: LocalInstance[] = [];
    private readonly suspended = new Set<string>();
    private readonly drains = new Map<string, Promise<void>>();
    private readonly scalingFailures: { t: number; message: string }[] = [];

    constructor(private readonly opts: FleetOptions, context: FleetContext) {
        this.groupName = context.groupName;
        this.workDir = context.workDir;
        this.images = context.images;
        this.activities = context.activities;
        this.log = context.log;
        this.deregistrationDelayS = opts.deregistrationDelayS ?? 2;
        this.size = { ...(opts.group ?? { minSize: 0, maxSize: 4, desiredCapacity: 0 }) };
        validateSize(this.size);
    }

    /** Starts HAProxy and the supervisor. */
    async start(): Promise<void> {
        const port = this.opts.port || (await freePort());
        this.lb = await Haproxy.start({ dir: path.join(this.workDir, "haproxy"), port, health: this.opts.health, slots: Math.max(16, this.size.maxSize * 2 + 4) });
        this.timer = setInterval(() => void this.reconcile(), 200);
        await this.reconcile();
    }

    get balancer(): Haproxy {
        if (!this.lb) throw new Error("LocalCloud: start() first");
        return this.lb;
    }

    /** Stops the supervisor, every instance and HAProxy. Safe to call twice. */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        if (this.timer) clearInterval(this.timer);
        // Instances first (a boot waiting for its port ends when its process does), then the
        // activities in flight (drains), then HAProxy.
        await Promise.allSettled(this.instances.map((i) => (i.proc ? stopGroup(i.proc, 3000) : Promise.resolve())));
        await this.activities.settled();
        await Promise.allSettled(this.instances.map((i) => (i.proc ? stopGroup(i.proc, 3000) : Promise.resolve()))); // started meanwhile
        if (this.lb) await this.lb.stop();
    }

    /** Live instances with their port and release, for checks and the report. */
    list(): FleetInstance[] {
        return this.instances.map((i) => ({
            instanceId: i.id,
            port: i.port,
            release: i.release,
            lifecycleState: i.lifecycleState,
            launchTemplateVersion: i.launchTemplateVersion,
            releaseDir: i.release ? path.join(i.dir, "app", "releases", i.release) : null,
        }));
    }

    /** The group's size, instances and suspended processes, as DescribeAutoScalingGroups shows them. */
    describe(): Pick<GroupState, "minSize" | "maxSize" | "desiredCapacity" | "instances" | "suspendedProcesses"> {
        const instances: GroupInstance[] = this.instances.map((i) => ({
            instanceId: i.id,
            lifecycleState: i.lifecycleState,
            healthStatus: i.healthStatus,
            launchTemplateVersion: i.launchTemplateVersion,
            protectedFromScaleIn: i.protectedFromScaleIn,
            availabilityZone: "local-1a",
        }));
        return { ...this.size, instances, suspendedProcesses: [...this.suspended].sort() };
    }

    /** The message of the latest failed boot at or after `sinceMs`, null when none. */
    lastScalingFailure(sinceMs: number): string | null {
        const f = this.scalingFailures.find((x) => x.t >= sinceMs);
        return f ? f.message : null;
    }

    async resize(size: Partial<GroupSize>): Promise<void> {
        const next = { ...this.size, ...definedOnly(size) };
        validateSize(next);
        this.size = next;
        this.log(`group ${this.groupName}: min ${next.minSize}, max ${next.maxSize}, desired ${next.desiredCapacity}`);
        await this.reconcile();
    }

    suspend(processes: string[]): void {
        for (const p of processes) this.suspended.add(p);
    }

    resume(processes: string[]): void {
        for (const p of processes) this.suspended.delete(p);
    }

    terminate(instanceId: string, decrementDesiredCapacity: boolean): void {
        const inst = this.instances.find((i) => i.id === instanceId);
        if (!inst) throw new CloudError("ValidationError", `Instance Id not found - No managed instance found for instance ID: ${instanceId}`);
        if (inst.lifecycleState.startsWith("Terminat")) return;
        if (decrementDesiredCapacity) {
            if (this.size.desiredCapacity - 1 < this.size.minSize) {
                throw new CloudError(
                    "ValidationError",
                    `Currently, desiredSize equals minSize (${this.size.minSize}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
                );
            }
            this.size.desiredCapacity -= 1;
        }
        this.beginTermination(inst, `terminating${decrementDesiredCapacity ? ", desired decremented" : ""}`);
    }

    /** Back into the load balancer (after its drain, if one is under way), as RegisterTargets does. */
    async register(id: string): Promise<void> {
        const inst = this.instances.find((i) => i.id === id);
        if (!inst || inst.lifecycleState !== "InService") throw new CloudError("InvalidTarget", `The following targets are not in a running state and cannot be registered: '${id}'`);
        const drain = this.drains.get(id);
        if (drain) await drain;
        this.drains.delete(id);
        await this.balancer.register(id, inst.port);
    }

    private async reconcile(): Promise<void> {
        if (this.reconciling || this.stopped || !this.lb) return;
        this.reconciling = true;
        try {
            await this.checkElbHealth();
            const active = this.instances.filter((i) => !i.lifecycleState.startsWith("Terminat"));
            if (active.length < this.size.desiredCapacity && !this.suspended.has("Launch")) {
                for (let n = active.length; n < this.size.desiredCapacity; n++) await this.launch();
            } else if (active.length > this.size.desiredCapacity && !this.suspended.has("Terminate")) {
                const victims = active
                    .filter((i) => !i.protectedFromScaleIn)
                    .sort((a, b) => Number(a.launchTemplateVersion) - Number(b.launchTemplateVersion) || a.launchedAt - b.launchedAt)
                    .slice(0, active.length - this.size.desiredCapacity);
                for (const v of victims) this.beginTermination(v, "terminating (scale-in)");
            }
        } catch (e) {
            this.log(`supervisor: ${(e as Error).message}`);
        } finally {
            this.reconciling = false;
        }
    }

    /**
     * ELB health checks: an InService instance whose target is unhealthy after the grace period
     * becomes Unhealthy; Unhealthy instances are replaced (terminated without decrement, the
     * group launches another) unless ReplaceUnhealthy is suspended.
     */
    private async checkElbHealth(): Promise<void> {
        const grace = (this.opts.healthCheckGracePeriodS ?? 30) * 1000;
        const candidates = this.instances.filter(
            (i) => i.lifecycleState === "InService" && i.healthStatus === "Healthy" && i.inServiceAt !== null && Date.now() - i.inServiceAt > grace,
        );
        if (candidates.length > 0) {
            const health = await this.balancer.targetHealth();
            for (const i of candidates) {
                if (health[i.id] !== "unhealthy") continue;
                i.healthStatus = "Unhealthy";
                this.log(`${i.id}: Unhealthy (target unhealthy after the ${grace / 1000} s grace period)`);
            }
        }
        if (this.suspended.has("ReplaceUnhealthy")) return;
        for (const i of this.instances) {
            if (i.lifecycleState === "InService" && i.healthStatus === "Unhealthy") this.beginTermination(i, "terminating (replacing an unhealthy instance)");
        }
    }

    private async launch(): Promise<void> {
        const { version, image } = this.images.launchSpec();
        const id = this.ids.next("i-");
        const inst: LocalInstance = {
            id,
            lifecycleState: "Pending",
            healthStatus: "Healthy",
            launchTemplateVersion: String(version),
            protectedFromScaleIn: false,
            launchedAt: Date.now(),
            inServiceAt: null,
            port: await freePort(),
            dir: path.join(this.workDir, "instances", id),
            release: image && image.state.state === "available" ? image.release : null,
            proc: null,
            stopping: null,
        };
        this.instances.push(inst);
        this.log(`${id}: launching from template v${version} (${inst.release ?? "bare image"}) on 127.0.0.1:${inst.port}`);
        this.activities.track(this.boot(inst, image));
    }

    private async boot(inst: LocalInstance, image: LocalImage | undefined): Promise<void> {
        try {
            if (inst.release && image) {
                const appDir = path.join(inst.dir, "app");
                const releaseDir = path.join(appDir, "releases", inst.release);
                fs.mkdirSync(path.join(appDir, "releases"), { recursive: true });
                fs.mkdirSync(path.join(appDir, "shared"), { recursive: true });
                // Hard links: instant, and the image stays intact (nothing rewrites a file in place;
                // Python's bytecode cache writes new files).
                await run("cp", ["-al", path.join(image.dir, image.release), releaseDir]);
                fs.symlinkSync(path.join("releases", inst.release), path.join(appDir, "current"));
                const env = this.opts.app.env;
                fs.writeFileSync(path.join(appDir, "shared", "env"), Object.entries(env).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
                if (inst.lifecycleState !== "Pending" || this.stopped) return;
                inst.proc = this.startApp(inst, releaseDir);
                const deadline = Date.now() + (this.opts.bootTimeoutS ?? 20) * 1000;
                while (!inst.proc.done && Date.now() < deadline && !(await portOpen(inst.port))) await sleep(100);
                if (inst.proc.done) {
                    this.log(`${inst.id}: gunicorn exited at start (see ${path.join(inst.dir, "gunicorn.log")})`);
                    this.scalingFailures.unshift({ t: Date.now(), message: `${inst.id}: the app exited at start (see ${path.join(inst.dir, "gunicorn.log")})` });
                }
            } else {
                fs.mkdirSync(inst.dir, { recursive: true });
            }
        } catch (e) {
            this.log(`${inst.id}: boot failed: ${(e as Error).message}`);
            this.scalingFailures.unshift({ t: Date.now(), message: `${inst.id}: boot failed: ${(e as Error).message}` });
        }
        if (inst.lifecycleState !== "Pending" || this.stopped) return;
        inst.lifecycleState = "InService";
        inst.inServiceAt = Date.now();
        await this.balancer.register(inst.id, inst.port);
        this.log(`${inst.id}: InService, registered in the target group`);
    }

    private startApp(inst: LocalInstance, releaseDir: string): Spawned {
        const app = this.opts.app;
        const venvPython = path.join(releaseDir, "venv", "bin", "python");
        const python = fs.existsSync(venvPython) ? venvPython : app.python ?? "/usr/bin/python3";
        const args = [
            "-m", "gunicorn",
            "--bind", `127.0.0.1:${inst.port}`,
            "--workers", String(app.workers ?? 2),
            "--graceful-timeout", String(app.gracefulTimeoutS ?? 10),
            "--chdir", releaseDir,
            "--name", `rehearsal-${inst.id}`,
            app.wsgi,
        ];
        const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8", ...app.env, INSTANCE_ID: inst.id };
        return spawnGroup(python, args, { cwd: releaseDir, env, logFile: path.join(inst.dir, "gunicorn.log") });
    }

    /** Drains the target for the deregistration delay, then frees its slot (once per drain). */
    deregister(id: string): Promise<void> {
        const existing = this.drains.get(id);
        if (existing) return existing;
        if (!this.balancer.isRegistered(id)) return Promise.resolve();
        const delay = this.deregistrationDelayS * 1000;
        const drained = (async () => {
            await this.balancer.drain(id);
            this.log(`${id}: draining (${delay / 1000} s)`);
            await sleep(delay);
            await this.balancer.remove(id);
        })();
        this.drains.set(id, drained);
        this.activities.track(drained);
        return drained;
    }

    private beginTermination(inst: LocalInstance, why: string): void {
        if (inst.stopping) return;
        inst.lifecycleState = "Terminating";
        this.log(`${inst.id}: ${why}`);
        inst.stopping = (async () => {
            await this.deregister(inst.id);
            inst.lifecycleState = "Terminating:Proceed";
            if (inst.proc) await stopGroup(inst.proc, ((this.opts.app.gracefulTimeoutS ?? 10) + 2) * 1000);
            inst.lifecycleState = "Terminated";
            const at = this.instances.indexOf(inst);
            if (at >= 0) this.instances.splice(at, 1);
            this.drains.delete(inst.id);
            this.log(`${inst.id}: terminated (gunicorn stopped)`);
        })();
        this.activities.track(inst.stopping);
    }
}

function validateSize(s: GroupSize): void {
    for (const [k, v] of Object.entries(s)) {
        if (!Number.isInteger(v) || v < 0) throw new CloudError("ValidationError", `${k} (${v}) must be a non-negative integer`);
    }
    if (s.minSize > s.maxSize) throw new CloudError("ValidationError", `Max bound, ${s.maxSize}, must be greater than or equal to min bound, ${s.minSize}`);
    if (s.desiredCapacity < s.minSize || s.desiredCapacity > s.maxSize) {
        throw new CloudError("ValidationError", `Desired capacity:${s.desiredCapacity} must be between the specified min size:${s.minSize} and max size:${s.maxSize}`);
    }
}

function definedOnly<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
