/**
 * The local rehearsal: a Django app released through the same executor that drives AWS, onto a
 * fleet on 127.0.0.1, under live traffic, with no AWS account.
 *
 * The pieces, each owning its state:
 *   site.ts         the management instance, the database, the static root and the LocalCloud
 *                   (every process the run starts, and their stop)
 *   environment.ts  the env file every instance gets, and the inspection's
 *   timeline.ts     a release's progress lines read as steps, waves and a timeline
 *   traffic.ts      the live traffic and its report
 *   probe.ts        asking an instance what it serves; the executor's clock
 *   options.ts      the options, their defaults and the result's shape
 *
 * Flow: first release of `from` (the executor brings the group to capacity on its image), start
 * traffic, release `to`, stop traffic, check what each instance serves, report. Every process
 * started is stopped in cleanup(), which also runs on SIGINT/SIGTERM (see cli.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runRelease, ReleaseError, ExecResult } from "../providers/release/executor";
import { Deployed } from "../providers/release/planner";
import { RemotePhaseError } from "../providers/release/ports";
import { Traffic } from "./traffic";
import { appHostSettings, checkVersions, hostFor, settingsModuleOf, sqliteSettings } from "./app";
import { diagnose, formatDiagnosis } from "./diagnosis";
import { RehearsalOptions, RehearsalResult, RehearsalStoppedError, ResolvedOptions, resolveOptions } from "./options";
import { get, pollingClock, sleep, stripOutcome } from "./probe";
import { Site } from "./site";
import { ReleaseTimeline } from "./timeline";

export { checkVersions, settingsModuleOf, sqliteSettings, pollingClock, stripOutcome };
export { DEFAULT_INSTALL_COMMAND, RehearsalStoppedError } from "./options";
export type { RehearsalOptions, RehearsalResult, StepTiming, TimelineEntry } from "./options";

export class Rehearsal {
    readonly workDir: string;
    private readonly o: ResolvedOptions;
    /** The Host header (setUp: --host or the app's first ALLOWED_HOSTS entry). */
    host = "localhost";
    private site: Site | null = null;
    private traffic: Traffic | null = null;
    private cleaned: Promise<void> | null = null;
    private readonly log: (line: string) => void;
    private readonly logFile: string;
    private deployed: Deployed | null = null;
    private setupS = 0;

    constructor(opts: RehearsalOptions = {}) {
        this.o = resolveOptions(opts);
        this.workDir = opts.workDir ? path.resolve(opts.workDir) : fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-"));
        fs.mkdirSync(this.workDir, { recursive: true });
        this.logFile = path.join(this.workDir, "rehearsal.log");
        const out = opts.log ?? (() => undefined);
        this.log = (line) => {
            fs.appendFileSync(this.logFile, line + "\n");
            out(line);
        };
    }

    /** The local cloud (after setUp()). */
    get cloud(): Site["cloud"] {
        return this.site?.cloud ?? null;
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
        if (this.site) throw new Error("setUp() runs once");
        const o = this.o;
        const t0 = Date.now();
        const site = new Site(this.workDir, o, this.log);
        this.site = site;
        await site.start();

        // The fleet at `from`, through the same executor (a first release).
        this.log(`--- set-up: first release of ${o.from} onto ${o.instances} instance(s)`);
        let first: ExecResult;
        try {
            first = await runRelease({
                cloud: site.cloud!,
                remotePhase: site.remotePhase,
                clock: site.clock(),
                log: (l) => this.log(`    ${l}`),
                inputs: site.inputs(o.from, Math.max(60, o.healthyTimeoutS)),
                deployed: null,
                owner: "rehearsal/local/release",
            });
        } catch (e) {
            if (e instanceof RehearsalStoppedError || this.cleaned) throw e;
            const reason = stripOutcome((e as Error).message);
            const why = diagnose(reason, site.stepOutputs, this.workDir);
            throw new Error(`the first release of ${o.from} (the set-up) failed: ${reason}${why.length ? `\n${formatDiagnosis(why)}` : ""}`);
        }
        this.deployed = first.deployed;
        this.host = o.host ?? (() => {
            const app = appHostSettings(path.join(site.appDir, "current"), { ...site.env });
            return hostFor(app.allowedHosts, app.debug);
        })();
        this.log(`traffic: Host: ${this.host}${o.host ? "" : " (the first ALLOWED_HOSTS entry the app reports)"}`);
        this.setupS = Math.round((Date.now() - t0) / 100) / 10;
        this.log(`--- fleet up at ${o.from} in ${this.setupS.toFixed(1)} s`);
        return this.setupS;
    }

    /**
     * Releases `to` through the executor under live traffic (started trafficLeadS before, stopped
     * trafficLeadS after), then asks every instance directly what it serves. Several releases may follow one
     * set-up; each reports its own traffic.
     */
    async release(to: string, opts: { healthyTimeoutS?: number } = {}): Promise<RehearsalResult> {
        const site = this.site;
        if (!site || !site.cloud || !this.deployed) throw new Error("setUp() first");
        const o = this.o;
        const cloud = site.cloud;
        const from = this.deployed.version;
        // Live traffic, then the release.
        const traffic = new Traffic({ baseUrl: cloud.url, host: this.host, visitsPerS: o.visitsPerS, maintenanceExpected: o.migrationPolicy === "maintenance" });
        this.traffic = traffic;
        traffic.onFailure = (r) => this.log(`    traffic: ${r.kind} ${r.path} -> ${r.status || r.error}`);
        traffic.start();
        await sleep(o.trafficLeadS * 1000);
        const timeline = new ReleaseTimeline();
        this.log(`--- release ${from} -> ${to}, ${o.instances} instance(s), maxSurge ${o.maxSurge}, under traffic`);
        const onLine = (l: string) => {
            this.log(`    ${l}`);
            timeline.add(l);
        };
        let outcome: RehearsalResult["release"]["outcome"];
        let reason: string | undefined;
        try {
            const r: ExecResult = await runRelease({ cloud, remotePhase: site.remotePhase, clock: site.clock(), log: onLine, inputs: site.inputs(to, opts.healthyTimeoutS ?? o.healthyTimeoutS), deployed: this.deployed, owner: "rehearsal/local/release" });
            outcome = r.outcome;
            reason = r.reason === undefined ? undefined : stripOutcome(r.reason);
            if (r.outcome === "succeeded") this.deployed = r.deployed;
        } catch (e) {
            // A remote phase that fails before the lock (the inspection) changed nothing: "failed".
            outcome = e instanceof ReleaseError ? e.outcome : e instanceof RemotePhaseError ? "failed" : "error";
            reason = stripOutcome((e as Error).message);
            onLine(`release ${outcome}: ${reason}`);
        }
        const releaseS = timeline.at();
        await sleep(o.trafficLeadS * 1000);
        // The maintenance page is acceptable only when shown on purpose: policy "maintenance" and
        // the release put it up. Otherwise every 503 with Retry-After is a failed request.
        const report = await traffic.stop({ maintenanceAllowed: o.migrationPolicy === "maintenance" && timeline.maintenancePageUp });
        this.traffic = null;

        // What each instance serves now, asked directly.
        const fleet = [];
        for (const i of cloud.fleet().filter((x) => x.lifecycleState === "InService")) {
            const r = await get(`http://127.0.0.1:${i.port}/`, this.host).catch(() => ({ status: 0, version: null as string | null }));
            fleet.push({ instanceId: i.instanceId, port: i.port, version: r.version, status: r.status });
        }
        const expected = outcome === "succeeded" ? to : from;
        const fleetOk = fleet.length === o.instances && fleet.every((f) => f.status === 200 && f.version === expected);
        const diagnosis = outcome !== "succeeded" && reason ? diagnose(reason, site.stepOutputs, this.workDir) : [];
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
            release: { outcome, reason, durationS: releaseS },
            steps: timeline.steps,
            timeline: timeline.entries,
            traffic: report,
            fleet,
            setupS: this.setupS,
            trafficLeadS: o.trafficLeadS,
            loadBalancerUrl: cloud.url,
            workDir: this.workDir,
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
            const cancelled = this.site?.cancel(); // synchronously: no new step from here on
            this.cleaned = this.doCleanup(cancelled);
        }
        return this.cleaned;
    }

    private async doCleanup(cancelled: Promise<void> | undefined): Promise<void> {
        await cancelled;
        if (this.traffic) await this.traffic.stop().catch(() => undefined);
        if (this.site) await this.site.stop();
        if (!this.o.keep) fs.rmSync(this.workDir, { recursive: true, force: true });
    }
}
