/**
 * The simulated ELBv2 target group and listener rules: targets registered when their instance
 * enters InService, health checks every interval (healthy after `healthyThreshold` passes, or
 * unhealthy after `unhealthyThreshold` fails for an image that never passes), deregistration and
 * its delay; the listener's fixed-response rules (the maintenance page).
 */
import { awsError, Handlers, IdSequence, SimTimings } from "./service";

/** What the target group asks of the instances it holds (the Auto Scaling group owns them). */
export interface TargetHosts {
    /** The instance is InService, so it can be registered. */
    inService(id: string): boolean;
    /** The instance runs an image that never passes the health check. */
    neverHealthy(id: string): boolean;
}

interface SimTarget {
    registeredAt: number;
    deregisteredAt?: number;
}

export class SimLoadBalancer {
    readonly targets = new Map<string, SimTarget>();
    readonly rules = new Map<string, { priority: number; body: string }>();
    /** When each instance was last deregistered (kept after DescribeTargetHealth forgets a drained target). */
    readonly deregisteredAt = new Map<string, number>();
    /** How many deregistrations DeregisterTargets made. */
    private deregistered = 0;

    constructor(
        private readonly t: SimTimings,
        private readonly ids: IdSequence,
        readonly tgArn: string,
        readonly listenerArn: string,
        private readonly hosts: TargetHosts,
    ) {}

    get deregistrations() {
        return this.deregistered;
    }

    /** A target's state as DescribeTargetHealth reports it at `now` (undefined: no longer in the target group). */
    state(id: string, now: number): string | undefined {
        const tg = this.targets.get(id);
        if (!tg) return undefined;
        if (tg.deregisteredAt !== undefined) return now < tg.deregisteredAt + this.t.deregistrationDelayS * 1000 ? "draining" : undefined;
        const checks = Math.floor((now - tg.registeredAt) / (this.t.healthCheckIntervalS * 1000));
        if (this.hosts.neverHealthy(id)) return checks >= this.t.unhealthyThreshold ? "unhealthy" : "initial";
        return checks >= this.t.healthyThreshold ? "healthy" : "initial";
    }

    /** The group registers an instance when it enters InService (at `at`). */
    register(id: string, at: number) {
        this.targets.set(id, { registeredAt: at });
    }

    /** A terminated instance leaves the target group. */
    remove(id: string) {
        this.targets.delete(id);
    }

    /** Registered and not deregistered. */
    registered(id: string) {
        const tg = this.targets.get(id);
        return !!tg && tg.deregisteredAt === undefined;
    }

    /** Deregistered (draining, or drained and not yet forgotten by DescribeTargetHealth). */
    deregistering(id: string) {
        return this.targets.get(id)?.deregisteredAt !== undefined;
    }

    /** The first target (in the target group's order) that is deregistering. */
    firstDeregistering(): string | undefined {
        return [...this.targets.keys()].find((id) => this.deregistering(id));
    }

    /** When a registered target that never passes its health checks is found unhealthy (Infinity: not registered). */
    unhealthyAt(id: string) {
        const tg = this.targets.get(id);
        return tg && tg.deregisteredAt === undefined ? tg.registeredAt + this.t.unhealthyThreshold * this.t.healthCheckIntervalS * 1000 : Infinity;
    }

    readonly handlers: Handlers = {
        DescribeTargetHealth: (input) => {
            if (input.TargetGroupArn !== this.tgArn) throw awsError("TargetGroupNotFound", "One or more target groups not found");
            const now = Date.now();
            const out = [];
            for (const id of this.targets.keys()) {
                const s = this.state(id, now);
                if (s) out.push({ Target: { Id: id, Port: 8000 }, TargetHealth: { State: s } });
                else this.targets.delete(id);
            }
            return { TargetHealthDescriptions: out };
        },

        DeregisterTargets: (input) => {
            for (const t of input.Targets) {
                const tg = this.targets.get(t.Id);
                if (tg && tg.deregisteredAt === undefined) {
                    tg.deregisteredAt = Date.now();
                    this.deregisteredAt.set(t.Id, tg.deregisteredAt);
                    this.deregistered++;
                }
            }
            return {};
        },

        RegisterTargets: (input) => {
            if (input.TargetGroupArn !== this.tgArn) throw awsError("TargetGroupNotFound", "One or more target groups not found");
            for (const t of input.Targets) {
                if (!this.hosts.inService(t.Id)) throw awsError("InvalidTarget", `The following targets are not in a running state and cannot be registered: '${t.Id}'`);
                const tg = this.targets.get(t.Id);
                // A registered target starts over: `initial` until it passes the healthy threshold.
                if (!tg || tg.deregisteredAt !== undefined) this.targets.set(t.Id, { registeredAt: Date.now() });
            }
            return {};
        },

        DescribeTargetGroupAttributes: () => {
            return { Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: String(this.t.deregistrationDelayS) }] };
        },

        DescribeTargetGroups: () => {
            return {
                TargetGroups: [
                    { TargetGroupArn: this.tgArn, HealthCheckIntervalSeconds: this.t.healthCheckIntervalS, HealthyThresholdCount: this.t.healthyThreshold, UnhealthyThresholdCount: this.t.unhealthyThreshold },
                ],
            };
        },

        DescribeRules: () => {
            return {
                Rules: [
                    ...[...this.rules].map(([RuleArn, r]) => ({
                        RuleArn,
                        Priority: String(r.priority),
                        Actions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "503", ContentType: "text/html", MessageBody: r.body } }],
                    })),
                    { RuleArn: `${this.listenerArn}/default`, Priority: "default", IsDefault: true },
                ],
            };
        },

        CreateRule: (input) => {
            for (const r of this.rules.values()) if (r.priority === input.Priority) throw awsError("PriorityInUse", `Priority '${input.Priority}' is currently in use`);
            const arn = `${this.listenerArn.replace(":listener/", ":listener-rule/")}/${this.ids.next("rule")}`;
            this.rules.set(arn, { priority: input.Priority, body: input.Actions?.[0]?.FixedResponseConfig?.MessageBody ?? "" });
            return { Rules: [{ RuleArn: arn, Priority: String(input.Priority) }] };
        },

        DeleteRule: (input) => {
            if (!this.rules.delete(input.RuleArn)) throw awsError("RuleNotFound", "One or more rules not found");
            return {};
        },
    };
}
