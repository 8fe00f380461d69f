/**
 * The waits of a run: for new instances healthy in the target group, for a group to settle, for
 * targets to drain, for a failed first release's instances to go. Owns what it learns on the way
 * (the target group's timings, how long a wave took).
 *
 * The target group's timings come from the Release's `targetGroupTimings` input when it has one
 * (no call), else from the target group (DescribeTargetGroups + DescribeTargetGroupAttributes,
 * once per run). The input may be stale (the target group changed outside Pulumi): the interval
 * and threshold only schedule looks, so a wrong value costs time and never ends a wait early; the
 * deregistration delay also bounds the drain wait, so a target still draining past the input's
 * delay makes the run read the target group's own delay (once) and count the drain by the longer.
 */
import type { GroupState, TargetGroupTimings } from "../ports";
import { ESTIMATES, liveInstances } from "../planner";
import { FENCE_FRESH_MS, type RunState } from "./run-state";
import { StepError, errText, isDenied } from "./types";

/** ELB's default deregistration_delay.timeout_seconds. */
export const ELB_DEFAULT_DEREGISTRATION_DELAY_S = 300;

export class Waits {
    private learnedWaveMs: number | null = null;
    private delayS: number | null = null;
    private tgTimings: TargetGroupTimings | null | undefined = undefined;
    /** The delay in use came from the input and the target group's own has not been read yet. */
    private delayUnchecked = false;
    /** The target group's own delay could not be read when it was needed: the one in use is a guess. */
    private delayGuessed = false;
    /** The last DescribeTargetHealth answer of any wait, with when it was read (targetHealth() notes it). */
    private lastHealth: { at: number; states: Record<string, string> } | null = null;

    constructor(private readonly rs: RunState) {}

    /**
     * A read inside a wait: a failure (after the adapter's retries) is one missed look, not the
     * end of the release; the wait goes on to its deadline and fails then with the last error. A
     * denied permission fails at once.
     */
    private async look<T>(what: string, f: () => Promise<T>, deadline: number): Promise<T | null> {
        try {
            return await f();
        } catch (e) {
            if (isDenied(e) || this.rs.c.clock.now() >= deadline) throw e;
            this.rs.log(`${what} failed (looking again at the next poll): ${errText(e)}`);
            return null;
        }
    }

    /** DescribeTargetHealth inside a wait (a failure is a missed look), noted for settled(). */
    private async targetHealth(deadline: number): Promise<Record<string, string> | null> {
        const th = await this.look("DescribeTargetHealth", () => this.rs.c.cloud.describeTargetHealth(this.rs.i.targetGroupArn), deadline);
        if (th) this.lastHealth = { at: this.rs.c.clock.now(), states: th };
        return th;
    }

    /** How long a wave is expected to take (learned from the last one; 0 before any). */
    expectedWaveMs(): number {
        return this.learnedWaveMs ?? 0;
    }

    /** The last DescribeTargetHealth answer, with when it was read. */
    lastTargetHealth() {
        return this.lastHealth;
    }

    /** The deregistration delay: the input's, else read once per run with the health-check timings. */
    async deregistrationDelayS() {
        if (this.delayS === null) await this.targetTimings();
        if (this.delayS === null) {
            this.delayS = await this.rs.c.cloud.deregistrationDelayS(this.rs.i.targetGroupArn).catch((e) => {
                // Only a pause before the drain check: ELB's default delay is a safe guess.
                this.rs.warn(`the target group's deregistration delay could not be read (${errText(e)}): assumed ${ELB_DEFAULT_DEREGISTRATION_DELAY_S} s`);
                return ELB_DEFAULT_DEREGISTRATION_DELAY_S;
            });
        }
        return this.delayS;
    }

    /**
     * A target is still draining past the delay in use. When that delay is the input's, which may
     * be stale, the target group's own is read (once per run: DescribeTargetGroupAttributes) and
     * the longer of the two is used from now on. Resolves the delay to count drains by.
     */
    async drainingPastDelay(): Promise<number> {
        const given = await this.deregistrationDelayS();
        if (!this.delayUnchecked) return given;
        this.delayUnchecked = false;
        const real = await this.rs.c.cloud.deregistrationDelayS(this.rs.i.targetGroupArn).catch((e) => {
            // A bound, not a pause: the drain wait keeps looking every few seconds (see drained()).
            this.rs.warn(`the target group's deregistration delay could not be read (${errText(e)}): drains bounded by ${ELB_DEFAULT_DEREGISTRATION_DELAY_S} s at least`);
            this.delayGuessed = true;
            return ELB_DEFAULT_DEREGISTRATION_DELAY_S;
        });
        if (real > given) {
            this.rs.warn(`the target group's deregistration delay is ${real} s, not the ${given} s of the Release's targetGroupTimings input (changed outside Pulumi?): drains counted by ${real} s`);
        }
        this.delayS = Math.max(given, real);
        return this.delayS;
    }

    /** The input's timings, else DescribeTargetGroups + its attributes, once per run (null when they could not be read: the defaults apply). */
    private async targetTimings(): Promise<TargetGroupTimings | null> {
        if (this.tgTimings !== undefined) return this.tgTimings;
        const given = this.rs.i.targetGroupTimings;
        if (given) {
            this.tgTimings = given;
            this.delayS = given.deregistrationDelayS;
            this.delayUnchecked = true;
            return given;
        }
        const cloud = this.rs.c.cloud;
        const t = await cloud.describeTargetGroup(this.rs.i.targetGroupArn).catch((e) => {
            this.rs.warn(`the target group's health-check timings could not be read (${errText(e)}): the waits use the default estimates`);
            return null;
        });
        this.tgTimings = t;
        if (t) this.delayS = t.deregistrationDelayS;
        return t;
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
        return Math.max(this.rs.i.rollout.pollIntervalS, t?.healthCheckIntervalS ?? 0) * 1000;
    }

    /**
     * Waits until `need` instances on `target` that are not in `oldIds` are InService and healthy
     * in the target group. Polls DescribeTargetHealth only (one call), first when the wave is
     * expected to be ready (learned from the previous wave), then every pollIntervalS; confirms
     * with one DescribeAutoScalingGroups. Resolves null when `desiredChanged` says the group's
     * desired capacity changed outside the release.
     */
    async healthy(
        target: number,
        oldIds: Set<string>,
        need: number,
        waveStart: number,
        step: string,
        desiredChanged?: (g: GroupState) => boolean,
    ): Promise<GroupState | null> {
        const { cloud, clock } = this.rs.c;
        const i = this.rs.i;
        const group = this.rs.group;
        const tv = String(target);
        const deadline = waveStart + i.rollout.healthyTimeoutS * 1000;
        if (need <= 0) return cloud.describeGroup(group);
        const expected = this.learnedWaveMs ?? (await this.defaultWaveMs());
        const poll = await this.healthPollMs();
        // A rollback usually finds the old instances already healthy: look at once.
        let next = step === "rollback" ? waveStart : waveStart + expected;
        const failedCheck: string[] = [];
        for (;;) {
            const now = clock.now();
            if (next > now) await clock.sleep(Math.min(next, deadline) - now);
            const th = await this.targetHealth(deadline);
            if (!th) {
                next = clock.now() + poll;
                continue;
            }
            for (const [id, st] of Object.entries(th)) if (st === "unhealthy" && !oldIds.has(id) && !failedCheck.includes(id)) failedCheck.push(id);
            const healthy = Object.keys(th).filter((id) => th[id] === "healthy" && !oldIds.has(id));
            const g = healthy.length >= need ? await this.look("DescribeAutoScalingGroups", () => cloud.describeGroup(group), deadline) : null;
            if (g) {
                if (desiredChanged && desiredChanged(g)) return null;
                const ok = g.instances.filter((x) => x.lifecycleState === "InService" && x.launchTemplateVersion === tv && th[x.instanceId] === "healthy" && !oldIds.has(x.instanceId));
                if (ok.length >= need) {
                    this.learnedWaveMs = clock.now() - waveStart;
                    return g;
                }
            }
            if (clock.now() >= deadline) {
                const g = await cloud.describeGroup(group);
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
                    const why = await cloud.lastScalingFailure(group, waveStart).catch(() => null);
                    cause = `only ${fresh.length} of ${need} new instance(s) launched within ${i.rollout.healthyTimeoutS} s${why ? `: ${why}` : ""}`;
                }
                throw new StepError(step, cause, bad?.instanceId);
            }
            next = clock.now() + poll;
        }
    }

    /**
     * Waits until the group has exactly `desired` instances, all InService and healthy in the target
     * group (after a size change the group may still be launching or terminating). A time-out is a
     * warning, not a failure: the sizes are right, the group converges by itself.
     */
    async settled(step: string, seen?: GroupState) {
        const { cloud, clock } = this.rs.c;
        const i = this.rs.i;
        const deadline = clock.now() + i.rollout.healthyTimeoutS * 1000;
        // The first check may use target health read at most FENCE_FRESH_MS ago (the last drain
        // check's, made just before the terminations and the restore: they change no other
        // target's health): one DescribeTargetHealth fewer. Later checks read anew.
        let health = this.lastHealth && clock.now() - this.lastHealth.at <= FENCE_FRESH_MS ? this.lastHealth.states : null;
        for (;;) {
            // `seen`: the group as the caller just read it (one DescribeAutoScalingGroups fewer).
            const g = seen ?? (await this.look("DescribeAutoScalingGroups", () => cloud.describeGroup(this.rs.group), deadline));
            seen = undefined;
            const live = g ? liveInstances(g).filter((x) => x.lifecycleState !== "Standby") : [];
            let ok = !!g && live.length === g.desiredCapacity && live.every((x) => x.lifecycleState === "InService");
            if (ok && live.length) {
                const th = health ?? (await this.targetHealth(deadline));
                ok = !!th && live.every((x) => th[x.instanceId] === "healthy");
            }
            health = null;
            if (ok) return;
            if (clock.now() >= deadline) {
                this.rs.p.warnings.push(`${step}: the group had not settled at desired ${g?.desiredCapacity ?? "?"} after ${i.rollout.healthyTimeoutS} s`);
                return;
            }
            await clock.sleep(i.rollout.pollIntervalS * 1000);
        }
    }

    /**
     * Waits the deregistration delay from `since` (when the last of `ids` was deregistered; now by
     * default), then until none of `ids` is draining (bounded: drainTimeoutS more). A target still
     * draining past the input's delay: the target group's own delay is read and the bound extended.
     */
    async drained(ids: string[], since?: number) {
        const { clock } = this.rs.c;
        const i = this.rs.i;
        let delay = await this.deregistrationDelayS();
        const from = since ?? clock.now();
        let deadline = from + (delay + i.rollout.drainTimeoutS) * 1000;
        const until = from + delay * 1000;
        if (until > clock.now()) await clock.sleep(until - clock.now());
        for (;;) {
            const th = await this.targetHealth(deadline);
            const still = th ? ids.filter((id) => th[id] === "draining") : ids;
            if (still.length === 0) return;
            const d = th ? await this.drainingPastDelay() : delay;
            if (d !== delay) {
                // The input's delay was stale: the target group's own, read now, bounds the wait.
                delay = d;
                deadline = from + (delay + i.rollout.drainTimeoutS) * 1000;
                const ends = from + delay * 1000;
                if (ends > clock.now() && !this.delayGuessed) {
                    await clock.sleep(ends - clock.now());
                    continue;
                }
            }
            if (clock.now() >= deadline) {
                this.rs.p.warnings.push(`instances ${still.join(", ")} still draining after ${delay + i.rollout.drainTimeoutS} s: terminated anyway`);
                return;
            }
            await clock.sleep(Math.min(5000, deadline - clock.now()));
        }
    }

    /** After a failed first release: waits until the instances of the failed version are gone. */
    async gone(prev: number | undefined) {
        const { cloud, clock } = this.rs.c;
        const i = this.rs.i;
        const deadline = clock.now() + i.rollout.healthyTimeoutS * 1000;
        for (;;) {
            const g = await cloud.describeGroup(this.rs.group);
            const left = liveInstances(g).filter((x) => x.launchTemplateVersion !== String(prev));
            if (left.length <= g.desiredCapacity) return;
            if (clock.now() > deadline) throw new StepError("rollback", `instances ${left.map((x) => x.instanceId).join(", ")} still in the group`);
            await clock.sleep(i.rollout.pollIntervalS * 1000);
        }
    }
}
