/**
 * The local target group and load balancer: a real HAProxy (Debian's /usr/sbin/haproxy),
 * configured per run, bound to 127.0.0.1, driven through its runtime API (the stats socket).
 *
 *   ALB concept                     HAProxy
 *   ------------------------------  ----------------------------------------------------------
 *   listener on :80                 frontend `web` bound to 127.0.0.1:<port>
 *   target group + health check     backend `web`, `option httpchk GET <path>`, inter/rise/fall
 *   RegisterTargets                 a free `server-template` slot: `set server web/tN addr ...;
 *                                   state ready; health down` (starts DOWN: no traffic before
 *                                   `rise` good checks, like an ALB target in `initial`)
 *   DeregisterTargets (draining)    `set server web/tN state drain`, then `state maint` after
 *                                   the deregistration delay (the slot is free again)
 *   fixed-response 503 rule         `http-request return 503` while a map holds the page
 *
 * Target states map to the ALB's: UP -> healthy; drain -> draining; DOWN after having been UP
 * -> unhealthy; DOWN since registration -> initial while the checks pass on their way up (or
 * have not had `fall` intervals to fail), unhealthy once the last check failed after that long
 * (HAProxy counts failed checks only while a server is up, hence the time-based rule).
 */
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { TargetHealthState } from "../../providers/release/ports";
import { Spawned, spawnGroup, stopGroup, waitFor } from "./procs";

export interface HealthCheckSettings {
    /** The Django health view. @default "/health/" */
    path: string;
    /** Seconds between checks (the ALB's HealthCheckIntervalSeconds, scaled down). @default 1 */
    intervalS: number;
    /** Consecutive good checks before a target is healthy (HAProxy `rise`). @default 3 */
    healthyThreshold: number;
    /** Consecutive failed checks before a healthy target is unhealthy (HAProxy `fall`). @default 2 */
    unhealthyThreshold: number;
    /** Seconds before one check times out. @default 1 */
    timeoutS: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckSettings = { path: "/health/", intervalS: 1, healthyThreshold: 3, unhealthyThreshold: 2, timeoutS: 1 };

export interface HaproxyOptions {
    /** Where the configuration, the runtime socket, the maintenance map and the log go. */
    dir: string;
    /** The front-end port on 127.0.0.1. */
    port: number;
    /** Server slots (the most targets registered at once). @default 16 */
    slots?: number;
    health?: Partial<HealthCheckSettings>;
    /** @default "/usr/sbin/haproxy" */
    binary?: string;
}

export interface Target {
    slot: string;
    port: number;
    draining: boolean;
    /** UP->DOWN transitions of the slot at registration: the stats counters are per slot and slots are reused. */
    baseDown: number;
    registeredAt: number;
}

export interface ServerStat {
    slot: string;
    status: string;
    checkStatus: string;
    chkfail: number;
    chkdown: number;
    /** Requests answered by this slot since HAProxy started. */
    requests: number;
    current: number;
}

const BACKEND = "web";

export function haproxyConfig(o: { port: number; socket: string; mapFile: string; slots: number; health: HealthCheckSettings }): string {
    const h = o.health;
    const ms = (s: number) => `${Math.max(1, Math.round(s * 1000))}ms`;
    return [
        "global",
        "    nbthread 1",
        `    stats socket ${o.socket} mode 600 level admin`,
        "    maxconn 4096",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout http-keep-alive 10s",
        `    timeout check ${ms(h.timeoutS)}`,
        "    # A connection refused or closed before any byte of the response is retried on",
        "    # another server; requests already answered are never replayed.",
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response",
        "",
        "frontend http_in",
        `    bind 127.0.0.1:${o.port}`,
        `    http-request return status 503 content-type "text/html; charset=utf-8" hdr Retry-After 60 hdr Cache-Control no-store lf-string "%[str(page),map(${o.mapFile}),b64dec]" if { str(page),map(${o.mapFile}) -m found }`,
        `    default_backend ${BACKEND}`,
        "",
        `backend ${BACKEND}`,
        "    # Not roundrobin: one visit is a page then its assets, so with N servers a strict",
        "    # rotation sends every page to the same server position (phase lock) and the report's",
        "    # versions-over-time would show one instance only. Two random choices, less loaded wins.",
        "    balance random(2)",
        "    option httpchk",
        `    http-check send meth GET uri ${h.path} ver HTTP/1.1 hdr Host 127.0.0.1`,
        "    http-check expect status 200",
        `    default-server check inter ${ms(h.intervalS)} rise ${h.healthyThreshold} fall ${h.unhealthyThreshold} init-addr none`,
        `    server-template t 1-${o.slots} 127.0.0.1:1 disabled`,
        "",
    ].join("\n");
}

export class Haproxy {
    readonly health: HealthCheckSettings;
    readonly port: number;
    private readonly targets = new Map<string, Target>();
    private readonly freeSlots: string[];
    private queue: Promise<unknown> = Promise.resolve();
    private maintenanceOn = false;

    private constructor(
        private readonly proc: Spawned,
        private readonly socket: string,
        private readonly mapFile: string,
        readonly logFile: string,
        opts: { port: number; slots: number; health: HealthCheckSettings },
    ) {
        this.port = opts.port;
        this.health = opts.health;
        this.freeSlots = Array.from({ length: opts.slots }, (_, i) => `t${i + 1}`);
    }

    get pid(): number {
        return this.proc.pid;
    }

    static async start(opts: HaproxyOptions): Promise<Haproxy> {
        const health = { ...DEFAULT_HEALTH_CHECK, ...opts.health };
        const slots = opts.slots ?? 16;
        fs.mkdirSync(opts.dir, { recursive: true });
        const socket = path.join(opts.dir, "admin.sock");
        const mapFile = path.join(opts.dir, "maintenance.map");
        const cfg = path.join(opts.dir, "haproxy.cfg");
        const logFile = path.join(opts.dir, "haproxy.log");
        fs.writeFileSync(mapFile, "");
        fs.writeFileSync(cfg, haproxyConfig({ port: opts.port, socket, mapFile, slots, health }));
        const binary = opts.binary ?? "/usr/sbin/haproxy";
        const proc = spawnGroup(binary, ["-db", "-f", cfg], { logFile });
        const lb = new Haproxy(proc, socket, mapFile, logFile, { port: opts.port, slots, health });
        try {
            await waitFor(
                "HAProxy's runtime socket",
                async () => {
                    if (proc.done) throw new Error(`HAProxy exited: ${fs.readFileSync(logFile, "utf8").trim()}`);
                    return fs.existsSync(socket) && (await lb.runtime("show info").then(() => true, () => false));
                },
                10_000,
            );
        } catch (e) {
            await stopGroup(proc, 1000);
            throw e;
        }
        return lb;
    }

    /** One runtime API command (several separated by ";"), serialized; resolves with the answer. */
    runtime(command: string): Promise<string> {
        const run = () =>
            new Promise<string>((resolve, reject) => {
                const conn = net.createConnection(this.socket);
                let out = "";
                conn.setTimeout(5000, () => conn.destroy(new Error(`HAProxy runtime API: no answer to "${command}"`)));
                conn.on("data", (d) => (out += d));
                conn.on("error", reject);
                conn.on("close", () => resolve(out));
                conn.end(command + "\n");
            });
        const next = this.queue.then(run, run);
        this.queue = next.catch(() => undefined);
        return next;
    }

    /** Adds a target in the DOWN state; it takes traffic once `rise` checks in a row pass. */
    async register(targetId: string, port: number): Promise<void> {
        if (this.targets.has(targetId)) return;
        const slot = this.freeSlots.shift();
        if (!slot) throw new Error(`HAProxy: no free server slot for ${targetId} (all ${this.targets.size} in use)`);
        const s = `${BACKEND}/${slot}`;
        const answer = await this.runtime(`set server ${s} addr 127.0.0.1 port ${port}; set server ${s} state ready; set server ${s} health down`);
        if (/unknown|error|not found/i.test(answer)) throw new Error(`HAProxy refused to register ${targetId} in ${s}: ${answer.trim()}`);
        const stat = (await this.stats()).get(slot);
        this.targets.set(targetId, { slot, port, draining: false, baseDown: stat?.chkdown ?? 0, registeredAt: Date.now() });
    }

    /** Stops new requests to the target; requests in flight finish. */
    async drain(targetId: string): Promise<void> {
        const t = this.targets.get(targetId);
        if (!t || t.draining) return;
        t.draining = true;
        await this.runtime(`set server ${BACKEND}/${t.slot} state drain`);
    }

    /** Takes the target out (maintenance) and frees its slot. */
    async remove(targetId: string): Promise<void> {
        const t = this.targets.get(targetId);
        if (!t) return;
        this.targets.delete(targetId);
        await this.runtime(`set server ${BACKEND}/${t.slot} state maint`);
        this.freeSlots.push(t.slot);
    }

    isRegistered(targetId: string): boolean {
        return this.targets.has(targetId);
    }

    isDraining(targetId: string): boolean {
        return this.targets.get(targetId)?.draining ?? false;
    }

    /** The backend's servers as `show stat` reports them, by slot. */
    async stats(): Promise<Map<string, ServerStat>> {
        const csv = await this.runtime(`show stat ${BACKEND} 4 -1`);
        const lines = csv.split("\n").filter((l) => l.trim() !== "");
        const header = (lines.shift() ?? "").replace(/^# /, "").split(",");
        const col = (name: string) => header.indexOf(name);
        const [iSv, iStatus, iCheck, iFail, iDown, iReq, iCur] = ["svname", "status", "check_status", "chkfail", "chkdown", "stot", "scur"].map(col);
        const out = new Map<string, ServerStat>();
        for (const line of lines) {
            const f = line.split(",");
            out.set(f[iSv], {
                slot: f[iSv],
                status: f[iStatus],
                checkStatus: f[iCheck],
                chkfail: Number(f[iFail]) || 0,
                chkdown: Number(f[iDown]) || 0,
                requests: Number(f[iReq]) || 0,
                current: Number(f[iCur]) || 0,
            });
        }
        return out;
    }

    /** DescribeTargetHealth: every registered target's state in the ALB's terms. */
    async targetHealth(): Promise<Record<string, TargetHealthState>> {
        const stats = await this.stats();
        const out: Record<string, TargetHealthState> = {};
        const rule = { fall: this.health.unhealthyThreshold, intervalMs: this.health.intervalS * 1000, timeoutMs: this.health.timeoutS * 1000, now: Date.now() };
        for (const [id, t] of this.targets) out[id] = mapState(t, stats.get(t.slot), rule);
        return out;
    }

    /** Connections open to a target right now (drain is complete when it reaches 0). */
    async activeConnections(targetId: string): Promise<number> {
        const t = this.targets.get(targetId);
        if (!t) return 0;
        return (await this.stats()).get(t.slot)?.current ?? 0;
    }

    /**
     * Shows `html` with a 503 for every request (null: back to normal). HAProxy escapes control
     * characters in a dynamic body, so line breaks become spaces (the page renders the same).
     */
    async setMaintenance(html: string | null): Promise<void> {
        if (html === null) {
            if (this.maintenanceOn) await this.runtime(`clear map ${this.mapFile}`);
            this.maintenanceOn = false;
            return;
        }
        await this.runtime(`clear map ${this.mapFile}; add map ${this.mapFile} page ${Buffer.from(html.replace(/\r?\n/g, " ")).toString("base64")}`);
        this.maintenanceOn = true;
    }

    async stop(): Promise<void> {
        await stopGroup(this.proc, 3000);
    }
}

/** Check results that are failures (HAProxy's check_status; "* " marks a check in progress). */
const FAILED_CHECK = /^(SOCKERR|L4TOUT|L4CON|L6TOUT|L6RSP|L7TOUT|L7RSP|L7STS)$/;

export function mapState(
    t: Pick<Target, "draining" | "baseDown" | "registeredAt">,
    s: ServerStat | undefined,
    rule: { fall: number; intervalMs: number; timeoutMs: number; now: number },
): TargetHealthState {
    if (t.draining) return "draining";
    if (!s) return "unavailable";
    if (s.status.startsWith("UP")) return "healthy";
    if (s.status.startsWith("MAINT")) return "unused";
    if (s.status.startsWith("DOWN")) {
        if (s.chkdown > t.baseDown) return "unhealthy";
        const failing = FAILED_CHECK.test(s.checkStatus.replace(/^\* /, ""));
        const hadTimeToFail = rule.now - t.registeredAt >= rule.fall * rule.intervalMs + rule.timeoutMs;
        return failing && hadTimeToFail ? "unhealthy" : "initial";
    }
    return "unavailable";
}
