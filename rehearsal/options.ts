/**
 * The rehearsal's options (what the CLI and the tests pass), their defaults, and what a release
 * under traffic reports. Types and defaults only: no state.
 */
import type { MigrationPolicy } from "../providers/release/ports";
import type { TrafficReport } from "./traffic";
import type { Diagnosis } from "./diagnosis";

/**
 * The install command when none is given: the Debian packages satisfy the requirements (no PyPI
 * here); pip runs as `venv/bin/python -m pip`, so a venv without its own pip serves (venv.ts).
 * `--no-warn-conflicts`: the venv sees every Debian package on the machine, and pip's check of
 * them all against each other (not the app's requirements, which it still resolves) took half of
 * each install's CPU, about 0.2 s of 0.45 s.
 */
export const DEFAULT_INSTALL_COMMAND = "venv/bin/python -m pip install --no-index --disable-pip-version-check --no-warn-conflicts -q -r requirements.txt";

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

/** The options with every default applied (those without a default stay optional). */
export type ResolvedOptions = Required<Omit<RehearsalOptions, "repo" | "settings" | "wsgi" | "workDir" | "log" | "slowInstallS" | "host" | "env">> & RehearsalOptions;

/** Applies the defaults once and refuses what cannot run. */
export function resolveOptions(opts: RehearsalOptions): ResolvedOptions {
    const o: ResolvedOptions = {
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
    if (!Number.isInteger(o.instances) || o.instances < 1) throw new Error(`--instances must be an integer >= 1, got ${opts.instances}`);
    return o;
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
