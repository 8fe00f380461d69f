/**
 * The release engine's shared types: the progress a run records (the resource's state), the run's
 * context, its outcome and its errors.
 */
import type { Clock, Cloud, RemotePhase } from "../ports";
import { RemotePhaseError } from "../ports";
import type { ReleaseInputs } from "../inputs";
import type { Deployed, PlanKind, StepName } from "../planner";

/** The processes suspended during a ramp. Launch, Terminate, HealthCheck, ReplaceUnhealthy keep running. */
export const SUSPENDED_PROCESSES = ["AZRebalance", "AlarmNotification", "ScheduledActions"];

/** Steps after the fleet runs the new version: their failures are warnings (or a plain failure), never a rollback. */
export const AFTER_FLEET: ReadonlySet<StepName> = new Set<StepName>(["maintenance-off", "invalidate", "prune", "unlock"]);

export interface SavedGroup {
    /** Desired capacity to restore (the one found, plus changes adopted mid-ramp). */
    desired: number;
    /** Max size to restore, exactly as found. */
    max: number;
    min: number;
    /** Only the processes this release suspended (resumed at the end). */
    suspendedByUs: string[];
    /** The desired capacity this release last set or expected. */
    lastDesired: number;
    /**
     * A desired capacity this release is about to set (recorded before the call): a run resumed
     * after a kill right after that call finds it and does not take it for an outside change.
     */
    pending?: number;
    /** This release raised the max size (to make room for the surge): the restore sets it back without reading first. */
    maxRaised?: boolean;
}

export interface StepFailure {
    step: string;
    instanceId?: string;
    cause: string;
}

export interface Progress {
    /** This run's id (the lock's run field); stays the same across resumes of one release. */
    runId: string;
    kind: PlanKind;
    version: string;
    baseLaunchTemplateVersion: number;
    startedAt: string;
    phase: "forward" | "rollback" | "done";
    steps: StepName[];
    done: StepName[];
    maintenance: boolean;
    maintenanceRuleArn?: string;
    remote?: {
        commit: string;
        previousVersion: string | null;
        changedStaticPaths: string[];
        migrations: string;
        /** The migration operations applied: "app.migration Operation (CODE)". */
        applied?: string[];
    };
    /**
     * The verdict ("breaking" or "unknown") of migrations applied under a policy that lets them
     * through: the schema is ahead of the old code (the point of no return). Kept in the group's
     * progress tag too, so a run that takes over never rolls the old code back onto it.
     */
    schemaAhead?: string;
    amiId?: string;
    /** How long this run's bake took (s), recorded in the state for the next release's first look. */
    bakeS?: number;
    launchTemplateVersion?: number;
    previousLaunchTemplateVersion?: number;
    group?: SavedGroup;
    replaced: string[];
    /** The dead run whose lock this run took over: what it made and did not record may be found and reused. */
    takenOver?: string;
    /** Old instances deregistered from the target group and not yet terminated (a rollback registers them again). */
    outOfService?: string[];
    failure?: StepFailure;
    warnings: string[];
}

export interface ExecContext {
    cloud: Cloud;
    /** Opens the remote phase (SSH/SSM) only when a step needs it. */
    remotePhase: () => Promise<RemotePhase>;
    clock: Clock;
    log: (line: string) => void;
    inputs: ReleaseInputs;
    deployed: Deployed | null;
    /** Who holds the lock: "<project>/<stack>/<resource name>". */
    owner: string;
    /** Progress of an earlier, unfinished run of this release (from the resource state). */
    progress?: Progress | null;
    /** Called after every recorded step (tests use it to interrupt a run). */
    checkpoint?: (p: Progress) => void | Promise<void>;
    /** Random-looking id for a new run. */
    newRunId?: () => string;
    /**
     * When the whole release must be done (ms since the epoch, e.g. now + the resource's
     * customTimeouts): past it, no new step or wave starts and the release rolls back.
     */
    deadlineMs?: number;
}

export type Outcome = "succeeded" | "rolled-back" | "failed";

export interface ExecResult {
    outcome: Outcome;
    progress: Progress;
    deployed: Deployed;
    reason?: string;
}

/** A failed release: the fleet was rolled back (or could not be), the progress says how far it got. */
export class ReleaseError extends Error {
    constructor(
        message: string,
        readonly outcome: Outcome | "refused",
        readonly progress: Progress | null,
        readonly failure?: StepFailure,
    ) {
        super(message);
        this.name = "ReleaseError";
    }
}

/** Raised inside a step: names the step, the instance and the cause. */
export class StepError extends Error {
    constructor(
        readonly step: string,
        readonly cause_: string,
        readonly instanceId?: string,
    ) {
        super(`step ${step}${instanceId ? ` (instance ${instanceId})` : ""}: ${cause_}`);
        this.name = "StepError";
    }
}

export const sec = (ms: number) => Math.round(ms / 1000);

/** Whether an error is a denied permission (fails at once: no retry or further look can help). */
export function isDenied(e: unknown): boolean {
    return /AccessDenied|UnauthorizedOperation|not authorized/i.test(errText(e));
}

export function errText(e: any): string {
    if (e instanceof RemotePhaseError) {
        // The last lines of stderr, but none the message already quotes (its cause is stderr's last line).
        const extra = (e.stderr ?? "").trim().split("\n").map((l: string) => l.trim()).filter((l: string) => l && !e.message.includes(l)).slice(-5);
        return `${e.message}${extra.length ? `: ${extra.join(" | ")}` : ""}`;
    }
    if (e instanceof StepError) return e.message;
    return `${e?.name && e.name !== "Error" ? e.name + ": " : ""}${e?.message ?? String(e)}`;
}
