/**
 * The release executor: a small resumable state machine that runs a plan's steps against the
 * Cloud and RemotePhase ports.
 *
 * Every completed step is recorded in `Progress` (the resource's state, passed back to Pulumi as
 * partial state when a run fails) and the parts needed to resume after a killed process are also
 * written to a `release:progress` tag on the group. A re-run with the same progress skips the
 * completed steps; the ramp itself is recomputed from the live group at every wave, so it resumes
 * mid-ramp without replacing an instance twice.
 *
 * Decisions (also in the README):
 *  - Lock: tag `release:lock` = "<owner>;<run>;<expiry ISO>" on the ASG. A lock held by another
 *    owner (another stack, another tool) is refused until it expires; an expired one is taken
 *    over (its saved sizes and suspended processes are inherited, so the group is restored to what
 *    the dead run found). A live lock held by *this* Release's owner (the same project/stack/name,
 *    which every machine deploying the stack shares) is taken over only when it is provably an
 *    interrupted run of ours: its run is the one saved in this resource's Pulumi state (resumed at
 *    once), or it missed its refreshes (less than half its TTL left: a live holder refreshes it
 *    every third of its TTL). Otherwise it is refused like any other live lock.
 *  - Standby instances are refused by the planner (they would come back on the old version);
 *    instances that enter Standby mid-ramp are left alone and reported as a warning.
 *  - Scale-in-protected instances are replaced like the others: protection guards against
 *    scale-in, not against an explicit TerminateInstanceInAutoScalingGroup; the replacements get
 *    the group's NewInstancesProtectedFromScaleIn setting.
 *  - Desired capacity 0 (a later release): nothing to ramp; the new template version is the default,
 *    so whatever launches next runs the new release. The group stays at 0.
 *  - A desired-capacity change made by someone else mid-ramp (a scaling policy, an operator) is
 *    adopted: the delta is added to the desired capacity restored at the end (bounded by min and
 *    the max found), and the current wave is re-planned.
 *  - Ramp: desired D -> D + s (max raised if needed); old instances are terminated *without*
 *    decrementing desired while more old ones remain, so the group launches their replacements at
 *    once (one SetDesiredCapacity per release, not per wave); the last batch decrements back to D.
 */
import type { Clock, Cloud, GroupInstance, GroupState, RemotePhase, RemotePhaseResult, TargetGroupTimings, TargetHealthState } from "./ports";
import { MAINTENANCE_MARKER, RemotePhaseError } from "./ports";
import {
    Deployed,
    PlanKind,
    ReleaseInputs,
    StepName,
    ESTIMATES,
    capacityEquals,
    liveInstances,
    plan,
    releaseVersionDescription,
    resolveSurge,
} from "./planner";

/** The processes suspended during a ramp. Launch, Terminate, HealthCheck, ReplaceUnhealthy keep running. */
export const SUSPENDED_PROCESSES = ["AZRebalance", "AlarmNotification", "ScheduledActions"];
export const LOCK_TAG = "release:lock";
/** Steps after the fleet runs the new version: their failures are warnings (or a plain failure), never a rollback. */
const AFTER_FLEET = new Set<StepName>(["maintenance-off", "invalidate", "prune", "unlock"]);
export const PROGRESS_TAG = "release:progress";

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
    };
    amiId?: string;
    launchTemplateVersion?: number;
    previousLaunchTemplateVersion?: number;
    group?: SavedGroup;
    replaced: string[];
    failure?: StepFailure;
    warnings: string[];
}

/**
 * Optional Cloud extension (additive: ports.ts is unchanged, adapters without it still work):
 * launch template versions with their VersionDescription (ec2:DescribeLaunchTemplateVersions), so
 * the provider recognises the versions a release created ("release <version> (base vN)").
 * `versions` are numbers or "$Default" / "$Latest".
 */
export interface TemplateVersionDescriber {
    describeTemplateVersions?(launchTemplateId: string, versions: string[]): Promise<{ version: number; description: string | null; isDefault: boolean }[]>;
}

/**
 * Optional Cloud extension (additive): createLaunchTemplateVersion with an idempotency token
 * (ec2:CreateLaunchTemplateVersion ClientToken). Adapters without it ignore the extra argument.
 */
export interface IdempotentTemplateVersions {
    createLaunchTemplateVersion(launchTemplateId: string, baseVersion: number, imageId: string, description: string, clientToken?: string): Promise<number>;
}

/** The ClientToken of a run's launch template version: "release-<run>-b<base>-<ami>" (ASCII, <= 128). */
export function templateVersionToken(runId: string, baseVersion: number, imageId: string): string {
    return `release-${runId}-b${baseVersion}-${imageId}`.replace(/[^\x21-\x7e]/g, "_").slice(0, 128);
}

/**
 * Optional Cloud extension (additive): the ImageId of the launch template's live default version
 * (ec2:DescribeLaunchTemplateVersions, Versions ["$Default"]); pruning never deregisters it.
 */
export interface DefaultTemplateImage {
    defaultTemplateImageId?(launchTemplateId: string): Promise<string | null>;
}

/** Optional Cloud extension (additive): several group tags removed in one autoscaling:DeleteTags call. */
export interface GroupTagBatcher {
    deleteGroupTags?(groupName: string, keys: string[]): Promise<void>;
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

const sec = (ms: number) => Math.round(ms / 1000);

function errText(e: any): string {
    if (e instanceof RemotePhaseError) return `${e.message}${e.stderr ? `: ${e.stderr.trim().split("\n").slice(-5).join(" | ")}` : ""}`;
    if (e instanceof StepError) return e.message;
    return `${e?.name && e.name !== "Error" ? e.name + ": " : ""}${e?.message ?? String(e)}`;
}

// ---------------------------------------------------------------------------------------
// Lock and progress tags.

interface LockValue {
    owner: string;
    runId: string;
    expiresMs: number;
}

export function parseLock(v: string | undefined): LockValue | null {
    if (!v) return null;
    const [owner, runId, exp] = v.split(";");
    const expiresMs = Date.parse(exp ?? "");
    if (!owner || !runId || Number.isNaN(expiresMs)) return null;
    return { owner, runId, expiresMs };
}

interface TagProgress {
    r: string;
    v: string;
    b: number;
    a?: string;
    t?: number;
    p?: number;
    d?: number;
    x?: number;
    n?: number;
    s?: string;
}

export function encodeTagProgress(p: Progress): string {
    const t: TagProgress = { r: p.runId, v: p.version, b: p.baseLaunchTemplateVersion };
    if (p.amiId) t.a = p.amiId;
    if (p.launchTemplateVersion) t.t = p.launchTemplateVersion;
    if (p.previousLaunchTemplateVersion) t.p = p.previousLaunchTemplateVersion;
    if (p.group) {
        t.d = p.group.desired;
        t.x = p.group.max;
        t.n = p.group.min;
        t.s = p.group.suspendedByUs.map((s) => s.slice(0, 2)).join(",");
    }
    return JSON.stringify(t).slice(0, 256);
}

export function decodeTagProgress(v: string | undefined): TagProgress | null {
    if (!v) return null;
    try {
        const t = JSON.parse(v);
        return t && typeof t.r === "string" ? t : null;
    } catch {
        return null;
    }
}

const PROC_BY_PREFIX: Record<string, string> = { AZ: "AZRebalance", Al: "AlarmNotification", Sc: "ScheduledActions" };

// ---------------------------------------------------------------------------------------

export class Executor {
    private readonly c: ExecContext;
    private readonly i: ReleaseInputs;
    private p!: Progress;
    private heartbeat: ReturnType<typeof setTimeout> | null = null;
    private lockHeld = false;
    private phase: RemotePhase | null = null;
    private learnedWaveMs: number | null = null;
    private firstLook: GroupState | null = null;
    private delayS: number | null = null;
    private tgTimings: TargetGroupTimings | null | undefined = undefined;

    constructor(ctx: ExecContext) {
        this.c = ctx;
        this.i = ctx.inputs;
    }

    private log(line: string) {
        this.c.log(`[release ${this.i.version}] ${line}`);
    }

    private async save() {
        if (this.c.checkpoint) await this.c.checkpoint(this.snapshot());
    }

    snapshot(): Progress {
        return JSON.parse(JSON.stringify(this.p));
    }

    get group() {
        return this.i.autoScalingGroupName;
    }

    async run(): Promise<ExecResult> {
        try {
            return await this.runInner();
        } finally {
            this.stopHeartbeat();
            if (this.phase) await this.phase.close().catch(() => undefined);
        }
    }

    private async runInner(): Promise<ExecResult> {
        const { cloud } = this.c;
        const g0 = await cloud.describeGroup(this.group);
        this.firstLook = g0;
        const resumed = this.c.progress && this.c.progress.version === this.i.version && this.c.progress.phase !== "done" ? this.c.progress : null;

        if (resumed) {
            this.p = JSON.parse(JSON.stringify(resumed));
            this.log(`resuming run ${this.p.runId} (done: ${this.p.done.join(", ") || "nothing"}; phase ${this.p.phase})`);
        } else {
            // Plan against the live group; the remote inspection classifies the migrations first,
            // so a refusal happens before anything changes.
            let migrations;
            const pre = plan(this.i, this.c.deployed, { group: g0 });
            if (pre.kind === "release" || pre.kind === "first") {
                try {
                    const ph = await this.remote();
                    const insp = await ph.inspect(this.i.version, (l) => this.log(`  ${l}`));
                    migrations = insp.migrations;
                } catch (e) {
                    // No read-only database role for the inspection: the remote phase classifies (and gates) them itself.
                    if ((e as Error)?.name === "InspectionUnavailableError") this.log(`  ${(e as Error).message}: classified by the remote phase`);
                    else throw new ReleaseError(`release refused: inspecting ${this.i.version} on ${this.i.managementInstanceId} failed: ${errText(e)}`, "refused", null);
                }
            }
            const pl = plan(this.i, this.c.deployed, { group: g0, migrations });
            if (pl.refusals.length) throw new ReleaseError(`release refused: ${pl.refusals.join("; ")}`, "refused", null);
            this.p = {
                runId: (this.c.newRunId ?? defaultRunId)(),
                kind: pl.kind,
                version: this.i.version,
                baseLaunchTemplateVersion: this.i.baseLaunchTemplateVersion,
                startedAt: new Date(this.c.clock.now()).toISOString(),
                phase: "forward",
                steps: pl.steps.map((s) => s.name),
                done: [],
                maintenance: pl.maintenance,
                replaced: [],
                warnings: [],
            };
            this.log(`plan: ${pl.text.split("\n")[0]} (${pl.steps.map((s) => s.name).join(" -> ")})`);
        }

        if (this.p.kind === "none") {
            this.p.phase = "done";
            return { outcome: "succeeded", progress: this.snapshot(), deployed: this.deployedAfter() };
        }

        if (this.p.phase === "forward") {
            try {
                await this.forward(g0);
            } catch (e: any) {
                // A refusal changed nothing; an interruption models a killed process (no rollback).
                if (e instanceof ReleaseError || e?.interrupted) throw e;
                return await this.onForwardFailure(e);
            }
        } else if (this.p.phase === "rollback") {
            return await this.rollback(this.p.failure ?? { step: "resume", cause: "resumed rollback" });
        }
        this.p.phase = "done";
        const warn = this.p.warnings.length ? ` (warnings: ${this.p.warnings.join("; ")})` : "";
        this.log(`released ${this.i.version}: AMI ${this.p.amiId ?? this.c.deployed?.amiId}, launch template v${this.p.launchTemplateVersion ?? this.c.deployed?.launchTemplateVersion}, ${this.p.replaced.length} instance(s) replaced${warn}`);
        return { outcome: "succeeded", progress: this.snapshot(), deployed: this.deployedAfter(), reason: this.p.warnings.join("; ") || undefined };
    }

    private deployedAfter(): Deployed {
        const d = this.c.deployed;
        return {
            version: this.i.version,
            amiId: this.p.amiId ?? d?.amiId ?? "",
            baseLaunchTemplateVersion: this.i.baseLaunchTemplateVersion,
            launchTemplateVersion: this.p.launchTemplateVersion ?? d?.launchTemplateVersion ?? 0,
            capacity: { ...this.i.capacity },
        };
    }

    private async remote(): Promise<RemotePhase> {
        if (!this.phase) this.phase = await this.c.remotePhase();
        return this.phase;
    }

    // -----------------------------------------------------------------------------------
    // Forward path.

    private async forward(g0: GroupState) {
        for (const step of this.p.steps) {
            if (this.p.done.includes(step)) continue;
            // The lock is (re)acquired on every run, even when an earlier run recorded it.
            if (step !== "lock" && !this.lockHeld) await this.acquireLock();
            const t0 = this.c.clock.now();
            if (AFTER_FLEET.has(step)) {
                // The fleet already runs the new version: a failure here does not roll it back.
                try {
                    await this.runStep(step);
                } catch (e) {
                    if (step === "maintenance-off") {
                        const arn = this.p.maintenanceRuleArn;
                        await this.releaseLock().catch(() => undefined);
                        this.p.phase = "done";
                        const failure = { step, cause: `the maintenance page (listener rule ${arn}) could not be removed: ${errText(e)}; delete the rule to reopen the site` };
                        this.p.failure = failure;
                        throw new ReleaseError(`release ${this.i.version} is on the fleet but ${failure.cause}`, "failed", this.snapshot(), failure);
                    }
                    this.p.warnings.push(`${step}: ${errText(e)}`);
                    this.log(`step ${step} failed (the release stands): ${errText(e)}`);
                    if (step === "unlock") this.lockHeld = false;
                }
            } else {
                await this.runStep(step);
            }
            this.p.done.push(step);
            if (step !== "unlock") this.log(`step ${step} done in ${sec(this.c.clock.now() - t0)} s`);
            await this.save();
        }
    }

    private async runStep(step: StepName) {
        const { cloud } = this.c;
        const i = this.i;
        switch (step) {
            case "lock":
                return this.acquireLock();
            case "maintenance-on": {
                this.log(`maintenance page on (listener ${i.listenerArn})`);
                this.p.maintenanceRuleArn = await cloud.addMaintenanceRule(i.listenerArn, MAINTENANCE_HTML);
                return;
            }
            case "remote": {
                this.log(`remote phase on ${i.managementInstanceId}`);
                const ph = await this.remote();
                const r: RemotePhaseResult = await ph.apply(i.version, { migrationPolicy: i.migrationPolicy, log: (l) => this.log(`  ${l}`) });
                this.p.remote = {
                    commit: r.commit,
                    previousVersion: r.previousVersion,
                    changedStaticPaths: r.changedStaticPaths,
                    migrations: r.migrations.verdict,
                };
                return;
            }
            case "bake":
                return this.bake();
            case "template":
                return this.template();
            case "scale-out":
                return this.scaleOut();
            case "ramp":
                return this.rampForward();
            case "capacity": {
                const c = i.capacity;
                this.log(`capacity min ${c.minSize} / desired ${c.desiredCapacity} / max ${c.maxSize}`);
                await cloud.updateGroupSize(this.group, { minSize: c.minSize, maxSize: c.maxSize, desiredCapacity: c.desiredCapacity });
                await this.waitSettled("capacity");
                return;
            }
            case "maintenance-off":
                if (this.p.maintenanceRuleArn) {
                    await cloud.removeMaintenanceRule(this.p.maintenanceRuleArn);
                    this.log("maintenance page off");
                    this.p.maintenanceRuleArn = undefined;
                }
                return;
            case "invalidate":
                return this.invalidate();
            case "prune":
                try {
                    const removed = await pruneImages(cloud, this.group, i.keepImages, [this.p.amiId, this.c.deployed?.amiId], i.baseLaunchTemplateId);
                    if (removed.length) this.log(`pruned AMIs ${removed.join(", ")}`);
                } catch (e) {
                    this.p.warnings.push(`pruning old AMIs failed: ${errText(e)}`);
                }
                return;
            case "unlock":
                return this.releaseLock();
        }
    }

    private async acquireLock() {
        const { cloud, clock } = this.c;
        // The run's first look at the group serves the first acquisition (one call fewer).
        const g = this.firstLook ?? (await cloud.describeGroup(this.group));
        this.firstLook = null;
        const cur = parseLock(g.tags[LOCK_TAG]);
        const now = clock.now();
        if (cur && cur.runId !== this.p.runId) {
            const expired = cur.expiresMs <= now;
            // The owner is "<project>/<stack>/<name>": the same for every machine or CI job deploying
            // this stack, so a same-owner lock is only provably ours to resume when Pulumi's own state
            // recorded its run, or when its holder stopped refreshing it (a live holder rewrites it
            // every third of the TTL, so it never has less than 2/3 of the TTL left; the margin of a
            // sixth of the TTL absorbs a slow refresh and clock skew).
            const ttlMs = this.i.rollout.lockTtlS * 1000;
            const savedRun = this.c.progress?.runId;
            const ours = cur.owner === this.c.owner && savedRun !== undefined && cur.runId === savedRun;
            const missedHeartbeat = cur.owner === this.c.owner && cur.expiresMs - now < ttlMs / 2;
            if (!expired && !ours && !missedHeartbeat) {
                throw new ReleaseError(
                    `deploy lock on group ${this.group} is held by ${cur.owner} (run ${cur.runId}) until ${new Date(cur.expiresMs).toISOString()}: ` +
                        (cur.owner === this.c.owner
                            ? `another run of this stack is releasing (its lock is still being refreshed and is not this resource's saved run); wait for it, or for it to miss its heartbeats` +
                              ` (at most half the lock's ${this.i.rollout.lockTtlS} s), or, if you know that run is dead, remove the tag: ` +
                              `aws autoscaling delete-tags --tags ResourceId=${this.group},ResourceType=auto-scaling-group,Key=${LOCK_TAG}`
                            : `another release is running; wait for it, or for the lock to expire`),
                    "refused",
                    null,
                );
            }
            const why = expired
                ? `a stale lock of ${cur.owner} (expired ${new Date(cur.expiresMs).toISOString()})`
                : ours
                  ? "an interrupted run of this release (its run is in the saved state)"
                  : `an interrupted run of this release (its lock missed its refreshes; expires ${new Date(cur.expiresMs).toISOString()})`;
            this.log(`taking over ${why} (run ${cur.runId})`);
            this.inherit(decodeTagProgress(g.tags[PROGRESS_TAG]));
            await this.adoptMaintenancePage();
        } else if (!cur && this.p.done.length === 0) {
            // A tag progress without a lock: a run died between unlocking steps; inherit it too.
            this.inherit(decodeTagProgress(g.tags[PROGRESS_TAG]));
        }
        await cloud.setGroupTag(this.group, LOCK_TAG, this.lockValue());
        // Read back: of two writers racing on the tag, the later write wins and the other backs off.
        await clock.sleep(2000);
        const g2 = await cloud.describeGroup(this.group);
        const mine = parseLock(g2.tags[LOCK_TAG]);
        if (!mine || mine.runId !== this.p.runId) {
            throw new ReleaseError(`deploy lock on group ${this.group} was taken by ${mine?.owner ?? "someone else"} (run ${mine?.runId}) at the same time; re-run later`, "refused", null);
        }
        this.lockHeld = true;
        if (!this.p.done.includes("lock")) this.log(`lock acquired on ${this.group} (run ${this.p.runId})`);
        this.startHeartbeat();
    }

    /**
     * A dead run may have left the maintenance page on: adopt it, so this run removes it after its
     * ramp (or on rollback) even if its own plan needs no maintenance.
     */
    private async adoptMaintenancePage() {
        if (this.p.maintenanceRuleArn || !this.c.cloud.findMaintenanceRules) return;
        const arns = await this.c.cloud.findMaintenanceRules(this.i.listenerArn);
        if (!arns.length) return;
        this.p.maintenanceRuleArn = arns[0];
        this.log(`maintenance page ${arns[0]} left on by the earlier run: it goes off after this release`);
        if (!this.p.steps.includes("maintenance-off")) {
            const at = this.p.steps.findIndex((s) => s === "invalidate" || s === "prune" || s === "unlock");
            this.p.steps.splice(at < 0 ? this.p.steps.length : at, 0, "maintenance-off");
        }
        if (!this.p.steps.includes("maintenance-on")) {
            this.p.steps.splice(1, 0, "maintenance-on");
        }
        if (!this.p.done.includes("maintenance-on")) this.p.done.push("maintenance-on");
    }

    /** Takes over what a dead run recorded on the group. */
    private inherit(t: TagProgress | null) {
        if (!t) return;
        if (t.d !== undefined && t.x !== undefined && !this.p.group) {
            this.p.group = {
                desired: t.d,
                max: t.x,
                min: t.n ?? 0,
                suspendedByUs: (t.s ? t.s.split(",") : []).map((s) => PROC_BY_PREFIX[s]).filter(Boolean),
                lastDesired: -1,
            };
            this.log(`inherited the sizes found by run ${t.r}: desired ${t.d}, max ${t.x}`);
        }
        if (t.v === this.p.version && t.b === this.p.baseLaunchTemplateVersion && t.a && !this.p.amiId) {
            this.p.amiId = t.a;
            for (const s of ["remote", "bake"] as StepName[]) if (!this.p.done.includes(s)) this.p.done.push(s);
            this.log(`inherited AMI ${t.a} of run ${t.r}: remote phase and bake skipped`);
            if (t.t) {
                this.p.launchTemplateVersion = t.t;
                this.p.previousLaunchTemplateVersion = t.p;
            }
        } else if (t.p && !this.p.previousLaunchTemplateVersion && !this.c.deployed) {
            this.p.previousLaunchTemplateVersion = t.p;
        }
    }

    private lockValue() {
        const exp = new Date(this.c.clock.now() + this.i.rollout.lockTtlS * 1000).toISOString();
        return `${this.c.owner.slice(0, 120)};${this.p.runId};${exp}`;
    }

    private startHeartbeat() {
        if (this.heartbeat) return;
        const every = (this.i.rollout.lockTtlS * 1000) / 3;
        const beat = () => {
            this.heartbeat = setTimeout(async () => {
                if (!this.lockHeld) return;
                try {
                    await this.c.cloud.setGroupTag(this.group, LOCK_TAG, this.lockValue());
                } catch (e) {
                    this.log(`lock refresh failed (will retry): ${errText(e)}`);
                }
                if (this.lockHeld) beat();
            }, every);
            (this.heartbeat as any)?.unref?.();
        };
        beat();
    }

    private stopHeartbeat() {
        if (this.heartbeat) clearTimeout(this.heartbeat);
        this.heartbeat = null;
    }

    private async releaseLock() {
        this.stopHeartbeat();
        this.lockHeld = false;
        const batch = (this.c.cloud as GroupTagBatcher).deleteGroupTags;
        if (batch) {
            // One DeleteTags call for both (progress first in the list, as in the two-call order).
            await batch.call(this.c.cloud, this.group, [PROGRESS_TAG, LOCK_TAG]);
        } else {
            await this.c.cloud.deleteGroupTag(this.group, PROGRESS_TAG);
            await this.c.cloud.deleteGroupTag(this.group, LOCK_TAG);
        }
        this.log(`lock released on ${this.group}`);
    }

    private async writeTagProgress() {
        await this.c.cloud.setGroupTag(this.group, PROGRESS_TAG, encodeTagProgress(this.p));
    }

    private async bake() {
        const { cloud, clock } = this.c;
        const i = this.i;
        let startedMs = clock.now();
        if (this.p.amiId) {
            const [img] = await cloud.describeImages({ imageIds: [this.p.amiId] });
            if (img && img.state === "available") return;
            // A pending image of an interrupted run: its minutes of creation already count.
            const created = Date.parse(img?.creationDate ?? "");
            if (!Number.isNaN(created)) startedMs = Math.min(startedMs, created);
            if (!img || img.state !== "pending") {
                this.log(`AMI ${this.p.amiId} of an earlier run is ${img?.state ?? "gone"}: baking again`);
                this.p.amiId = undefined;
            }
        }
        if (!this.p.amiId) {
            const stamp = new Date(clock.now()).toISOString().replace(/[:.]/g, "-");
            const name = `${this.group}-${i.version.replace(/[^A-Za-z0-9._-]/g, "-")}-${stamp}`.slice(0, 128);
            this.log(`baking AMI ${name} from ${i.managementInstanceId}`);
            this.p.amiId = await cloud.createImage(i.managementInstanceId, name, {
                "release:version": i.version,
                "release:group": this.group,
                "release:commit": this.p.remote?.commit ?? "",
                Name: name,
            });
            await this.save();
            await this.writeTagProgress();
        }
        try {
            // An EBS-backed image (with the reboot CreateImage does) takes minutes: no point polling
            // during the first three; then the adapter's waiter polls at a fixed, modest period.
            const head = Math.min(180, i.rollout.bakeTimeoutS / 4);
            const left = startedMs + head * 1000 - clock.now();
            if (left > 0) await clock.sleep(left);
            await cloud.waitForImage(this.p.amiId!, i.rollout.bakeTimeoutS - head);
        } catch (e) {
            const ami = this.p.amiId!;
            this.p.amiId = undefined;
            await cloud.deleteImage(ami).catch(() => undefined);
            throw new StepError("bake", `AMI ${ami} did not become available: ${errText(e)}`, i.managementInstanceId);
        }
        this.log(`AMI ${this.p.amiId} available`);
    }

    private async template() {
        const { cloud } = this.c;
        const i = this.i;
        const ami = this.p.amiId ?? this.c.deployed?.amiId;
        if (!ami) throw new StepError("template", "no AMI: neither this release nor the previous one baked one");
        if (!this.p.launchTemplateVersion) {
            // Roll back to what the fleet was released on, not to whatever the default is now (a
            // dead run may have switched it to its own version before dying). The live default is
            // read only when neither this run nor the last release says (one call fewer).
            this.p.previousLaunchTemplateVersion =
                this.p.previousLaunchTemplateVersion ?? (this.c.deployed?.launchTemplateVersion || (await cloud.describeLaunchTemplate(i.baseLaunchTemplateId)).defaultVersion);
            // The idempotency token names this run's request: a repeat (an SDK retry whose response
            // was lost, or this run resumed before it saved the version) gets the same version back.
            this.p.launchTemplateVersion = await (cloud as Cloud & IdempotentTemplateVersions).createLaunchTemplateVersion(
                i.baseLaunchTemplateId,
                i.baseLaunchTemplateVersion,
                ami,
                releaseVersionDescription(i.version, i.baseLaunchTemplateVersion),
                templateVersionToken(this.p.runId, i.baseLaunchTemplateVersion, ami),
            );
            await this.save();
        }
        await cloud.setDefaultLaunchTemplateVersion(i.baseLaunchTemplateId, this.p.launchTemplateVersion!);
        // The ramp's first act writes the progress tag with the saved sizes (and this version):
        // written here only when no ramp follows at once (one call fewer per release).
        const next = this.p.steps[this.p.steps.indexOf("template") + 1];
        if (!(next === "ramp" && !this.p.group)) await this.writeTagProgress();
        this.log(`launch template ${i.baseLaunchTemplateId} v${this.p.previousLaunchTemplateVersion} -> v${this.p.launchTemplateVersion} (default)`);
    }

    private async saveGroup(g: GroupState) {
        if (!this.p.group) {
            this.p.group = {
                desired: g.desiredCapacity,
                max: g.maxSize,
                min: g.minSize,
                suspendedByUs: SUSPENDED_PROCESSES.filter((s) => !g.suspendedProcesses.includes(s)),
                lastDesired: g.desiredCapacity,
            };
            await this.writeTagProgress();
            await this.save();
        }
        return this.p.group;
    }

    private async scaleOut() {
        const { cloud } = this.c;
        const c = this.i.capacity;
        const g = await cloud.describeGroup(this.group);
        const saved = await this.saveGroup(g);
        saved.lastDesired = c.desiredCapacity;
        this.log(`scaling ${this.group} to min ${c.minSize} / desired ${c.desiredCapacity} / max ${c.maxSize} on launch template v${this.p.launchTemplateVersion}`);
        await cloud.updateGroupSize(this.group, { minSize: c.minSize, maxSize: c.maxSize, desiredCapacity: c.desiredCapacity });
        if (c.desiredCapacity > 0) {
            await this.waitHealthy(this.p.launchTemplateVersion!, new Set(), c.desiredCapacity, this.c.clock.now(), "scale-out");
        }
        this.log(`${c.desiredCapacity} instance(s) InService and healthy`);
    }

    private async rampForward() {
        const { cloud } = this.c;
        const g = await cloud.describeGroup(this.group);
        const saved = await this.saveGroup(g);
        if (saved.suspendedByUs.length) await cloud.suspendProcesses(this.group, saved.suspendedByUs);
        await this.rampTo(this.p.launchTemplateVersion!, saved, "ramp", g);
        await this.restoreGroup(saved);
    }

    private async restoreGroup(saved: SavedGroup) {
        const { cloud } = this.c;
        const g = await cloud.describeGroup(this.group);
        let seen: GroupState | undefined = g;
        if (g.desiredCapacity !== saved.desired || g.maxSize !== saved.max || g.minSize !== saved.min) {
            await cloud.updateGroupSize(this.group, { minSize: saved.min, desiredCapacity: saved.desired, maxSize: saved.max });
            // Only max/min changed: the instances are as just seen; a new desired needs a fresh look.
            seen = g.desiredCapacity === saved.desired ? { ...g, minSize: saved.min, maxSize: saved.max } : undefined;
        }
        if (saved.suspendedByUs.length) await cloud.resumeProcesses(this.group, saved.suspendedByUs);
        await this.waitSettled("restore", seen);
        this.log(`group restored: desired ${saved.desired}, max ${saved.max}; resumed ${saved.suspendedByUs.join(", ") || "nothing"}`);
    }

    /**
     * Waits until the group has exactly `desired` instances, all InService and healthy in the target
     * group (after a size change the group may still be launching or terminating). A time-out is a
     * warning, not a failure: the sizes are right, the group converges by itself.
     */
    private async waitSettled(step: string, seen?: GroupState) {
        const { cloud, clock } = this.c;
        const deadline = clock.now() + this.i.rollout.healthyTimeoutS * 1000;
        for (;;) {
            // `seen`: the group as the caller just read it (one DescribeAutoScalingGroups fewer).
            const g = seen ?? (await cloud.describeGroup(this.group));
            seen = undefined;
            const live = liveInstances(g).filter((x) => x.lifecycleState !== "Standby");
            let ok = live.length === g.desiredCapacity && live.every((x) => x.lifecycleState === "InService");
            if (ok && live.length) {
                const th = await cloud.describeTargetHealth(this.i.targetGroupArn);
                ok = live.every((x) => th[x.instanceId] === "healthy");
            }
            if (ok) return;
            if (clock.now() >= deadline) {
                this.p.warnings.push(`${step}: the group had not settled at desired ${g.desiredCapacity} after ${this.i.rollout.healthyTimeoutS} s`);
                return;
            }
            await clock.sleep(this.i.rollout.pollIntervalS * 1000);
        }
    }

    /** The deregistration delay (read once per run, with the health-check timings when the adapter has them). */
    private async timings() {
        if (this.delayS === null) await this.targetTimings();
        if (this.delayS === null) this.delayS = await this.c.cloud.deregistrationDelayS(this.i.targetGroupArn);
        return this.delayS;
    }

    /** DescribeTargetGroups + its attributes, once per run (null when the adapter cannot say). */
    private async targetTimings(): Promise<TargetGroupTimings | null> {
        if (this.tgTimings !== undefined) return this.tgTimings;
        const t = this.c.cloud.describeTargetGroup ? await this.c.cloud.describeTargetGroup(this.i.targetGroupArn).catch(() => null) : null;
        this.tgTimings = t;
        if (t) this.delayS = t.deregistrationDelayS;
        return t;
    }

    /**
     * Replaces every instance not on `target` (a launch template version), `surge` at a time.
     * Recomputed from the live group at every wave, so it resumes after an interruption.
     */
    private async rampTo(target: number, saved: SavedGroup, step: string, first?: GroupState) {
        const { cloud, clock } = this.c;
        const surge = resolveSurge(this.i.rollout.maxSurge, Math.max(saved.desired, 1));
        const tv = String(target);
        let wave = 0;
        // The group as the last wave's confirmation saw it, minus the instances it terminated:
        // saves one DescribeAutoScalingGroups per wave.
        let known: GroupState | null = first ?? null;
        let maxWaves = 0;
        for (;;) {
            const g: GroupState = known ?? (await cloud.describeGroup(this.group));
            known = null;
            this.adoptExternalChange(g, saved);
            const live = liveInstances(g).filter((x) => x.lifecycleState !== "Standby" && x.lifecycleState !== "EnteringStandby");
            const standby = liveInstances(g).filter((x) => x.lifecycleState === "Standby" && x.launchTemplateVersion !== tv);
            for (const s of standby) {
                const w = `instance ${s.instanceId} is in Standby on launch template v${s.launchTemplateVersion}: left alone`;
                if (!this.p.warnings.includes(w)) this.p.warnings.push(w);
            }
            const old = live.filter((x) => x.launchTemplateVersion !== tv);
            if (old.length === 0) break;
            wave++;
            if (maxWaves === 0) maxWaves = 2 * Math.ceil(old.length / surge) + 5;
            if (wave > maxWaves) {
                // A safety net: never churn the fleet forever (e.g. instances reporting no version).
                throw new StepError(step, `the ramp does not converge after ${wave - 1} waves: ${old.map((x) => `${x.instanceId} (v${x.launchTemplateVersion})`).join(", ")} still not on v${tv}`, old[0].instanceId);
            }
            const waves = wave - 1 + Math.ceil(old.length / surge);
            const b = Math.min(surge, old.length);
            const want = saved.desired + b;
            const waveStart = clock.now();
            if (g.desiredCapacity !== want) {
                if (want > g.maxSize) await cloud.updateGroupSize(this.group, { maxSize: want, desiredCapacity: want });
                else await cloud.updateGroupSize(this.group, { desiredCapacity: want });
                saved.lastDesired = want;
            }
            this.log(`${step} wave ${wave}/${waves}: desired ${want}, ${old.length} instance(s) left on other versions`);
            const oldIds = new Set(old.map((x) => x.instanceId));
            const confirmed = await this.waitHealthy(target, oldIds, want - old.length, waveStart, step, saved);
            if (!confirmed) {
                wave--;
                continue; // desired changed outside the release: re-plan this wave
            }
            // Drain and terminate a batch of old instances, least useful first.
            const batch = [...old].sort((a, b2) => rank(a) - rank(b2)).slice(0, b).map((x) => x.instanceId);
            const t1 = clock.now();
            await cloud.deregisterTargets(this.i.targetGroupArn, batch);
            await this.waitDrained(batch);
            const remainingAfter = old.length - b;
            const targetAfter = saved.desired + Math.min(surge, remainingAfter);
            const cur = saved.lastDesired >= 0 ? saved.lastDesired : want;
            const dec = Math.max(0, Math.min(b, cur - targetAfter));
            for (let k = 0; k < batch.length; k++) {
                await this.terminate(batch[k], k >= batch.length - dec);
            }
            saved.lastDesired = cur - dec;
            known = { ...confirmed, desiredCapacity: saved.lastDesired, instances: confirmed.instances.filter((x) => !batch.includes(x.instanceId)) };
            this.p.replaced.push(...batch);
            this.log(`${step} wave ${wave}/${waves} done: replaced ${batch.join(", ")} (healthy after ${sec(t1 - waveStart)} s, drained ${sec(clock.now() - t1)} s)`);
            await this.save();
        }
    }

    private adoptExternalChange(g: GroupState, saved: SavedGroup) {
        if (saved.lastDesired < 0) {
            saved.lastDesired = g.desiredCapacity;
            return;
        }
        if (g.desiredCapacity !== saved.lastDesired) {
            const delta = g.desiredCapacity - saved.lastDesired;
            const before = saved.desired;
            saved.desired = Math.max(saved.min, Math.min(saved.max, saved.desired + delta));
            saved.lastDesired = g.desiredCapacity;
            this.log(`desired capacity changed outside the release by ${delta > 0 ? "+" : ""}${delta}: will restore ${saved.desired} instead of ${before}`);
        }
    }

    private async terminate(instanceId: string, decrement: boolean) {
        try {
            await this.c.cloud.terminateInstance(instanceId, decrement);
        } catch (e: any) {
            if (/not found|does not exist|no managed instance/i.test(String(e?.message))) {
                this.log(`instance ${instanceId} was already gone`);
                if (decrement) {
                    // The group did not decrement for us: do it explicitly.
                    const g = await this.c.cloud.describeGroup(this.group);
                    await this.c.cloud.updateGroupSize(this.group, { desiredCapacity: Math.max(g.minSize, g.desiredCapacity - 1) });
                }
                return;
            }
            throw new StepError("ramp", `terminating ${instanceId} failed: ${errText(e)}`, instanceId);
        }
    }

    private async waitDrained(ids: string[]) {
        const { cloud, clock } = this.c;
        const delay = await this.timings();
        const deadline = clock.now() + (delay + this.i.rollout.drainTimeoutS) * 1000;
        await clock.sleep(delay * 1000);
        for (;;) {
            const th = await cloud.describeTargetHealth(this.i.targetGroupArn);
            const still = ids.filter((id) => th[id] === "draining");
            if (still.length === 0) return;
            if (clock.now() >= deadline) {
                this.p.warnings.push(`instances ${still.join(", ")} still draining after ${delay + this.i.rollout.drainTimeoutS} s: terminated anyway`);
                return;
            }
            await clock.sleep(Math.min(5000, deadline - clock.now()));
        }
    }

    /**
     * Waits until `need` instances on `target` that are not in `oldIds` are InService and healthy
     * in the target group. Polls DescribeTargetHealth only (one call), first when the wave is
     * expected to be ready (learned from the previous wave), then every pollIntervalS; confirms
     * with one DescribeAutoScalingGroups. Resolves false when desired changed outside the release.
     */
    private async waitHealthy(target: number, oldIds: Set<string>, need: number, waveStart: number, step: string, saved?: SavedGroup): Promise<GroupState | null> {
        const { cloud, clock } = this.c;
        const i = this.i;
        const tv = String(target);
        const deadline = waveStart + i.rollout.healthyTimeoutS * 1000;
        if (need <= 0) return this.c.cloud.describeGroup(this.group);
        const expected = this.learnedWaveMs ?? (await this.defaultWaveMs());
        const poll = await this.healthPollMs();
        // A rollback usually finds the old instances already healthy: look at once.
        let next = step === "rollback" ? waveStart : waveStart + expected;
        const failedCheck: string[] = [];
        for (;;) {
            const now = clock.now();
            if (next > now) await clock.sleep(Math.min(next, deadline) - now);
            const th = await cloud.describeTargetHealth(i.targetGroupArn);
            for (const [id, st] of Object.entries(th)) if (st === "unhealthy" && !oldIds.has(id) && !failedCheck.includes(id)) failedCheck.push(id);
            const healthy = Object.keys(th).filter((id) => th[id] === "healthy" && !oldIds.has(id));
            if (healthy.length >= need) {
                const g = await cloud.describeGroup(this.group);
                if (saved && saved.lastDesired >= 0 && g.desiredCapacity !== saved.lastDesired) {
                    this.adoptExternalChange(g, saved);
                    return null;
                }
                const ok = g.instances.filter((x) => x.lifecycleState === "InService" && x.launchTemplateVersion === tv && th[x.instanceId] === "healthy" && !oldIds.has(x.instanceId));
                if (ok.length >= need) {
                    this.learnedWaveMs = clock.now() - waveStart;
                    return g;
                }
            }
            if (clock.now() >= deadline) {
                const g = await cloud.describeGroup(this.group);
                const fresh = g.instances.filter((x) => !oldIds.has(x.instanceId) && x.launchTemplateVersion === tv);
                const bad = fresh.find((x) => th[x.instanceId] !== "healthy");
                let cause: string;
                if (failedCheck.length) {
                    const now2 = fresh.map((x) => `${x.instanceId} ${x.lifecycleState}/${th[x.instanceId] ?? "not registered"}`).join(", ");
                    cause = `instance ${failedCheck.join(", ")} failed the target group health check (unhealthy) within ${i.rollout.healthyTimeoutS} s (rollout.healthyTimeoutS)${now2 ? `; now: ${now2}` : ""}`;
                    throw new StepError(step, cause, failedCheck[0]);
                } else if (bad) {
                    cause = `instance ${bad.instanceId} is ${bad.lifecycleState}/${th[bad.instanceId] ?? "not registered"} in target group after ${i.rollout.healthyTimeoutS} s (rollout.healthyTimeoutS)`;
                } else {
                    const why = cloud.lastScalingFailure ? await cloud.lastScalingFailure(this.group, waveStart).catch(() => null) : null;
                    cause = `only ${fresh.length} of ${need} new instance(s) launched within ${i.rollout.healthyTimeoutS} s${why ? `: ${why}` : ""}`;
                }
                throw new StepError(step, cause, bad?.instanceId);
            }
            next = clock.now() + poll;
        }
    }

    /**
     * When a wave's new instances can first be healthy: they must boot and then pass
     * `healthyThreshold` checks `interval` apart. The boot is expected to take ESTIMATES.bootS, but
     * never more than the checks' own span (a target group checked every second, as in the local
     * rehearsal, fronts instances that start in seconds); the time an earlier wave measured replaces
     * this estimate. Polling before then only spends API calls; looking later only costs time.
     */
    private async defaultWaveMs() {
        const t = await this.targetTimings();
        const interval = t?.healthCheckIntervalS ?? ESTIMATES.healthCheckIntervalS;
        const threshold = t?.healthyThreshold ?? ESTIMATES.healthyThreshold;
        const span = interval * threshold;
        return (Math.min(ESTIMATES.bootS, span) + span) * 1000;
    }

    /**
     * The poll period while waiting for target health: a target's state changes only at a health
     * check, so the check interval (at least rollout.pollIntervalS).
     */
    private async healthPollMs() {
        const t = await this.targetTimings();
        return Math.max(this.i.rollout.pollIntervalS, t?.healthCheckIntervalS ?? 0) * 1000;
    }

    private async invalidate() {
        const { cloud } = this.c;
        const paths = this.p.remote?.changedStaticPaths ?? [];
        if (paths.length === 0) {
            this.log("no changed non-hashed static file: no CloudFront invalidation");
            return;
        }
        // CloudFront accepts up to 3000 paths per invalidation; beyond that, the static prefix.
        const list = paths.length > 3000 ? [`${(this.i.remote.staticUrl ?? "/static/").replace(/\/?$/, "/")}*`] : paths.map((p) => (p.startsWith("/") ? p : `/${p}`));
        try {
            const id = await cloud.createInvalidation(this.i.distributionId, list, `release-${this.p.runId}`);
            this.log(`CloudFront invalidation ${id} of ${list.length} path(s)`);
            await cloud.waitForInvalidation(this.i.distributionId, id, 1200);
            this.log(`invalidation ${id} completed`);
        } catch (e) {
            // The fleet already runs the new version: rolling it back for a stale robots.txt would
            // do more harm than good. The release succeeds with a warning.
            this.p.warnings.push(`CloudFront invalidation of ${list.join(", ")} failed: ${errText(e)}`);
        }
    }

    // -----------------------------------------------------------------------------------
    // Failure handling.

    private async onForwardFailure(e: any): Promise<never> {
        const step = this.p.steps.find((s) => !this.p.done.includes(s)) ?? "unknown";
        const failure: StepFailure = {
            step: e instanceof StepError ? e.step : e instanceof RemotePhaseError ? `remote/${e.step}` : step,
            instanceId: e instanceof StepError ? e.instanceId : undefined,
            cause: e instanceof StepError ? e.cause_ : errText(e),
        };
        this.p.failure = failure;
        this.log(`FAILED at ${failure.step}${failure.instanceId ? ` (instance ${failure.instanceId})` : ""}: ${failure.cause}`);
        return this.rollback(failure);
    }

    private async rollback(failure: StepFailure): Promise<never> {
        const { cloud } = this.c;
        this.p.phase = "rollback";
        await this.save();
        const errors: string[] = [];
        const attempt = async (what: string, f: () => Promise<unknown>) => {
            try {
                await f();
            } catch (e) {
                errors.push(`${what}: ${errText(e)}`);
                this.log(`rollback: ${what} failed: ${errText(e)}`);
            }
        };
        this.log("rolling back");
        if (!this.lockHeld && this.p.done.includes("lock")) await attempt("re-acquire lock", () => this.acquireLock());
        const prev = this.p.previousLaunchTemplateVersion;
        const saved0 = this.p.group;
        if (saved0 && this.p.kind !== "first") {
            // Surge slots the group could not fill (launch failure) would be filled with old-version
            // instances the moment the default goes back, only to be scaled in again: drop them first.
            await attempt("drop unfilled surge capacity", async () => {
                const g = await cloud.describeGroup(this.group);
                const live = liveInstances(g).length;
                const want = Math.max(saved0.desired, Math.min(g.desiredCapacity, live));
                if (want < g.desiredCapacity) {
                    await cloud.updateGroupSize(this.group, { desiredCapacity: want });
                    saved0.lastDesired = want;
                }
            });
        }
        if (this.p.launchTemplateVersion && prev) {
            await attempt(`default launch template version back to v${prev}`, async () => {
                await cloud.setDefaultLaunchTemplateVersion(this.i.baseLaunchTemplateId, prev);
                this.log(`launch template default back to v${prev}`);
            });
        }
        const saved = this.p.group;
        if (saved) {
            if (this.p.kind === "first") {
                await attempt("scale the group back", async () => {
                    await cloud.updateGroupSize(this.group, { minSize: saved.min, desiredCapacity: saved.desired, maxSize: saved.max });
                    await this.waitGone(prev);
                });
            } else if (prev) {
                await attempt(`replace the new instances with v${prev} ones`, () => this.rampTo(prev, saved, "rollback"));
            }
            await attempt("restore the group", () => this.restoreGroup(saved));
        }
        if (this.p.maintenanceRuleArn) {
            const arn = this.p.maintenanceRuleArn;
            await attempt("remove the maintenance page", async () => {
                await cloud.removeMaintenanceRule(arn);
                this.p.maintenanceRuleArn = undefined;
                this.log("maintenance page off");
            });
        }
        if (this.p.done.includes("remote") || failure.step.startsWith("remote/")) {
            const back = this.p.remote?.previousVersion ?? this.c.deployed?.version;
            if (back) {
                await attempt(`management instance back to ${back}`, async () => {
                    const ph = await this.remote();
                    await ph.revert(back, (l) => this.log(`  ${l}`));
                });
            }
        }
        if (this.p.amiId && this.p.amiId !== this.c.deployed?.amiId) {
            // Keep the failed release's AMI out of the launch template's default, but keep the image
            // itself for inspection; pruning removes it later.
        }
        if (this.lockHeld || this.p.done.includes("lock")) await attempt("release the lock", () => this.releaseLock());
        const outcome: Outcome = errors.length ? "failed" : "rolled-back";
        this.p.phase = "done";
        const where = `${failure.step}${failure.instanceId ? ` (instance ${failure.instanceId})` : ""}`;
        const msg =
            outcome === "rolled-back"
                ? `release ${this.i.version} failed at ${where}: ${failure.cause}; rolled back: the fleet runs ${this.c.deployed?.version ?? "what it ran before"} again`
                : `release ${this.i.version} failed at ${where}: ${failure.cause}; ROLLBACK INCOMPLETE: ${errors.join("; ")}`;
        this.log(msg);
        throw new ReleaseError(msg, outcome, this.snapshot(), failure);
    }

    /** After a failed first release: waits until the instances of the failed version are gone. */
    private async waitGone(prev: number | undefined) {
        const { cloud, clock } = this.c;
        const deadline = clock.now() + this.i.rollout.healthyTimeoutS * 1000;
        for (;;) {
            const g = await cloud.describeGroup(this.group);
            const left = liveInstances(g).filter((x) => x.launchTemplateVersion !== String(prev));
            if (left.length <= g.desiredCapacity) return;
            if (clock.now() > deadline) throw new StepError("rollback", `instances ${left.map((x) => x.instanceId).join(", ")} still in the group`);
            await clock.sleep(this.i.rollout.pollIntervalS * 1000);
        }
    }
}

function rank(x: GroupInstance): number {
    if (x.lifecycleState !== "InService") return 0;
    if (x.healthStatus !== "Healthy") return 1;
    return 2;
}

function defaultRunId(): string {
    return Math.random().toString(36).slice(2, 10) + Date.now().toString(36).slice(-4);
}

export const MAINTENANCE_HTML =
    MAINTENANCE_MARKER +
    "<!doctype html><html><head><title>Under maintenance</title></head><body><h1>We'll be right back</h1><p>The site is being updated. Please try again in a few minutes.</p></body></html>";

/**
 * Deregisters release AMIs of `group` beyond the newest `keep` (and their snapshots), never one in
 * `inUse`. Resolves with the removed image ids.
 */
export async function pruneImages(cloud: Cloud, group: string, keep: number, inUse: (string | undefined)[], launchTemplateId?: string): Promise<string[]> {
    const images = await cloud.describeImages({ tags: { "release:group": group } });
    const sorted = images
        .filter((im) => im.state === "available" || im.state === "failed")
        .sort((a, b) => (b.creationDate ?? "").localeCompare(a.creationDate ?? ""));
    const keepIds = new Set([...sorted.slice(0, keep).map((x) => x.imageId), ...inUse.filter((x): x is string => !!x)]);
    // The AMI of the live default launch template version is what the group launches next: in use,
    // whoever made it the default. Read only when something would be deleted (one call fewer); a
    // failed read fails the pruning before anything is deleted.
    const readDefault = (cloud as DefaultTemplateImage).defaultTemplateImageId;
    if (launchTemplateId && readDefault && sorted.some((im) => !keepIds.has(im.imageId))) {
        const live = await readDefault.call(cloud, launchTemplateId);
        if (live) keepIds.add(live);
    }
    const removed: string[] = [];
    for (const im of sorted) {
        if (keepIds.has(im.imageId)) continue;
        await cloud.deleteImage(im.imageId);
        removed.push(im.imageId);
    }
    return removed;
}

/** Runs one release. */
export async function runRelease(ctx: ExecContext): Promise<ExecResult> {
    return new Executor(ctx).run();
}

export { capacityEquals };
export type { TargetHealthState };
