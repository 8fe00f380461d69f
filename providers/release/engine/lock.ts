/**
 * The deploy lock: a tag on the group naming the owner, the run and the expiry. Owns acquisition
 * (with the take-over rules), the heartbeat, the release, and what a run inherits from the dead
 * run whose lock it takes over (sizes, AMI, maintenance page), plus the progress tag it writes.
 */
import type { GroupState } from "../ports";
import type { StepName } from "../planner";
import type { RunState } from "./run-state";
import { LOCK_TAG, PROGRESS_TAG, PROC_BY_PREFIX, TagProgress, decodeTagProgress, encodeTagProgress, formatLock, parseLock } from "./tags";
import { ReleaseError, errText } from "./types";

export class DeployLock {
    held = false;
    private heartbeat: ReturnType<typeof setTimeout> | null = null;

    /** `firstLook`: the run's first read of the group, reused by the first acquisition. */
    constructor(
        private readonly rs: RunState,
        private firstLook: GroupState | null = null,
    ) {}

    async acquire() {
        const { rs } = this;
        const { cloud, clock } = rs.c;
        const p = rs.p;
        // The run's first look at the group serves the first acquisition (one call fewer).
        const g = this.firstLook ?? (await cloud.describeGroup(rs.group));
        this.firstLook = null;
        const cur = parseLock(g.tags[LOCK_TAG]);
        const now = clock.now();
        if (cur && cur.runId !== p.runId) {
            const expired = cur.expiresMs <= now;
            // The owner is "<project>/<stack>/<name>": the same for every machine or CI job deploying
            // this stack, so a same-owner lock is only provably ours to resume when Pulumi's own state
            // recorded its run, or when its holder stopped refreshing it (a live holder rewrites it
            // every third of the TTL, so it never has less than 2/3 of the TTL left; the margin of a
            // sixth of the TTL absorbs a slow refresh and clock skew).
            const ttlMs = rs.i.rollout.lockTtlS * 1000;
            const savedRun = rs.c.progress?.runId;
            const ours = cur.owner === rs.c.owner && savedRun !== undefined && cur.runId === savedRun;
            const missedHeartbeat = cur.owner === rs.c.owner && cur.expiresMs - now < ttlMs / 2;
            if (!expired && !ours && !missedHeartbeat) {
                throw new ReleaseError(
                    `deploy lock on group ${rs.group} is held by ${cur.owner} (run ${cur.runId}) until ${new Date(cur.expiresMs).toISOString()}: ` +
                        (cur.owner === rs.c.owner
                            ? `another run of this stack is releasing (its lock is still being refreshed and is not this resource's saved run); wait for it, or for it to miss its heartbeats` +
                              ` (at most half the lock's ${rs.i.rollout.lockTtlS} s), or, if you know that run is dead, remove the tag: ` +
                              `aws autoscaling delete-tags --tags ResourceId=${rs.group},ResourceType=auto-scaling-group,Key=${LOCK_TAG}`
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
            rs.log(`taking over ${why} (run ${cur.runId})`);
            this.inherit(decodeTagProgress(g.tags[PROGRESS_TAG]));
            await this.adoptMaintenancePage();
        } else if (!cur && p.done.length === 0) {
            // A tag progress without a lock: a run died between unlocking steps; inherit it too.
            this.inherit(decodeTagProgress(g.tags[PROGRESS_TAG]));
        }
        await cloud.setGroupTag(rs.group, LOCK_TAG, this.value());
        // Read back: of two writers racing on the tag, the later write wins and the other backs off.
        await clock.sleep(2000);
        const g2 = await cloud.describeGroup(rs.group);
        const mine = parseLock(g2.tags[LOCK_TAG]);
        if (!mine || mine.runId !== p.runId) {
            throw new ReleaseError(`deploy lock on group ${rs.group} was taken by ${mine?.owner ?? "someone else"} (run ${mine?.runId}) at the same time; re-run later`, "refused", null);
        }
        this.held = true;
        if (!p.done.includes("lock")) rs.log(`lock acquired on ${rs.group} (run ${p.runId})`);
        this.startHeartbeat();
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
        if (!arns.length) return;
        p.maintenanceRuleArn = arns[0];
        rs.log(`maintenance page ${arns[0]} left on by the earlier run: it goes off after this release`);
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
        const every = (this.rs.i.rollout.lockTtlS * 1000) / 3;
        const beat = () => {
            this.heartbeat = setTimeout(async () => {
                if (!this.held) return;
                try {
                    await this.rs.c.cloud.setGroupTag(this.rs.group, LOCK_TAG, this.value());
                } catch (e) {
                    this.rs.log(`lock refresh failed (will retry): ${errText(e)}`);
                }
                if (this.held) beat();
            }, every);
            (this.heartbeat as any)?.unref?.();
        };
        beat();
    }

    stopHeartbeat() {
        if (this.heartbeat) clearTimeout(this.heartbeat);
        this.heartbeat = null;
    }

    async release() {
        const { rs } = this;
        this.stopHeartbeat();
        this.held = false;
        // One DeleteTags call for both.
        await rs.c.cloud.deleteGroupTags(rs.group, [PROGRESS_TAG, LOCK_TAG]);
        rs.log(`lock released on ${rs.group}`);
    }

    /** The progress tag: what a run that takes over from this one inherits. */
    async writeProgress() {
        await this.rs.c.cloud.setGroupTag(this.rs.group, PROGRESS_TAG, encodeTagProgress(this.rs.p));
    }
}
