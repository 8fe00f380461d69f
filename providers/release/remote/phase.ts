/**
 * The remote phase on the management instance, over any Remote transport.
 *
 * apply(version):
 *   checkout       fetch the mirror, resolve the version, git archive into releases/<version>
 *   install        the release's own virtualenv, installCommand
 *   migrations     fleet_migration_plan -> classify; breaking/unknown: refuse (default),
 *                  maintenance (flag on while it goes out) or allow
 *   migrate        only when something is pending
 *   collectstatic  hashed files into the shared root, staticfiles.json in the release dir,
 *                  changed non-hashed paths from the previous and new manifests
 *   switch         current -> releases/<version>, atomically
 *   restart        restartCommand (graceful)
 *   health         poll the local health URL until it answers 200 for this release
 *   prune          release directories beyond keepReleases (never current or previous)
 * When restart or health fails, `current` goes back to the previous release (restarted) before
 * the error is raised, so the management instance keeps serving the old version.
 *
 * inspect(version): checkout + install + migrations, nothing applied or switched; the candidate's
 *   code (installCommand, fleet_migration_plan) runs as the unprivileged inspection account in
 *   its own workspace (<inspectDir>/<version>), with read-only database credentials; without
 *   them it rejects with InspectionUnavailableError (the release classifies during apply).
 * revert(version): switch back to a kept release directory, maintenance off, restart, health.
 */
import {
    MigrationPolicy,
    MigrationReport,
    PhaseOptions,
    Remote,
    RemoteInspection,
    RemotePhase,
    RemotePhaseError,
    RemotePhaseResult,
} from "../ports";
import * as cmd from "./commands";
import type { ResolvedRemoteSettings } from "./commands";
import { RemoteTimeoutError } from "./errors";
import { versionProblem } from "../version";
import { blockingOperations, classifyPlan, describeOperations, parseMigrationPlan } from "./migrations";

type Log = (line: string) => void;
/** Below SSM's 24,000-character stdout limit. */
const CHUNK = 20000;
const quiet: Log = () => undefined;

/** Keeps the last part of a long stderr (pip and tracebacks put the cause at the end). */
export function tail(text: string, max = 4000): string {
    return text.length <= max ? text : `...${text.slice(text.length - max)}`;
}

function lastLine(text: string): string {
    const lines = text.trim().split("\n").filter((l) => l.trim());
    return lines.length ? lines[lines.length - 1].trim() : "";
}

/** The inspection could not list the applied migrations: no read-only database credentials on the instance. */
export class InspectionUnavailableError extends RemotePhaseError {
    constructor(message: string, stderr = "") {
        super(message, "migrations", stderr);
        this.name = "InspectionUnavailableError";
    }
}

/** The commands of a preparation: the release's own (apply) or the inspection's (as the inspection account). */
interface PrepareCommands {
    checkout: string;
    install: string;
    plan: string;
    planPath: string;
}

interface Prepared {
    current: string | null;
    commit: string;
    migrations: MigrationReport;
    /** Pending migrations, some possibly without operations (a merge migration still has to be recorded). */
    pending: string[];
}

export class RemoteReleasePhase implements RemotePhase {
    private remotePromise: Promise<Remote> | null = null;

    /** `remote`: a transport, or a function that connects one on first use (one connection per phase). */
    constructor(
        private readonly cfg: ResolvedRemoteSettings,
        remote: Remote | (() => Promise<Remote>),
    ) {
        this.connect = typeof remote === "function" ? remote : async () => remote;
    }

    private readonly connect: () => Promise<Remote>;

    private remote(): Promise<Remote> {
        // A closed phase starts no step (a rollback after an interruption must not announce or run one).
        if (this.closed) return Promise.reject(new RemotePhaseError("the remote phase was closed: no further command runs", "connect"));
        if (!this.remotePromise) {
            this.remotePromise = this.connect().catch((e: Error) => {
                this.remotePromise = null;
                throw new RemotePhaseError(`cannot reach the management instance: ${e.message}`, "connect");
            });
        }
        return this.remotePromise;
    }

    /** Runs one step's command; a non-zero exit or a time-out becomes RemotePhaseError(step, stderr). */
    private async step(step: string, command: string, log: Log, timeoutS = this.cfg.commandTimeoutS) {
        const remote = await this.remote();
        log(`--> ${step}`);
        let result;
        try {
            result = await remote.run(command, { timeoutS, onLine: (line) => log(`    ${line}`) });
        } catch (e) {
            if (e instanceof RemoteTimeoutError) {
                throw new RemotePhaseError(`${step} timed out after ${e.timeoutS} s on ${remote.describe()}`, step, tail(e.stderr));
            }
            throw new RemotePhaseError(`${step} failed on ${remote.describe()}: ${(e as Error).message}`, step);
        }
        log(`    ${step}: exit ${result.exitCode} in ${(result.durationMs / 1000).toFixed(1)} s`);
        if (result.exitCode !== 0) {
            const cause = lastLine(result.stderr) || lastLine(result.stdout);
            throw new RemotePhaseError(
                `${step} failed on ${remote.describe()} (exit ${result.exitCode})${cause ? `: ${cause}` : ""}`,
                step,
                tail(result.stderr || result.stdout),
            );
        }
        return result;
    }

    private async prepare(version: string, log: Log, mode: "release" | "inspect" = "release"): Promise<Prepared> {
        try {
            cmd.validateVersion(version);
        } catch (e) {
            throw new RemotePhaseError((e as Error).message, "checkout");
        }
        const c: PrepareCommands =
            mode === "inspect"
                ? { checkout: cmd.inspectCheckout(this.cfg, version), install: cmd.inspectInstall(this.cfg, version), plan: cmd.inspectPlan(this.cfg, version), planPath: `${cmd.inspectWorkspace(this.cfg, version)}/${cmd.PLAN_FILE}` }
                : { checkout: cmd.checkout(this.cfg, version), install: cmd.install(this.cfg, version), plan: cmd.migrationPlan(this.cfg, version), planPath: `${cmd.releaseDir(this.cfg, version)}/${cmd.PLAN_FILE}` };
        const unavailable = (e: unknown) =>
            mode === "inspect" && e instanceof RemotePhaseError && e.message.includes(`(exit ${cmd.NO_INSPECT_CREDENTIALS})`) && /no read-only database credentials|inspection account is not set up/.test(e.stderr)
                ? new InspectionUnavailableError(`migrations of ${version} not inspected: ${e.stderr.trim()}`, e.stderr)
                : e;
        let checkoutOut;
        try {
            checkoutOut = await this.step("checkout", c.checkout, log);
        } catch (e) {
            throw unavailable(e);
        }
        const checkout = cmd.parseKeyValues(checkoutOut.stdout);
        if (!checkout.commit) throw new RemotePhaseError("checkout printed no commit", "checkout");
        // A name read back from the instance reaches later commands (switch back, prune): only a release name.
        const currentProblem = checkout.current ? versionProblem(checkout.current) : null;
        if (currentProblem) throw new RemotePhaseError(`${this.cfg.appDir}/current points at ${JSON.stringify(checkout.current)}, which is no release name (it ${currentProblem}): refusing to use it`, "checkout");
        await this.step("install", c.install, log);
        let planOut;
        try {
            planOut = await this.step("migrations", c.plan, log);
        } catch (e) {
            throw unavailable(e);
        }
        let planText = planOut.stdout;
        if (planOut.truncated) planText = await this.readBack(c.planPath, log);
        let migrations: MigrationReport;
        let pending: string[] = [];
        try {
            const plan = parseMigrationPlan(planText);
            pending = Array.isArray(plan.pending) ? plan.pending : [];
            if (plan.unknownApplied?.length) {
                log(`    warning: the database has migrations ${version} does not know (its schema is ahead of this version): ${plan.unknownApplied.join(", ")}`);
            }
            migrations = classifyPlan(plan);
        } catch (e) {
            const cut = planOut.truncated ? " (the transport cut the output)" : "";
            throw new RemotePhaseError(`cannot read the migration plan${cut}: ${(e as Error).message}`, "migrations", tail(planOut.stderr));
        }
        for (const op of migrations.operations) {
            log(`    ${op.safety.padEnd(8)} ${op.app}.${op.migration} ${op.operation}: ${op.description}${op.code ? ` [${op.code}]` : ""}`);
        }
        log(`    verdict: ${migrations.verdict}`);
        return { current: checkout.current || null, commit: checkout.commit, migrations, pending };
    }

    /** Reads a file the transport could not return whole (SSM), in chunks below its output limit. */
    private async readBack(path: string, log: Log, chunk = CHUNK, step = "migrations"): Promise<string> {
        log(`    the transport cut the output: reading ${path} back in ${chunk}-character chunks`);
        const remote = await this.remote();
        let text = "";
        for (let offset = 0; ; offset += chunk) {
            const r = await remote.run(cmd.readChunk(path, offset, chunk), { timeoutS: 60 });
            if (r.exitCode !== 0 || r.truncated) throw new RemotePhaseError(`cannot read ${path} back (exit ${r.exitCode})`, step, tail(r.stderr));
            text += r.stdout;
            if (r.stdout.length < chunk) return text;
        }
    }

    async inspect(version: string, log: Log = quiet): Promise<RemoteInspection> {
        const p = await this.prepare(version, log, "inspect");
        return { currentVersion: p.current, commit: p.commit, migrations: p.migrations };
    }

    async apply(version: string, opts: PhaseOptions): Promise<RemotePhaseResult> {
        const started = Date.now();
        const log = opts.log ?? quiet;
        const p = await this.prepare(version, log);
        const previous = p.current && p.current !== version ? p.current : null;
        const needsMaintenance = gate(version, p.migrations, opts.migrationPolicy, log);

        let maintenance = false;
        let schemaTouched = false;
        try {
            if (needsMaintenance) {
                await this.step("maintenance", cmd.maintenanceOn(this.cfg), log);
                maintenance = true;
            }
            if (p.migrations.verdict !== "none" || p.pending.length > 0) {
                schemaTouched = true;
                await this.step("migrate", cmd.migrate(this.cfg, version), log);
            }
            const collected = await this.step("collectstatic", cmd.collectStatic(this.cfg, version, previous), log);
            const changedText = collected.truncated
                ? await this.readBack(`${cmd.releaseDir(this.cfg, version)}/${cmd.CHANGED_STATIC_FILE}`, log, CHUNK, "collectstatic")
                : cmd.parseKeyValues(collected.stdout)["changed-static-paths"];
            if (changedText === undefined) throw new RemotePhaseError("collectstatic printed no changed-static-paths line", "collectstatic", tail(collected.stderr));
            const changedStaticPaths = JSON.parse(changedText) as string[];

            await this.step("switch", cmd.switchCurrent(this.cfg, version), log);
            try {
                await this.step("restart", cmd.restart(this.cfg), log);
                await this.step("health", cmd.healthCheck(this.cfg, version), log, this.cfg.healthTimeoutS + 30);
            } catch (e) {
                if (previous) await this.switchBack(previous, log);
                throw e;
            }
            if (maintenance) {
                await this.step("maintenance", cmd.maintenanceOff(this.cfg), log);
                maintenance = false;
            }
            try {
                await this.step("prune", cmd.prune(this.cfg, [version, ...(previous ? [previous] : [])]), log);
            } catch (e) {
                log(`    warning: pruning old releases failed (the release itself succeeded): ${(e as Error).message}`);
            }
            return {
                version,
                commit: p.commit,
                previousVersion: p.current,
                migrations: p.migrations,
                changedStaticPaths,
                durationS: (Date.now() - started) / 1000,
            };
        } catch (e) {
            if (maintenance && !schemaTouched) {
                await this.step("maintenance", cmd.maintenanceOff(this.cfg), log).catch(() => undefined);
            } else if (maintenance && e instanceof RemotePhaseError) {
                e.message += ` (maintenance mode left on: breaking migrations may have been applied; revert or fix forward)`;
            }
            throw e;
        }
    }

    /** After a failed restart/health: current back to the previous release, restarted. Best effort. */
    private async switchBack(previous: string, log: Log): Promise<void> {
        log(`--> switching current back to ${previous}`);
        try {
            await this.step("switch", cmd.switchCurrent(this.cfg, previous), log);
            await this.step("restart", cmd.restart(this.cfg), log);
        } catch (e) {
            log(`    warning: could not switch back to ${previous}: ${(e as Error).message}`);
        }
    }

    async revert(version: string, log: Log = quiet): Promise<void> {
        try {
            cmd.validateVersion(version);
        } catch (e) {
            throw new RemotePhaseError((e as Error).message, "switch");
        }
        await this.step("switch", cmd.switchCurrent(this.cfg, version), log);
        await this.step("maintenance", cmd.maintenanceOff(this.cfg), log);
        await this.step("restart", cmd.restart(this.cfg), log);
        await this.step("health", cmd.healthCheck(this.cfg, version), log, this.cfg.healthTimeoutS + 30);
    }

    private closed = false;

    async close(): Promise<void> {
        this.closed = true;
        if (!this.remotePromise) return;
        const remote = await this.remotePromise.catch(() => null);
        this.remotePromise = null;
        await remote?.close();
    }
}

/**
 * Applies the migration policy. Returns true when the maintenance page must be on while the
 * release goes out; throws RemotePhaseError("migrations") when the release is refused.
 */
export function gate(version: string, report: MigrationReport, policy: MigrationPolicy, log: Log): boolean {
    const blocking = blockingOperations(report);
    if (blocking.length === 0) return false;
    if (policy === "refuse") {
        throw new RemotePhaseError(
            `${version} has ${blocking.length} migration operation(s) that break the version still serving; nothing was applied.\n` +
                `${describeOperations(blocking)}\n` +
                `Set the migration policy to "maintenance" (maintenance page while it goes out) or "allow" to release it.`,
            "migrations",
        );
    }
    log(`    ${blocking.length} breaking/unknown operation(s) allowed by policy "${policy}"`);
    return policy === "maintenance";
}
