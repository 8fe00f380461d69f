/**
 * The ramp: the sizes found (the saved group, which this module alone changes), the waves that
 * replace every instance not on a launch template version, desired-capacity changes made by
 * someone else mid-ramp, drain and terminate, and the restore of the group at the end.
 *
 *  - Ramp: desired D -> D + s (max raised if needed); old instances are terminated *without*
 *    decrementing desired while more old ones remain, so the group launches their replacements at
 *    once (one SetDesiredCapacity per release, not per wave); the last batch decrements back to D.
 *  - A desired-capacity change made by someone else mid-ramp (a scaling policy, an operator) is
 *    adopted: the delta is added to the desired capacity restored at the end (bounded by min and
 *    the max found), and the current wave is re-planned.
 *  - Standby instances are left alone and reported as a warning.
 */
import type { GroupInstance, GroupState } from "../ports";
import { resolveSurge } from "../inputs";
import { liveInstances } from "../planner";
import { DeployLock, LockLostError } from "./lock";
import { retrying } from "./retry";
import { TAG_WRITE_FRESH_MS, type RunState } from "./run-state";
import { SUSPENDED_PROCESSES, SavedGroup, StepError, errText, sec } from "./types";
import type { Waits } from "./waits";

/** Re-plans of a wave after outside changes of desired capacity, per ramp. */
export const MAX_REPLANS = 10;

function rank(x: GroupInstance): number {
    if (x.lifecycleState !== "InService") return 0;
    if (x.healthStatus !== "Healthy") return 1;
    return 2;
}

export class Ramp {
    constructor(
        private readonly rs: RunState,
        private readonly waits: Waits,
        private readonly lock: DeployLock,
    ) {}

    /** The sizes found before the release changed anything (saved once, in progress and tag). */
    async saveGroup(g: GroupState): Promise<SavedGroup> {
        const p = this.rs.p;
        if (!p.group) {
            p.group = {
                desired: g.desiredCapacity,
                max: g.maxSize,
                min: g.minSize,
                suspendedByUs: SUSPENDED_PROCESSES.filter((s) => !g.suspendedProcesses.includes(s)),
                lastDesired: g.desiredCapacity,
            };
            await this.lock.writeProgress();
            await this.rs.save();
        }
        return p.group;
    }

    /** A first release: the group from 0 to the configured capacity on the new version. */
    async scaleOut() {
        const { rs } = this;
        const { cloud } = rs.c;
        const c = rs.i.capacity;
        const g = await cloud.describeGroup(rs.group);
        const saved = await this.saveGroup(g);
        saved.lastDesired = c.desiredCapacity;
        rs.log(`scaling ${rs.group} to min ${c.minSize} / desired ${c.desiredCapacity} / max ${c.maxSize} on launch template v${rs.p.launchTemplateVersion}`);
        await cloud.updateGroupSize(rs.group, { minSize: c.minSize, maxSize: c.maxSize, desiredCapacity: c.desiredCapacity });
        if (c.desiredCapacity > 0) {
            await this.waits.healthy(rs.p.launchTemplateVersion!, new Set(), c.desiredCapacity, rs.c.clock.now(), "scale-out");
        }
        rs.log(`${c.desiredCapacity} instance(s) InService and healthy`);
    }

    /**
     * The ramp step: suspend, replace every instance with one on the new version, restore. Once
     * every instance runs the new version the restore never rolls it back: retried, then a warning.
     */
    async forward() {
        const { rs } = this;
        const { cloud } = rs.c;
        // The sizes saved here are the ones restored at the end: a read at most TAG_WRITE_FRESH_MS
        // old (the template step's fence check, made just before: its writes are to the launch
        // template, not the group), else a new one.
        const g = await rs.freshGroup(TAG_WRITE_FRESH_MS);
        // The fence check of the ramp step, on the read it starts from (before its first write).
        await this.lock.verify(g);
        const saved = await this.saveGroup(g);
        if (saved.suspendedByUs.length) await cloud.suspendProcesses(rs.group, saved.suspendedByUs);
        await this.rampTo(rs.p.launchTemplateVersion!, saved, "ramp", g);
        try {
            await retrying(rs, "restoring the group", () => this.restore(saved));
        } catch (e) {
            if (e instanceof LockLostError) throw e;
            rs.warn(
                `the fleet runs ${rs.i.version} but restoring group ${rs.group} failed: ${errText(e)}; set it by hand: ` +
                    `aws autoscaling update-auto-scaling-group --auto-scaling-group-name ${rs.group} --min-size ${saved.min} --max-size ${saved.max} --desired-capacity ${saved.desired}` +
                    (saved.suspendedByUs.length ? ` && aws autoscaling resume-processes --auto-scaling-group-name ${rs.group} --scaling-processes ${saved.suspendedByUs.join(" ")}` : ""),
            );
        }
    }

    /** A rollback: old instances this run took out of the target group and did not terminate go back in. */
    async registerOutOfService() {
        const { rs } = this;
        const ids = rs.p.outOfService ?? [];
        if (!ids.length) return;
        const g = await rs.c.cloud.describeGroup(rs.group);
        const live = new Set(g.instances.filter((x) => x.lifecycleState === "InService").map((x) => x.instanceId));
        const back = ids.filter((id) => live.has(id));
        if (back.length) {
            await rs.c.cloud.registerTargets(rs.i.targetGroupArn, back);
            rs.log(`registered ${back.join(", ")} in the target group again`);
        }
        rs.p.outOfService = [];
    }

    async restore(saved: SavedGroup) {
        const { rs } = this;
        const { cloud } = rs.c;
        let seen: GroupState | undefined;
        // Sizes this run changed are set back without a read first (it knows what it changed);
        // otherwise a read shows whether anything needs restoring, and serves the settling check.
        const changed = saved.maxRaised || saved.lastDesired !== saved.desired || saved.pending !== undefined;
        const g = changed ? null : await cloud.describeGroup(rs.group);
        if (!g || g.desiredCapacity !== saved.desired || g.maxSize !== saved.max || g.minSize !== saved.min) {
            saved.pending = saved.desired; // a run resumed after this call does not take it for an outside change
            await cloud.updateGroupSize(rs.group, { minSize: saved.min, desiredCapacity: saved.desired, maxSize: saved.max });
            saved.lastDesired = saved.desired;
            saved.pending = undefined;
            saved.maxRaised = false;
            // Only max/min changed: the instances are as just seen; a new desired needs a fresh look.
            seen = g && g.desiredCapacity === saved.desired ? { ...g, minSize: saved.min, maxSize: saved.max } : undefined;
        } else {
            seen = g;
        }
        if (saved.suspendedByUs.length) await cloud.resumeProcesses(rs.group, saved.suspendedByUs);
        await this.waits.settled("restore", seen);
        rs.log(`group restored: desired ${saved.desired}, max ${saved.max}; resumed ${saved.suspendedByUs.join(", ") || "nothing"}`);
    }

    /**
     * Replaces every instance not on `target` (a launch template version), `surge` at a time,
     * pipelined: as soon as a wave's batch of old instances is deregistered (it no longer serves),
     * the next wave's replacements are launched and boot while that batch drains. A batch is
     * terminated only once its deregistration delay has passed and the target group no longer
     * shows it draining; the termination of a drained batch (without decrementing desired
     * capacity) is what launches the following wave, so a steady wave costs no size change.
     *
     * Guarantees, at every moment: healthy in-service instances >= desired (a batch is deregistered
     * only once its replacements are healthy); instances serving or booting <= desired + surge
     * (deregistered instances, draining or drained, are the only extra ones); every drain honoured.
     * Recomputed from the live group at every wave, so it resumes after an interruption.
     */
    async rampTo(target: number, saved: SavedGroup, step: string, first?: GroupState) {
        const { rs } = this;
        const { cloud, clock } = rs.c;
        const surge = resolveSurge(rs.i.rollout.maxSurge, Math.max(saved.desired, 1));
        const tv = String(target);
        let wave = 0;
        // The group as the last wave's confirmation saw it, minus the instances it terminated:
        // saves one DescribeAutoScalingGroups per wave.
        let known: GroupState | null = first ?? null;
        let maxWaves = 0;
        let replans = 0;
        // Old instances deregistered by this run and not yet terminated, with when.
        const out = new Map<string, number>();
        // When the current wave's replacements were launched (the wave's clock starts there).
        let launchedAt: number | null = null;
        const desiredChanged = (g: GroupState) => {
            this.settlePending(g, saved);
            if (saved.lastDesired < 0 || g.desiredCapacity === saved.lastDesired) return false;
            this.adoptExternalChange(g, saved);
            return true;
        };
        for (;;) {
            const g: GroupState = known ?? (await cloud.describeGroup(rs.group));
            known = null;
            if (step === "ramp") rs.checkDeadline(`ramp wave ${wave + 1}`);
            await this.lock.verify(g);
            this.adoptExternalChange(g, saved);
            const inGroup = new Set(g.instances.map((x) => x.instanceId));
            if (wave === 0 && replans === 0 && out.size === 0) {
                // Resuming: what an interrupted run took out of service is still out (deregistered
                // again, idempotent, and its drain counted from now, so it is honoured whatever the
                // interrupted run had waited).
                const left = (rs.p.outOfService ?? []).filter((id) => inGroup.has(id));
                if (left.length) {
                    await cloud.deregisterTargets(rs.i.targetGroupArn, left);
                    for (const id of left) out.set(id, clock.now());
                }
            }
            for (const id of [...out.keys()]) if (!inGroup.has(id)) out.delete(id);
            const live = liveInstances(g).filter((x) => x.lifecycleState !== "Standby" && x.lifecycleState !== "EnteringStandby");
            const standby = liveInstances(g).filter((x) => x.lifecycleState === "Standby" && x.launchTemplateVersion !== tv);
            for (const s of standby) rs.warn(`instance ${s.instanceId} is in Standby on launch template v${s.launchTemplateVersion}: left alone`);
            const old = live.filter((x) => x.launchTemplateVersion !== tv && !out.has(x.instanceId));
            if (old.length === 0) break;
            wave++;
            if (maxWaves === 0) maxWaves = 2 * Math.ceil(old.length / surge) + 5;
            if (wave > maxWaves) {
                // A safety net: never churn the fleet forever (e.g. instances reporting no version).
                throw new StepError(step, `the ramp does not converge after ${wave - 1} waves: ${old.map((x) => `${x.instanceId} (v${x.launchTemplateVersion})`).join(", ")} still not on v${tv}`, old[0].instanceId);
            }
            const waves = wave - 1 + Math.ceil(old.length / surge);
            const b = Math.min(surge, old.length);
            const want = saved.desired + b + out.size;
            const waveStart = launchedAt ?? clock.now();
            launchedAt = null;
            if (g.desiredCapacity !== want) await this.setDesired(g, want, saved);
            rs.log(`${step} wave ${wave}/${waves}: desired ${want}, ${old.length} instance(s) left on other versions`);
            const oldIds = new Set([...old.map((x) => x.instanceId), ...out.keys()]);
            const confirmed = await this.waits.healthy(target, oldIds, saved.desired + b - old.length, waveStart, step, desiredChanged);
            if (!confirmed) {
                // Desired changed outside the release: re-plan this wave (bounded: a scaling policy
                // fighting the ramp must not keep it going forever).
                if (++replans > MAX_REPLANS) {
                    throw new StepError(step, `desired capacity changed outside the release ${replans} times during the ramp: stopped (a scaling policy or an operator is changing the group; suspend it and re-run)`);
                }
                wave--;
                continue;
            }
            // The same DescribeAutoScalingGroups serves the wave's confirmation and the fence check,
            // and the lock's refresh when it falls due before the next wave's (if one follows).
            await this.lock.verify(confirmed);
            await this.lock.renewOnRead(old.length > b ? this.waits.expectedWaveMs() : 0);
            // Take a batch of old instances out of service, least useful first.
            const batch = [...old].sort((a, b2) => rank(a) - rank(b2)).slice(0, b).map((x) => x.instanceId);
            const t1 = clock.now();
            rs.p.outOfService = [...out.keys(), ...batch];
            await rs.save();
            await cloud.deregisterTargets(rs.i.targetGroupArn, batch);
            for (const id of batch) out.set(id, t1);
            // Earlier batches the last health poll showed drained (delay passed, not draining).
            let delayMs = (await this.waits.deregistrationDelayS()) * 1000;
            const seen = this.waits.lastTargetHealth();
            // One still draining past the delay: the input's delay may be stale (the target group's own is read, once).
            if (seen && [...out].some(([id, at]) => !batch.includes(id) && seen.at >= at + delayMs && seen.states[id] === "draining")) delayMs = (await this.waits.drainingPastDelay()) * 1000;
            const drained = [...out].filter(([id, at]) => !batch.includes(id) && seen && seen.at >= at + delayMs && seen.states[id] !== "draining").map(([id]) => id);
            const remainingAfter = old.length - b;
            const next = Math.min(surge, remainingAfter);
            // What the group should hold now: desired + the next wave's replacements + what still drains.
            const goal = saved.desired + next + out.size - drained.length;
            let cur = want;
            for (const id of drained) {
                // Terminating without decrementing launches a replacement: the next wave's, for free.
                const decrement = cur > goal;
                if (decrement) {
                    saved.pending = cur - 1;
                    await rs.save();
                }
                await this.terminate(id, decrement);
                if (decrement) cur -= 1;
                saved.lastDesired = cur;
                saved.pending = undefined;
                out.delete(id);
                rs.p.replaced.push(id);
            }
            if (cur !== goal) {
                await this.setDesired({ ...confirmed, desiredCapacity: cur }, goal, saved);
                cur = goal;
            }
            if (next > 0) launchedAt = clock.now();
            rs.p.outOfService = [...out.keys()];
            known = { ...confirmed, desiredCapacity: saved.lastDesired, instances: confirmed.instances.filter((x) => !drained.includes(x.instanceId)) };
            rs.log(`${step} wave ${wave}/${waves} done: ${batch.join(", ")} out of service (healthy after ${sec(t1 - waveStart)} s)${drained.length ? `; terminated ${drained.join(", ")} (drained)` : ""}`);
            await rs.save();
        }
        // The last batches: wait for their drain, then terminate them, decrementing desired capacity.
        if (out.size) {
            const ids = [...out.keys()];
            const t2 = clock.now();
            await this.waits.drained(ids, Math.max(...out.values()));
            for (const id of ids) {
                saved.pending = saved.lastDesired - 1;
                await rs.save();
                await this.terminate(id, true);
                saved.lastDesired -= 1;
                saved.pending = undefined;
                rs.p.replaced.push(id);
            }
            rs.p.outOfService = [];
            rs.log(`${step}: terminated ${ids.join(", ")} (drained ${sec(clock.now() - t2)} s)`);
            await rs.save();
        }
    }

    /** Sets desired capacity (raising max if needed), recorded as pending until it is done. */
    private async setDesired(g: GroupState, want: number, saved: SavedGroup) {
        const { rs } = this;
        saved.pending = want;
        await rs.save();
        if (want > g.maxSize) {
            saved.maxRaised = true;
            await rs.c.cloud.updateGroupSize(rs.group, { maxSize: want, desiredCapacity: want });
        } else await rs.c.cloud.updateGroupSize(rs.group, { desiredCapacity: want });
        saved.lastDesired = want;
        saved.pending = undefined;
    }

    /** A desired capacity this run set just before it was killed is its own, not an outside change. */
    private settlePending(g: GroupState, saved: SavedGroup) {
        if (saved.pending !== undefined && g.desiredCapacity === saved.pending) saved.lastDesired = saved.pending;
        saved.pending = undefined;
    }

    private adoptExternalChange(g: GroupState, saved: SavedGroup) {
        this.settlePending(g, saved);
        if (saved.lastDesired < 0) {
            saved.lastDesired = g.desiredCapacity;
            return;
        }
        if (g.desiredCapacity !== saved.lastDesired) {
            const delta = g.desiredCapacity - saved.lastDesired;
            const before = saved.desired;
            saved.desired = Math.max(saved.min, Math.min(saved.max, saved.desired + delta));
            saved.lastDesired = g.desiredCapacity;
            this.rs.log(`desired capacity changed outside the release by ${delta > 0 ? "+" : ""}${delta}: will restore ${saved.desired} instead of ${before}`);
        }
    }

    private async terminate(instanceId: string, decrement: boolean) {
        const { rs } = this;
        try {
            await rs.c.cloud.terminateInstance(instanceId, decrement);
        } catch (e: any) {
            if (/not found|does not exist|no managed instance/i.test(String(e?.message))) {
                rs.log(`instance ${instanceId} was already gone`);
                if (decrement) {
                    // The group did not decrement for us: do it explicitly.
                    const g = await rs.c.cloud.describeGroup(rs.group);
                    await rs.c.cloud.updateGroupSize(rs.group, { desiredCapacity: Math.max(g.minSize, g.desiredCapacity - 1) });
                }
                return;
            }
            throw new StepError("ramp", `terminating ${instanceId} failed: ${errText(e)}`, instanceId);
        }
    }
}
