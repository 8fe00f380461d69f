/**
 * The local rehearsal: a Django app released through the same executor that drives AWS, onto a
 * fleet on 127.0.0.1, under live traffic, with no AWS account.
 *
 *   management instance   <work>/mgmt/app (releases/<version>, current ->, shared/env), driven by
 *                         the remote phase over the local-shell transport; its own gunicorn
 *                         (started/HUPed by the phase's restartCommand) answers its health URL
 *   cloud                 LocalCloud (rehearsal/local): images, launch template, ASG
 *                         supervisor of gunicorn instances, HAProxy as target group + listener
 *   shared static root    <work>/static (the EFS stand-in)
 *   database              SQLite at <work>/db.sqlite3 through a settings module layered over the
 *                         app's own (put on the releases' sys.path by a .pth file), or a private
 *                         PostgreSQL (testkit/services.ts) with --database postgres
 *
 * Flow: first release of `from` (the executor brings the group to capacity on its image), start
 * traffic, release `to`, stop traffic, check what each instance serves, report. Every process
 * started is stopped in cleanup(), which also runs on SIGINT/SIGTERM (see cli.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as http from "http";
import { runRelease, ReleaseError, ExecResult } from "../providers/release/executor";
import { normalizeInputs, Deployed, ReleaseInputs } from "../providers/release/planner";
import { Clock, MigrationPolicy, RemotePhase, RemotePhaseError } from "../providers/release/ports";
import { LocalCloud } from "./local/cloud";
import { freePort } from "../testkit/services";
import { killMentioning, RUN_MARKER_ENV } from "./local/procs";
import { createRemotePhase, RemotePhaseSettings } from "../providers/release/remote";
import { LocalRemote } from "../providers/release/remote/local";
import { Traffic, TrafficReport, versionOf } from "./traffic";
import { appHostSettings, checkVersions, hostFor, settingsModuleOf, sqliteSettings } from "./app";
export { checkVersions, settingsModuleOf, sqliteSettings };
import { Diagnosis, diagnose, formatDiagnosis, StepOutputs } from "./diagnosis";

/** The install command when none is given: the Debian packages satisfy the requirements (no PyPI here). */
export const DEFAULT_INSTALL_COMMAND = "venv/bin/pip install --no-index --disable-pip-version-check -q -r requirements.txt";

export interface RehearsalOptions {
    /** The app's git repository (path or URL). @default the example app, generated with tags v1..v4 */
    repo?: string;
    /** @default "v1" */
    from?: string;
    /** @default "v2" */
    to?: string;
    /** Fleet size. @default 3 */
    instances?: number;
    /** @default 1 */
    maxSurge?: number | string;
    /** @default "refuse" */
    migrationPolicy?: MigrationPolicy;
    /** @default "sqlite" */
    database?: "sqlite" | "postgres";
    /**
     * How the remote phase reaches the management instance: the local shell, or SSH to a private
     * sshd on 127.0.0.1 (fresh host key, pinned; key-only login) started for the run.
     * @default "local"
     */
    transport?: "local" | "ssh";
    /** The app's settings module. @default read from manage.py */
    settings?: string;
    /** gunicorn's WSGI target. @default "<settings package>.wsgi:application" */
    wsgi?: string;
    /** Installs the app's dependencies in the release directory (its venv is venv/). @default DEFAULT_INSTALL_COMMAND */
    installCommand?: string;
    /** Host header of the traffic and of the fleet check. @default the first ALLOWED_HOSTS entry the app reports */
    host?: string;
    /**
     * More environment for the app (the env file, every instance, every remote command); these
     * win over the rehearsal's own (STATIC_ROOT, ALLOWED_HOSTS, SECRET_KEY, DATABASE_*, ...).
     */
    env?: Record<string, string>;
    /** Page visits per second. @default 15 */
    visitsPerS?: number;
    /** Seconds of traffic before each release starts and after it ends. @default 2 */
    trafficLeadS?: number;
    /** How long a wave's new instances may take to be healthy before the release rolls back. @default 60 */
    healthyTimeoutS?: number;
    /** Where everything of the run goes. @default a new directory under the OS temp dir */
    workDir?: string;
    /** Keep the work directory (logs, images, instances) after the run. @default false */
    keep?: boolean;
    /** Progress lines. */
    log?: (line: string) => void;
    /**
     * Test hook: the install step of the release of `to` (not the set-up's) also waits this many
     * seconds, in a subshell with a child (`( sleep N; true )`), so that a test can interrupt the
     * rehearsal while a remote command runs. The CLI reads it from REHEARSAL_TEST_SLOW_INSTALL_S.
     * @default 0
     */
    slowInstallS?: number;
}

/** Raised by the rehearsal's own hooks (remote phase, clock) once cleanup() has begun. */
export class RehearsalStoppedError extends Error {
    constructor() {
        super("the rehearsal is stopping: no new step starts");
    }
}

export interface TimelineEntry {
    /** Seconds since the release of `to` started (negative: the set-up). */
    atS: number;
    line: string;
}

export interface StepTiming {
    step: string;
    /** When the step ended, seconds since the release started. */
    atS: number;
    durationS: number;
}

export interface RehearsalResult {
    /** The release behaved and no request failed. */
    ok: boolean;
    /** The Host header the traffic sent. */
    host: string;
    /** The last lines of the logs that explain a failed release (remote step output, gunicorn). */
    diagnosis: Diagnosis[];
    from: string;
    to: string;
    instances: number;
    maxSurge: number | string;
    database: "sqlite" | "postgres";
    release: { outcome: "succeeded" | "rolled-back" | "failed" | "refused" | "error"; reason?: string; durationS: number };
    /** The release's steps and waves as they ended. */
    steps: StepTiming[];
    timeline: TimelineEntry[];
    traffic: TrafficReport;
    /** After the release: what each instance serves, asked directly (not through the load balancer). */
    fleet: { instanceId: string; port: number; version: string | null; status: number }[];
    setupS: number;
    /** Seconds of traffic before the release started (the traffic report's time 0). */
    trafficLeadS: number;
    /** The load balancer (HAProxy) the traffic went through. */
    loadBalancerUrl: string;
    workDir: string;
}

export class Rehearsal {
    readonly workDir: string;
    private readonly o: Required<Omit<RehearsalOptions, "repo" | "settings" | "wsgi" | "workDir" | "log" | "slowInstallS" | "host" | "env">> & RehearsalOptions;
    /** The remote steps' output, for the diagnosis of a failure. */
    private readonly stepOutputs = new StepOutputs();
    /** The Host header (setUp: --host or the app's first ALLOWED_HOSTS entry). */
    host = "localhost";
    cloud: LocalCloud | null = null;
    private traffic: Traffic | null = null;
    private phases: RemotePhase[] = [];
    private pg: { stop(): void } | null = null;
    private sshd: { stop(): Promise<void> } | null = null;
    private cleaned: Promise<void> | null = null;
    /** Set when cleanup() begins: no new remote phase, remote command or executor wait starts. */
    private cancelled = false;
    private readonly log: (line: string) => void;
    private readonly logFile: string;
    private env: { cloud: LocalCloud; appDir: string; remotePhase: () => Promise<RemotePhase>; inputs: (version: string, healthyTimeoutS?: number) => ReleaseInputs } | null = null;
    private deployed: Deployed | null = null;
    private setupS = 0;

    constructor(opts: RehearsalOptions = {}) {
        this.o = {
            from: "v1",
            to: "v2",
            instances: 3,
            maxSurge: 1,
            migrationPolicy: "refuse",
            database: "sqlite",
            transport: "local",
            visitsPerS: 15,
            healthyTimeoutS: 60,
            trafficLeadS: 2,
            keep: false,
            installCommand: DEFAULT_INSTALL_COMMAND,
            ...opts,
        };
        if (!Number.isInteger(this.o.instances) || this.o.instances < 1) throw new Error(`--instances must be an integer >= 1, got ${opts.instances}`);
        this.workDir = opts.workDir ? path.resolve(opts.workDir) : fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-"));
        fs.mkdirSync(this.workDir, { recursive: true });
        this.logFile = path.join(this.workDir, "rehearsal.log");
        const out = opts.log ?? (() => undefined);
        this.log = (line) => {
            fs.appendFileSync(this.logFile, line + "\n");
            out(line);
        };
    }

    /** Set-up and the release of `to` under traffic: what the CLI runs. */
    async run(): Promise<RehearsalResult> {
        await this.setUp();
        return this.release(this.o.to);
    }

    /**
     * Stands up the management instance, the local cloud and the database, then brings the fleet
     * up at `from` through the executor (a first release). Resolves with the set-up time.
     */
    async setUp(): Promise<number> {
        if (this.env) throw new Error("setUp() runs once");
        const o = this.o;
        const t0 = Date.now();
        const work = this.workDir;
        const appDir = path.join(work, "mgmt", "app");
        const staticRoot = path.join(work, "static");
        fs.mkdirSync(path.join(appDir, "shared"), { recursive: true });
        fs.mkdirSync(path.join(appDir, "run"), { recursive: true });
        fs.mkdirSync(staticRoot, { recursive: true });

        // The app.
        let repoUrl = o.repo;
        if (!repoUrl) {
            const { buildExampleRepo } = await import("../example/build-repo");
            repoUrl = buildExampleRepo(path.join(work, "repo")).url;
            this.log(`app: the example app (tags v1..v4) in ${path.join(work, "repo")}`);
        } else if (fs.existsSync(repoUrl)) {
            repoUrl = path.resolve(repoUrl);
        }
        checkVersions(repoUrl, [o.from, o.to]);
        const settings = o.settings ?? settingsModuleOf(repoUrl, o.from);
        const wsgi = o.wsgi ?? `${settings.split(".").slice(0, -1).join(".") || settings}.wsgi:application`;

        // The database and the environment every instance gets.
        // The contract of an instance's env file (docs/own-app.md), then the caller's --env.
        const env: Record<string, string> = {
            STATIC_ROOT: staticRoot,
            STATIC_URL: "/static/",
            ALLOWED_HOSTS: "localhost,127.0.0.1",
            SECRET_KEY: "rehearsal-only-not-secret",
            WSGI_APPLICATION: wsgi,
            ...(o.installCommand !== DEFAULT_INSTALL_COMMAND ? { FLEET_INSTALL_COMMAND: o.installCommand } : {}),
        };
        let settingsModule = settings;
        const pyDir = path.join(work, "python");
        fs.mkdirSync(pyDir, { recursive: true });
        if (o.database === "sqlite") {
            settingsModule = "fleet_rehearsal_settings";
            fs.writeFileSync(path.join(pyDir, `${settingsModule}.py`), sqliteSettings(settings, path.join(work, "db.sqlite3")));
        } else {
            const { startPostgres } = await import("../testkit/services");
            const pg = await startPostgres();
            this.pg = pg;
            Object.assign(env, {
                DATABASE_URL: `postgres://${encodeURIComponent(pg.user)}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${encodeURIComponent(pg.database)}`,
                DATABASE_HOST: pg.host,
                DATABASE_PORT: String(pg.port),
                DATABASE_NAME: pg.database,
                DATABASE_USER: pg.user,
                DATABASE_PASSWORD: pg.password,
            });
            this.log(`database: private PostgreSQL on 127.0.0.1:${pg.port}`);
        }
        env.DJANGO_SETTINGS_MODULE = settingsModule;
        Object.assign(env, o.env ?? {});
        fs.writeFileSync(path.join(appDir, "shared", "env"), Object.entries(env).map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o600 });
        // The inspection (preview) runs the candidate's code as nobody (uid 65534, as the instance's
        // fleet-inspect account): a workspace of its own, the work dir traversable, no app secrets.
        fs.chmodSync(work, 0o755);
        for (let dir = path.dirname(work); dir !== path.dirname(dir); dir = path.dirname(dir)) {
            if ((fs.statSync(dir).mode & 0o001) === 0) {
                throw new Error(`the rehearsal's work directory ${work} is inside ${dir}, which other users cannot enter (mode ${(fs.statSync(dir).mode & 0o777).toString(8)}): the inspection runs the candidate's code as nobody and must reach its workspace; use a work directory under a traversable path (e.g. chmod o+x ${dir})`);
            }
        }
        const inspectDir = path.join(work, "inspect");
        fs.mkdirSync(inspectDir, { recursive: true, mode: 0o700 });
        fs.chownSync(inspectDir, 65534, 65534);
        if (o.database === "sqlite") fs.writeFileSync(path.join(work, "db.sqlite3"), "", { flag: "a" }); // exists (empty) for the read-only inspection of the first release
        const inspectEnv = { ...env, SECRET_KEY: "rehearsal-inspection-only" }; // SQLite: read-only by file mode; PostgreSQL: the app's role (a rehearsal)
        fs.writeFileSync(path.join(work, "inspect.env"), Object.entries(inspectEnv).map(([k, v]) => `${k}=${v}`).join("\n") + "\n", { mode: 0o644 });

        // The local cloud.
        const surgeCount = typeof o.maxSurge === "number" ? o.maxSurge : Math.max(1, Math.ceil((parseFloat(String(o.maxSurge)) / 100) * o.instances));
        const maxSize = o.instances + surgeCount;
        const cloud = new LocalCloud({
            workDir: path.join(work, "cloud"),
            managementInstances: { "i-management": appDir },
            group: { minSize: 0, maxSize, desiredCapacity: 0 },
            health: { path: "/health/", intervalS: 1, healthyThreshold: 3, unhealthyThreshold: 2, timeoutS: 2 },
            deregistrationDelayS: 2,
            healthCheckGracePeriodS: 60,
            app: { wsgi, env: { ...env, [RUN_MARKER_ENV]: work }, workers: 2, gracefulTimeoutS: 10 },
            log: (l) => this.log(`    cloud: ${l}`),
        });
        this.cloud = cloud;
        await cloud.start();
        this.log(`load balancer: HAProxy on ${cloud.url} (health ${"/health/"} every 1 s, rise 3, fall 2; deregistration delay 2 s)`);

        // The remote phase on the management instance, over the local shell.
        const mgmtPort = await freePort();
        const pid = path.join(appDir, "run", "gunicorn.pid");
        const start = [
            `DJANGO_SETTINGS_MODULE=${settingsModule}`,
            "current/venv/bin/python -m gunicorn --daemon",
            `--pid ${pid} --chdir ${path.join(appDir, "current")} --bind 127.0.0.1:${mgmtPort} --workers 1 --graceful-timeout 5`,
            `--log-file ${path.join(appDir, "run", "gunicorn.log")} ${wsgi}`,
        ].join(" ");
        const remote: RemotePhaseSettings = {
            transport: "local",
            repositoryUrl: repoUrl,
            appDir,
            staticRoot,
            python: "/usr/bin/python3",
            venvArgs: "--system-site-packages",
            // PyPI is not needed: the Debian packages satisfy the requirements. The .pth file puts
            // the rehearsal's settings module on the release's sys.path (it travels in the image).
            installCommand: [
                `( ${o.installCommand} )`,
                `echo ${pyDir} > "$(venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/fleet_rehearsal.pth"`,
                ...(o.slowInstallS ? [`case "$PWD" in */releases/${o.to}) echo "slow install: ${o.slowInstallS} s (test hook)"; ( sleep ${o.slowInstallS}; true ) ;; esac`] : []),
            ].join(" && "),
            restartCommand: `if [ -f ${pid} ] && kill -0 "$(cat ${pid})" 2>/dev/null; then kill -HUP "$(cat ${pid})"; else ${start}; fi`,
            healthUrl: `http://127.0.0.1:${mgmtPort}/health/`,
            settingsModule,
            keepReleases: 3,
            commandTimeoutS: 300,
            healthTimeoutS: 30,
            inspectAs: "setpriv --reuid=65534 --regid=65534 --clear-groups --",
            inspectDir,
            inspectEnvFile: path.join(work, "inspect.env"),
        };
        if (o.transport === "ssh") {
            const { startSshd } = await import("../testkit/services");
            const sshd = await startSshd();
            this.sshd = sshd;
            remote.transport = "ssh";
            remote.ssh = { host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256 };
            this.log(`management instance: over SSH to ${sshd.user}@127.0.0.1:${sshd.port} (host key ${sshd.hostKeySha256} pinned)`);
        }
        // Every remote command carries the run's marker in its environment (procs.ts finds what
        // outlives a cleanup by it); a closed LocalRemote (cleanup closes the phases) rejects any
        // further command, so a phase's fallback (switch back + restart) cannot start anything.
        const remotePhase = async () => {
            if (this.cancelled) throw new RehearsalStoppedError();
            // Over the local shell every remote command gets the app's environment too (over SSH the
            // app reads it from shared/env, as on an instance).
            const transport = o.transport === "ssh" ? {} : { remote: new LocalRemote({ cwd: appDir, defaultTimeoutS: 300, env: { ...env, [RUN_MARKER_ENV]: work } }) };
            const phase = await createRemotePhase(remote, transport);
            this.phases.push(phase);
            return this.stepOutputs.wrap(phase);
        };

        const inputs = (version: string, healthyTimeoutS = o.healthyTimeoutS): ReleaseInputs => {
            const { inputs, failures } = normalizeInputs({
                version,
                baseLaunchTemplateId: cloud.launchTemplateId,
                baseLaunchTemplateVersion: 1,
                autoScalingGroupName: cloud.groupName,
                targetGroupArn: cloud.targetGroupArn,
                listenerArn: cloud.listenerArn,
                managementInstanceId: "i-management",
                distributionId: "local-cdn",
                region: "local",
                capacity: { minSize: 1, maxSize, desiredCapacity: o.instances },
                remote,
                rollout: { maxSurge: o.maxSurge, bakeTimeoutS: 120, healthyTimeoutS, drainTimeoutS: 30, lockTtlS: 600, pollIntervalS: 0.5 },
                migrationPolicy: o.migrationPolicy,
                keepImages: 3,
                providerVersion: "rehearsal",
            });
            if (failures.length) throw new Error(`invalid release inputs: ${failures.map((f) => f.reason).join("; ")}`);
            return inputs;
        };

        // 1. The fleet at `from`, through the same executor (a first release).
        this.log(`--- set-up: first release of ${o.from} onto ${o.instances} instance(s)`);
        let first: ExecResult;
        try {
            first = await runRelease({
                cloud,
                remotePhase,
                clock: this.clock(),
                log: (l) => this.log(`    ${l}`),
                inputs: inputs(o.from, Math.max(60, o.healthyTimeoutS)),
                deployed: null,
                owner: "rehearsal/local/release",
            });
        } catch (e) {
            if (e instanceof RehearsalStoppedError || this.cancelled) throw e;
            const reason = stripOutcome((e as Error).message);
            const why = diagnose(reason, this.stepOutputs, work);
            throw new Error(`the first release of ${o.from} (the set-up) failed: ${reason}${why.length ? `\n${formatDiagnosis(why)}` : ""}`);
        }
        this.deployed = first.deployed;
        this.host = o.host ?? (() => {
            const app = appHostSettings(path.join(appDir, "current"), { ...env });
            return hostFor(app.allowedHosts, app.debug);
        })();
        this.log(`traffic: Host: ${this.host}${o.host ? "" : " (the first ALLOWED_HOSTS entry the app reports)"}`);
        this.setupS = Math.round((Date.now() - t0) / 100) / 10;
        this.log(`--- fleet up at ${o.from} in ${this.setupS.toFixed(1)} s`);
        this.env = { cloud, appDir, remotePhase, inputs };
        return this.setupS;
    }

    /**
     * Releases `to` through the executor under live traffic (started trafficLeadS before, stopped
     * trafficLeadS after), then asks every instance directly what it serves. Several releases may follow one
     * set-up; each reports its own traffic.
     */
    async release(to: string, opts: { healthyTimeoutS?: number } = {}): Promise<RehearsalResult> {
        if (!this.env || !this.deployed) throw new Error("setUp() first");
        const o = this.o;
        const { cloud, remotePhase, inputs } = this.env;
        const from = this.deployed.version;
        // Live traffic, then the release.
        const traffic = new Traffic({ baseUrl: cloud.url, host: this.host, visitsPerS: o.visitsPerS, maintenanceExpected: o.migrationPolicy === "maintenance" });
        this.traffic = traffic;
        traffic.onFailure = (r) => this.log(`    traffic: ${r.kind} ${r.path} -> ${r.status || r.error}`);
        traffic.start();
        await sleep(o.trafficLeadS * 1000);
        const releaseStart = Date.now();
        const timeline: TimelineEntry[] = [];
        const steps: StepTiming[] = [];
        const at = () => Math.round((Date.now() - releaseStart) / 100) / 10;
        let lastStepAt = 0;
        let maintenancePageUp = false; // the release put the maintenance page up (executor step maintenance-on)
        this.log(`--- release ${from} -> ${to}, ${o.instances} instance(s), maxSurge ${o.maxSurge}, under traffic`);
        const onLine = (l: string) => {
            this.log(`    ${l}`);
            const line = l.replace(/^\[release [^\]]+\] /, "");
            const a = at();
            const stepDone = /^step (\S+) done in (\d+) s/.exec(line);
            const wave = /^(\S+) wave (\d+)\/(\d+) done/.exec(line);
            if (/^maintenance page on \(/.test(line)) maintenancePageUp = true;
            if (stepDone) {
                steps.push({ step: stepDone[1], atS: a, durationS: Math.round((a - lastStepAt) * 10) / 10 });
                lastStepAt = a;
            } else if (wave) {
                const previousWave = steps.filter((s) => / wave /.test(s.step)).pop()?.atS ?? lastStepAt;
                steps.push({ step: `${wave[1]} wave ${wave[2]}/${wave[3]}`, atS: a, durationS: Math.round((a - previousWave) * 10) / 10 });
            }
            if (!line.startsWith("      ")) timeline.push({ atS: a, line: line.replace(/^\s+/, (s) => s.slice(0, 2)) });
        };
        let outcome: RehearsalResult["release"]["outcome"];
        let reason: string | undefined;
        try {
            const r: ExecResult = await runRelease({ cloud, remotePhase, clock: this.clock(), log: onLine, inputs: inputs(to, opts.healthyTimeoutS ?? o.healthyTimeoutS), deployed: this.deployed, owner: "rehearsal/local/release" });
            outcome = r.outcome;
            reason = r.reason === undefined ? undefined : stripOutcome(r.reason);
            if (r.outcome === "succeeded") this.deployed = r.deployed;
        } catch (e) {
            // A remote phase that fails before the lock (the inspection) changed nothing: "failed".
            outcome = e instanceof ReleaseError ? e.outcome : e instanceof RemotePhaseError ? "failed" : "error";
            reason = stripOutcome((e as Error).message);
            onLine(`release ${outcome}: ${reason}`);
        }
        const releaseS = (Date.now() - releaseStart) / 1000;
        await sleep(o.trafficLeadS * 1000);
        // The maintenance page is acceptable only when shown on purpose: policy "maintenance" and
        // the release put it up. Otherwise every 503 with Retry-After is a failed request.
        const report = await traffic.stop({ maintenanceAllowed: o.migrationPolicy === "maintenance" && maintenancePageUp });
        this.traffic = null;

        // What each instance serves now, asked directly.
        const fleet = [];
        for (const i of cloud.fleet().filter((x) => x.lifecycleState === "InService")) {
            const r = await get(`http://127.0.0.1:${i.port}/`, this.host).catch(() => ({ status: 0, version: null as string | null }));
            fleet.push({ instanceId: i.instanceId, port: i.port, version: r.version, status: r.status });
        }
        const expected = outcome === "succeeded" ? to : from;
        const fleetOk = fleet.length === o.instances && fleet.every((f) => f.status === 200 && f.version === expected);
        const diagnosis = outcome !== "succeeded" && reason ? diagnose(reason, this.stepOutputs, this.workDir) : [];
        for (const d of diagnosis) for (const l of formatDiagnosis([d]).split("\n")) this.log(l);
        return {
            ok: report.failed === 0 && fleetOk && outcome === "succeeded",
            host: this.host,
            diagnosis,
            from,
            to,
            instances: o.instances,
            maxSurge: o.maxSurge,
            database: o.database,
            release: { outcome, reason, durationS: Math.round(releaseS * 10) / 10 },
            steps,
            timeline,
            traffic: report,
            fleet,
            setupS: this.setupS,
            trafficLeadS: o.trafficLeadS,
            loadBalancerUrl: cloud.url,
            workDir: this.workDir,
        };
    }

    /** The executor's clock: pollingClock(), whose sleeps reject once cleanup() has begun. */
    private clock(): Clock {
        const c = pollingClock();
        return {
            now: c.now,
            sleep: async (ms) => {
                if (this.cancelled) throw new RehearsalStoppedError();
                await c.sleep(ms);
                if (this.cancelled) throw new RehearsalStoppedError();
            },
        };
    }

    /**
     * Stops everything the run started (idempotent); removes the work directory unless kept.
     * A run() still going (cleanup on SIGINT) starts no new step: no new remote phase, remote
     * command or executor wait; the remote phases are closed (their running commands stopped)
     * before the process scan.
     */
    cleanup(): Promise<void> {
        if (!this.cleaned) {
            this.cancelled = true;
            this.cleaned = this.doCleanup();
        }
        return this.cleaned;
    }

    private async doCleanup(): Promise<void> {
        await Promise.allSettled(this.phases.map((p) => p.close()));
        if (this.traffic) await this.traffic.stop().catch(() => undefined);
        if (this.cloud) await this.cloud.stop().catch((e) => this.log(`cleanup: ${(e as Error).message}`));
        // The management instance's gunicorn (a daemon started by the restart command) and any
        // remote command still running: everything whose command line names the work directory.
        const killed = await killMentioning(this.workDir);
        if (killed.length) this.log(`cleanup: stopped ${killed.length} more process(es) of the run`);
        if (this.sshd) await this.sshd.stop().catch((e) => this.log(`cleanup: sshd: ${(e as Error).message}`));
        if (this.pg) {
            try {
                this.pg.stop();
            } catch (e) {
                this.log(`cleanup: PostgreSQL: ${(e as Error).message}`);
            }
        }
        if (!this.o.keep) fs.rmSync(this.workDir, { recursive: true, force: true });
    }
}

/** "release refused: X" -> "X": the outcome is shown next to the reason, once. */
export function stripOutcome(message: string): string {
    return message.replace(/^release (refused|failed|rolled[- ]back|error): /, "");
}

function get(url: string, host: string): Promise<{ status: number; version: string | null }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { headers: { Host: host }, agent: false, timeout: 5000 }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, version: versionOf(res.statusCode ?? 0, res.headers) ?? null }));
        });
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", reject);
    });
}

/**
 * The executor's waits are sized for EC2 (e.g. a wave is first polled 60 s + interval x
 * threshold after launch); a local instance boots in about a second. Every sleep of the
 * executor is followed by a re-check of what it waits for (target health, draining, the image,
 * the lock read-back), so waking it at least every `capMs` only makes it look sooner.
 */
export function pollingClock(capMs = 250): Clock {
    return { now: () => Date.now(), sleep: (ms) => sleep(Math.max(0, Math.min(ms, capMs))) };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
