/**
 * EC2 Auto Scaling Instance Refresh (rolling strategy), modelled on the same timings as the
 * simulated AWS, as the peer the release's ramp is measured against (bench/rollout.ts).
 *
 * Sources (AWS documentation, Amazon EC2 Auto Scaling User Guide and API Reference):
 *  - "How an instance refresh works in an Auto Scaling group"
 *    https://docs.aws.amazon.com/autoscaling/ec2/userguide/instance-refresh-overview.html
 *    rolling strategy: terminates instances and launches new ones in batches, keeping desired
 *    capacity; skip matching: instances already on the desired configuration are not replaced.
 *  - "Understand the default values for an instance refresh"
 *    https://docs.aws.amazon.com/autoscaling/ec2/userguide/understand-instance-refresh-default-values.html
 *    instance warmup defaults to the group's default instance warmup, else its health check grace
 *    period; MinHealthyPercentage 90, MaxHealthyPercentage 100 without a maintenance policy.
 *  - API_InstanceMaintenancePolicy / API_RefreshPreferences
 *    https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_InstanceMaintenancePolicy.html
 *    MinHealthyPercentage: the share of desired capacity kept "in service, healthy, and ready to
 *    use"; MaxHealthyPercentage (100-200): the share that may be "in service and healthy, or
 *    pending"; InstanceWarmup: after a new instance enters InService the refresh waits this long
 *    before it counts it and moves on.
 *  - "Instance maintenance policies" (launch before terminating with MinHealthyPercentage 100).
 *    https://docs.aws.amazon.com/autoscaling/ec2/userguide/ec2-auto-scaling-instance-maintenance-policy.html
 *  - Elastic Load Balancing, "Deregistration delay" / Auto Scaling with an attached target group:
 *    a terminating instance is first deregistered and the group waits for the deregistration
 *    delay (the WaitingForELBConnectionDraining activity) before it terminates the instance.
 *
 * The model, one virtual second at a time (the refresh is assumed to react at once: its real
 * internal cadence is not documented, so this favours Instance Refresh):
 *  - minHealthy = ceil(desired x Min% / 100), maxCapacity = floor(desired x Max% / 100).
 *  - An instance is "ready" (counts for minHealthy) once InService (launch + boot) and its warmup
 *    passed; old instances are ready. ELB health is the target group's: healthy after
 *    `healthyThreshold` checks `interval` apart from registration (at InService). With a warmup
 *    shorter than that, the refresh counts capacity the load balancer does not yet route to:
 *    `minLbHealthy` records it.
 *  - Terminate first (while ready - 1 >= minHealthy), then launch (while pending + in service and
 *    not terminating < maxCapacity and replacements are still due). A terminating instance is
 *    deregistered at once, is neither ready nor counted against maxCapacity, and is terminated
 *    after the deregistration delay.
 *  - Done when every instance to replace is terminated and every replacement is ready.
 */
export interface IrTimings {
    bootS: number;
    healthCheckIntervalS: number;
    healthyThreshold: number;
    deregistrationDelayS: number;
}

export interface IrPreferences {
    minHealthyPercentage: number;
    maxHealthyPercentage: number;
    instanceWarmupS: number;
    /** Instances already on the desired configuration are left alone (default true here). */
    skipMatching?: boolean;
}

export interface IrResult {
    makespanS: number;
    launched: number;
    /** The least number of instances healthy in the target group (registered, not deregistering) at any second. */
    minLbHealthy: number;
    /** The most instances pending or in service and not terminating at any second. */
    maxCounted: number;
}

interface Inst {
    old: boolean;
    launchedAt: number;
    terminatingAt?: number;
}

/** A refresh of `desired` instances, `matching` of them already on the desired configuration. */
export function simulateInstanceRefresh(desired: number, t: IrTimings, prefs: IrPreferences, matching = 0): IrResult {
    if (prefs.maxHealthyPercentage < 100 || prefs.maxHealthyPercentage > 200) throw new Error(`MaxHealthyPercentage must be 100-200, got ${prefs.maxHealthyPercentage}`);
    if (prefs.minHealthyPercentage < 0 || prefs.minHealthyPercentage > 100) throw new Error(`MinHealthyPercentage must be 0-100, got ${prefs.minHealthyPercentage}`);
    if (prefs.maxHealthyPercentage - prefs.minHealthyPercentage > 100) throw new Error("MaxHealthyPercentage - MinHealthyPercentage cannot exceed 100");
    const minHealthy = Math.ceil((desired * prefs.minHealthyPercentage) / 100);
    const maxCapacity = Math.max(desired, Math.floor((desired * prefs.maxHealthyPercentage) / 100));
    const skip = prefs.skipMatching ?? true;
    const fleet: Inst[] = [];
    for (let k = 0; k < desired; k++) fleet.push({ old: !(skip && k < matching), launchedAt: -1e9 });
    let due = fleet.filter((x) => x.old).length;
    const inService = (x: Inst, s: number) => s >= x.launchedAt + t.bootS;
    const ready = (x: Inst, s: number) => x.terminatingAt === undefined && inService(x, s) && s >= x.launchedAt + t.bootS + prefs.instanceWarmupS;
    const lbHealthy = (x: Inst, s: number) => x.terminatingAt === undefined && s >= x.launchedAt + t.bootS + t.healthyThreshold * t.healthCheckIntervalS;
    let launched = 0;
    let minLb = Infinity;
    let maxCounted = 0;
    for (let s = 0; s < 1e7; s++) {
        // Instances whose drain ended are gone.
        for (let k = fleet.length - 1; k >= 0; k--) {
            const x = fleet[k];
            if (x.terminatingAt !== undefined && s >= x.terminatingAt + t.deregistrationDelayS) fleet.splice(k, 1);
        }
        // Terminate old instances while the ready capacity allows it (least ready first: none here).
        for (const x of fleet) {
            if (!x.old || x.terminatingAt !== undefined) continue;
            const readyNow = fleet.filter((y) => ready(y, s)).length;
            if (readyNow - 1 < minHealthy) break;
            x.terminatingAt = s;
        }
        // Launch replacements within maxCapacity.
        for (;;) {
            const counted = fleet.filter((y) => y.terminatingAt === undefined).length;
            if (due === 0 || counted >= maxCapacity) break;
            fleet.push({ old: false, launchedAt: s });
            due--;
            launched++;
        }
        minLb = Math.min(minLb, fleet.filter((y) => lbHealthy(y, s)).length);
        maxCounted = Math.max(maxCounted, fleet.filter((y) => y.terminatingAt === undefined).length);
        if (due === 0 && fleet.every((y) => !y.old) && fleet.every((y) => ready(y, s))) {
            return { makespanS: s, launched, minLbHealthy: minLb, maxCounted };
        }
    }
    throw new Error("instance refresh model did not converge");
}
