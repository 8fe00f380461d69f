/**
 * The deploy lock: a tag on the group naming the owner, the run and the expiry. Owns acquisition
 * (with the take-over rules), the heartbeat, the release, and what a run inherits from the dead
 * run whose lock it takes over (sizes, AMI, maintenance page), plus the progress tag it writes.
 */
import type { GroupState } from "../ports";
import type { StepName } from "../planner";
import { TAG_WRITE_FRESH_MS, type RunState } from "./run-state";
import { LOCK_TAG, MAINTENANCE_TAG, PROGRESS_TAG, PROC_BY_PREFIX, TagProgress, decodeTagProgress, encodeTagProgress, formatLock, parseLock } from "./tags";
import { Progress, ReleaseError, errText } from "./types";
import { retrying } from "./retry";

/** Thrown when this run's lock is gone or held by another run: the run stops at once. */
export class LockLostError extends ReleaseError {
    constructor(message: string, progress: Progress) {
        super(message, "failed", progress);
        this.name = "LockLostError";
    }
}

/**
 * A fenced lock: acquisition reads the tag fresh right before writing it; every mutating step
 * (and every heartbeat write) first checks that the tag still names this run, and a run whose
 * lock is gone or changed stops without touching the fleet again.
 *
 * Take-over rules: a lock of another owner is refused until it expires; a lock of this owner
 * (every machine deploying the stack shares it) is taken over only when it expired, or when its
 * run is the one saved in this resource's Pulumi state (an interrupted run of ours, resumed).
 */
export class DeployLock {
    held = false;
    /** Set when a heartbeat found the lock taken: the next check stops the run. */
    private lost: string | null = null;
    private heartbeat: ReturnType<typeof setTimeout> | null = null;
    /** When the heartbeat's timer fires next. */
    private nextBeatAt = 0;
    /** The refresh under way, if any: the unlock waits for it (its write must not land after the removal). */
    private beating: Promise<void> | null = null;

    constructor(private readonly rs: RunState) {}

    async acquire() {
        const { rs } = this;
        const { cloud, clock } = rs.c;
        const p = rs.p;
        // A fresh read right before the write (at most TAG_WRITE_FRESH_MS old: the executor's
        // first look, made just before, serves): a lock written by another run is seen.
        const g = await rs.freshGroup(TAG_WRITE_FRESH_MS);
        const cur = parseLock(g.tags[LOCK_TAG]);
        const now = clock.now();
        if (cur && cur.runId !== p.runId && cur.done) {
            // A finished run could not remove its tags: recognised, cleaned, nothing inherited.
            rs.log(`removing the tags run ${cur.runId} left when it finished (${cur.owner})`);
            await cloud.deleteGroupTags(rs.group, [PROGRESS_TAG]).catch((e) => rs.log(`could not remove its progress tag: ${errText(e)}`));
            await this.adoptMaintenancePage();
        } else if (cur && cur.runId !== p.runId) {
            const expired = cur.expiresMs <= now;
            const savedRun = rs.c.progress?.runId;
            const ours = cur.owner === rs.c.owner && savedRun !== undefined && cur.runId === savedRun;
            if (!expired && !ours) {
                throw new ReleaseError(
                    `deploy lock on group ${rs.group} is held by ${cur.owner} (run ${cur.runId}) until ${new Date(cur.expiresMs).toISOString()}: ` +
                        (cur.owner === rs.c.owner
                            ? `another run of this stack is releasing (its run is not the one saved in this resource's state); wait for it to finish or for its lock to expire, or, ` +
                              `if you know that run is dead, remove the tag: ` +
                              `aws autoscaling delete-tags --tags ResourceId=${rs.group},ResourceType=auto-scaling-group,Key=${LOCK_TAG}`
                            : `another release is running; wait for it, or for the lock to expire`),
                    "refused",
                    null,
                );
            }
            const why = expired
                ? `a stale lock of ${cur.owner} (expired ${new Date(cur.expiresMs).toISOString()})`
                : "an interrupted run of this release (its run is in the saved state)";
            rs.log(`taking over ${why} (run ${cur.runId})`);
            p.takenOver = cur.runId;
            this.inherit(decodeTagProgress(g.tags[PROGRESS_TAG]));
            await this.adoptMaintenancePage();
        } else if (!cur && p.done.length === 0) {
            // A tag progress without a lock: a run died between unlocking steps; inherit it too.
            this.inherit(decodeTagProgress(g.tags[PROGRESS_TAG]));
            // A maintenance page an earlier release left on (past its point of no return, or a
            // failed removal) goes off when this release succeeds. Such a run left its marker (or
            // died with its progress tag on): without either, there is no page to look for.
            // The resource's state keeps an unfinished run's progress: after one, look too (a page
            // an older version of this program left on has no marker).
            if (g.tags[MAINTENANCE_TAG] !== undefined || g.tags[PROGRESS_TAG] !== undefined || rs.c.progress) await this.adoptMaintenancePage();
        }
        const first = !p.done.includes("lock");
        await cloud.setGroupTag(rs.group, LOCK_TAG, this.value());
        // From here the tag may be this run's: recorded, so a rollback (or the run resuming it) releases it.
        if (!p.done.includes("lock")) p.done.push("lock");
        // Read back: of two writers racing on the tag, the later write wins and the other backs off.
        await clock.sleep(2000);
        const g2 = await cloud.describeGroup(rs.group);
        const mine = parseLock(g2.tags[LOCK_TAG]);
        if (!mine || mine.runId !== p.runId) {
            throw new ReleaseError(`deploy lock on group ${rs.group} was taken by ${mine?.owner ?? "someone else"} (run ${mine?.runId}) at the same time; re-run later`, "refused", null);
        }
        this.held = true;
        this.lost = null;
        if (first) rs.log(`lock acquired on ${rs.group} (run ${p.runId})`);
        this.startHeartbeat();
    }

    /** Why the tag in `g` is not this run's lock, or null when it is. */
    private whyNotMine(g: GroupState): string | null {
        const cur = parseLock(g.tags[LOCK_TAG]);
        if (!cur) return `the deploy lock on group ${this.rs.group} is gone`;
        if (cur.runId !== this.rs.p.runId || cur.owner !== this.rs.c.owner.slice(0, 120)) return `the deploy lock on group ${this.rs.group} is now held by ${cur.owner} (run ${cur.runId})`;
        return null;
    }

    /**
     * The fence: before a mutating step, the lock must still be this run's (on the caller's read,
     * or a read at most FENCE_FRESH_MS old, or a new one). Otherwise the run stops at once,
     * touching nothing more.
     */
    async verify(g?: GroupState) {
        const why = this.lost ?? this.whyNotMine(g ?? (await this.rs.freshGroup()));
        if (!why) return;
        this.held = false;
        this.stopHeartbeat();
        const p = this.rs.p;
        const msg =
            `release ${this.rs.i.version} stopped: ${why} while run ${p.runId} held it; this run stopped at once and changed nothing more ` +
            `(steps done: ${p.done.join(", ") || "none"}${p.replaced.length ? `; instances replaced: ${p.replaced.join(", ")}` : ""}). ` +
            `The run that holds the lock now owns the group; re-run after it has finished.`;
        this.rs.log(msg);
        throw new LockLostError(msg, this.rs.snapshot());
    }

    /**
     * A dead run may have left the maintenance page on: adopt it, so this run removes it after its
     * ramp (or on rollback) even if its own plan needs no maintenance.
     */
    private async adoptMaintenancePage() {
        const { rs } = this;
        const p = rs.p;
        if (p.maintenanceRuleArn) return;
        const arns = await rs.c.cloud.findMaintenanceRules(rs.i.listenerArn);
        if (!arns.length) {
            rs.pageOff = true;
            return;
        }
        p.maintenanceRuleArn = arns[0];
        rs.log(`maintenance page ${arns[0]} left on by the earlier run: it goes off after this release`);
        this.keepMaintenanceSteps();
    }

    /** With an adopted maintenance page: its "on" counts as done, its "off" is planned. */
    keepMaintenanceSteps() {
        const p = this.rs.p;
        if (!p.steps.includes("maintenance-off")) {
            const at = p.steps.findIndex((s) => s === "invalidate" || s === "prune" || s === "unlock");
            p.steps.splice(at < 0 ? p.steps.length : at, 0, "maintenance-off");
        }
        if (!p.steps.includes("maintenance-on")) {
            p.steps.splice(1, 0, "maintenance-on");
        }
        if (!p.done.includes("maintenance-on")) p.done.push("maintenance-on");
    }

    /** Takes over what a dead run recorded on the group. */
    private inherit(t: TagProgress | null) {
        const { rs } = this;
        const p = rs.p;
        if (!t) return;
        if (t.m && t.v === p.version && !p.schemaAhead) {
            p.schemaAhead = t.m;
            rs.log(`run ${t.r} applied ${t.m} migrations: past the point of no return, the old code is never put back`);
        }
        if (t.d !== undefined && t.x !== undefined && !p.group) {
            p.group = {
                desired: t.d,
                max: t.x,
                min: t.n ?? 0,
                suspendedByUs: (t.s ? t.s.split(",") : []).map((s) => PROC_BY_PREFIX[s]).filter(Boolean),
                lastDesired: -1,
            };
            rs.log(`inherited the sizes found by run ${t.r}: desired ${t.d}, max ${t.x}`);
        }
        if (t.v === p.version && t.b === p.baseLaunchTemplateVersion && t.a && !p.amiId) {
            p.amiId = t.a;
            for (const s of ["remote", "bake"] as StepName[]) if (!p.done.includes(s)) p.done.push(s);
            rs.log(`inherited AMI ${t.a} of run ${t.r}: remote phase and bake skipped`);
            if (t.t) {
                p.launchTemplateVersion = t.t;
                p.previousLaunchTemplateVersion = t.p;
            }
        } else if (t.p && !p.previousLaunchTemplateVersion && !rs.c.deployed) {
            p.previousLaunchTemplateVersion = t.p;
        }
    }

    private value() {
        return formatLock(this.rs.c.owner, this.rs.p.runId, this.rs.c.clock.now() + this.rs.i.rollout.lockTtlS * 1000);
    }

    private startHeartbeat() {
        if (this.heartbeat) return;
        this.schedule();
    }

    private schedule() {
        const every = (this.rs.i.rollout.lockTtlS * 1000) / 3;
        this.nextBeatAt = this.rs.c.clock.now() + every;
        this.heartbeat = setTimeout(async () => {
            if (!this.held || this.beating) return;
            // Never refresh a lock another run holds now: check (on a new read), then write.
            await this.beat(() => this.rs.c.cloud.describeGroup(this.rs.group));
            if (this.held) this.schedule();
        }, every);
        (this.heartbeat as any)?.unref?.();
    }

    private async beat(read: () => Promise<GroupState>) {
        this.beating = this.renew(read);
        try {
            await this.beating;
        } finally {
            this.beating = null;
        }
    }

    /**
     * One refresh of the lock on `read`, a read of the group made just before: a lock another run
     * holds is never written, nor one this run has begun to release.
     */
    private async renew(read: () => Promise<GroupState>) {
        try {
            const g = await read();
            if (!this.held) return;
            const why = this.whyNotMine(g);
            if (why) {
                this.lost = why;
                this.rs.log(`lock refresh: ${why}; this run stops at its next step`);
                return;
            }
            await this.rs.c.cloud.setGroupTag(this.rs.group, LOCK_TAG, this.value());
        } catch (e) {
            this.rs.log(`lock refresh failed (will retry): ${errText(e)}`);
            // Named in the outcome: a lock that cannot be refreshed may expire while this run works.
            this.rs.warn(`the deploy lock could not be refreshed: ${errText(e)}`);
        }
    }

    /**
     * The heartbeat on a read the caller just made (a wave's confirmation): when the timer would
     * fire before the caller's next such read (`nextReadInMs`), the lock is refreshed now on that
     * read (at most TAG_WRITE_FRESH_MS old), with no read of its own, and the timer starts again.
     */
    async renewOnRead(nextReadInMs: number) {
        if (!this.held || this.lost || this.beating || !this.heartbeat) return;
        if (this.nextBeatAt - this.rs.c.clock.now() > nextReadInMs) return;
        this.stopHeartbeat();
        await this.beat(() => this.rs.freshGroup(TAG_WRITE_FRESH_MS));
        if (this.held) this.schedule();
    }

    stopHeartbeat() {
        if (this.heartbeat) clearTimeout(this.heartbeat);
        this.heartbeat = null;
    }

    /**
     * Removes the lock and progress tags, only while they are this run's (a lock another run took
     * meanwhile is left to it). The removal is retried (bounded) before it gives up.
     */
    async release(g?: GroupState) {
        const { rs } = this;
        this.stopHeartbeat();
        this.held = false;
        // A refresh already under way lands first (a write after the removal would bring the lock back).
        const inFlight = this.beating;
        if (inFlight) await inFlight;
        const seen = (!inFlight && g) || (await rs.freshGroup(TAG_WRITE_FRESH_MS));
        const why = this.whyNotMine(seen);
        if (why) {
            rs.log(`lock not released: ${why}`);
            return;
        }
        // One DeleteTags call for all. The maintenance marker goes only when no page is on: this run
        // took it off or found none, else one look (a page whose rule this run never learned of,
        // or that it could not take off, keeps the marker for the next run).
        const keys = [PROGRESS_TAG, LOCK_TAG];
        if (!rs.p.maintenanceRuleArn && seen.tags[MAINTENANCE_TAG] !== undefined) {
            const off = rs.pageOff || (await rs.c.cloud.findMaintenanceRules(rs.i.listenerArn).then((a) => a.length === 0, () => false));
            if (off) keys.push(MAINTENANCE_TAG);
        }
        try {
            await retrying(rs, "removing the lock and progress tags", () => rs.c.cloud.deleteGroupTags(rs.group, keys));
        } catch (e) {
            // Mark the lock as finished (expired, "done"): the next run takes it at once and inherits
            // nothing from the progress tag left beside it.
            await rs.c.cloud
                .setGroupTag(rs.group, LOCK_TAG, formatLock(rs.c.owner, rs.p.runId, rs.c.clock.now(), true))
                .catch((e2) => rs.log(`could not mark the lock as finished either: ${errText(e2)}`));
            throw e;
        }
        rs.log(`lock released on ${rs.group}`);
    }

    /** The progress tag: what a run that takes over from this one inherits. */
    async writeProgress() {
        await this.rs.c.cloud.setGroupTag(this.rs.group, PROGRESS_TAG, encodeTagProgress(this.rs.p));
    }
}
