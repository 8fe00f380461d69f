/**
 * The simulated Auto Scaling group (one, `groupName`) and its instances: launches from the launch
 * template's default version (or a failed activity for an image that cannot launch), boot, the
 * target group attachment, unhealthy-instance replacement after the grace period, capacity kept
 * at desired (the default termination policy, simplified), suspended processes, tags, activities.
 */
import { SimImages } from "./images";
import { SimLaunchTemplates } from "./launch-templates";
import { SimLoadBalancer } from "./load-balancer";
import { awsError, Handlers, IdSequence, SimTimings } from "./service";

interface SimInstance {
    id: string;
    ltVersion: number;
    imageId: string;
    launchedAt: number;
    state: "Pending" | "InService" | "Standby" | "Terminated";
    protected: boolean;
    health: "Healthy" | "Unhealthy";
}

export class SimAutoScalingGroup {
    readonly group = {
        min: 0,
        max: 4,
        desired: 0,
        suspended: new Set<string>(),
        tags: new Map<string, string>(),
        newInstancesProtected: false,
    };
    readonly instances = new Map<string, SimInstance>();
    /** Order of instances in the group (launch order). */
    order: string[] = [];
    readonly activities: { t: number; status: "Successful" | "Failed"; description: string; message?: string }[] = [];
    /** Every termination: when, and when (if ever) the instance had been deregistered from the target group. */
    readonly terminations: { id: string; at: number; ltVersion: number; deregisteredAt?: number; registered: boolean }[] = [];
    private lastLaunchFailureAt = -Infinity;

    constructor(
        private readonly t: SimTimings,
        private readonly ids: IdSequence,
        readonly groupName: string,
        private readonly templates: SimLaunchTemplates,
        private readonly images: SimImages,
        private readonly targetGroup: SimLoadBalancer,
    ) {}

    /** Instances already InService and healthy on the default version (a running fleet). */
    seed(n: number, opts: { max?: number; min?: number }) {
        const start = Date.now() - 3600_000;
        for (let k = 0; k < n; k++) this.launch(start, this.templates.defaultVersion);
        this.group.desired = n;
        this.group.min = opts.min ?? Math.min(1, n);
        this.group.max = opts.max ?? Math.max(n, 4);
    }

    /** Instances that are part of the group and not terminated. */
    fleet() {
        return this.order.map((id) => this.instances.get(id)!).filter((i) => i.state !== "Terminated");
    }

    inService(id: string) {
        return this.instances.get(id)?.state === "InService";
    }

    neverHealthy(id: string) {
        const inst = this.instances.get(id);
        return !!inst && !!this.images.faults(inst.imageId)?.neverHealthy;
    }

    /** Someone else (a scaling policy) changes desired capacity by `delta`, within min and max. */
    changeDesired(delta: number) {
        this.group.desired = Math.max(this.group.min, Math.min(this.group.max, this.group.desired + delta));
    }

    /** An instance terminated outside the release (nothing if it is gone already). */
    lose(id: string) {
        const inst = this.instances.get(id);
        if (inst && inst.state !== "Terminated") this.terminate(inst);
    }

    /** Brings the group up to `now`, to a fixed point: boot, unhealthy replacement, capacity reconcile. */
    settle(now: number) {
        for (let round = 0; round < 20; round++) {
            let changed = false;
            for (const id of [...this.order]) {
                const inst = this.instances.get(id)!;
                const bootAt = inst.launchedAt + this.t.bootS * 1000;
                if (inst.state === "Pending" && now >= bootAt) {
                    inst.state = "InService";
                    this.targetGroup.register(inst.id, bootAt);
                    changed = true;
                }
                if (inst.state === "InService" && this.neverHealthy(inst.id)) {
                    const eligible = Math.max(this.targetGroup.unhealthyAt(inst.id), inst.launchedAt + this.t.gracePeriodS * 1000);
                    if (now >= eligible) {
                        inst.health = "Unhealthy";
                        if (!this.group.suspended.has("ReplaceUnhealthy") && !this.group.suspended.has("HealthCheck")) {
                            this.terminate(inst);
                            this.reconcile(eligible);
                            changed = true;
                        }
                    }
                }
            }
            if (this.reconcile(now)) changed = true;
            if (!changed) break;
        }
    }

    private launch(at: number, v = this.templates.defaultVersion): SimInstance | null {
        const imageId = this.templates.imageOf(v);
        if (this.images.faults(imageId)?.launchFails) {
            if (at - this.lastLaunchFailureAt >= 10_000) {
                this.activities.unshift({
                    t: at,
                    status: "Failed",
                    description: `Launching a new EC2 instance from launch template version ${v}`,
                    message: `Launching a new EC2 instance. Status Reason: The image id '[${imageId}]' is not usable (InvalidAMIID.Unavailable). Launching EC2 instance failed.`,
                });
                this.lastLaunchFailureAt = at;
            }
            return null;
        }
        const inst: SimInstance = {
            id: this.ids.next("i"),
            ltVersion: v,
            imageId,
            launchedAt: at,
            state: "Pending",
            protected: this.group.newInstancesProtected,
            health: "Healthy",
        };
        this.instances.set(inst.id, inst);
        this.order.push(inst.id);
        this.activities.unshift({ t: at, status: "Successful", description: `Launching a new EC2 instance: ${inst.id}` });
        return inst;
    }

    private terminate(inst: SimInstance) {
        this.terminations.push({ id: inst.id, at: Date.now(), ltVersion: inst.ltVersion, deregisteredAt: this.targetGroup.deregisteredAt.get(inst.id), registered: this.targetGroup.registered(inst.id) });
        inst.state = "Terminated";
        this.targetGroup.remove(inst.id);
        this.order = this.order.filter((x) => x !== inst.id);
    }

    private liveInService() {
        return this.order.map((id) => this.instances.get(id)!).filter((i) => i.state === "Pending" || i.state === "InService");
    }

    /** Launches or terminates to match desired capacity. Returns whether something changed. */
    private reconcile(at: number): boolean {
        const live = this.liveInService();
        if (live.length < this.group.desired && !this.group.suspended.has("Launch")) {
            let launched = false;
            for (let k = live.length; k < this.group.desired; k++) if (this.launch(at)) launched = true;
            return launched;
        }
        if (live.length > this.group.desired && !this.group.suspended.has("Terminate")) {
            // Default termination policy, simplified: oldest launch template version first, then oldest instance.
            const candidates = live.filter((i) => !i.protected).sort((a, b) => a.ltVersion - b.ltVersion || a.launchedAt - b.launchedAt);
            const n = live.length - this.group.desired;
            for (const inst of candidates.slice(0, n)) this.terminate(inst);
            return candidates.length > 0;
        }
        return false;
    }

    private checkGroup(name: string) {
        if (name !== this.groupName) throw awsError("ValidationError", `AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
    }

    readonly handlers: Handlers = {
        DescribeAutoScalingGroups: (input) => {
            if (input.AutoScalingGroupNames && !input.AutoScalingGroupNames.includes(this.groupName)) return { AutoScalingGroups: [] };
            return {
                AutoScalingGroups: [
                    {
                        AutoScalingGroupName: this.groupName,
                        MinSize: this.group.min,
                        MaxSize: this.group.max,
                        DesiredCapacity: this.group.desired,
                        LaunchTemplate: { LaunchTemplateId: this.templates.ltId, Version: "$Default" },
                        HealthCheckType: "ELB",
                        HealthCheckGracePeriod: this.t.gracePeriodS,
                        NewInstancesProtectedFromScaleIn: this.group.newInstancesProtected,
                        Instances: this.fleet().map((i) => ({
                            InstanceId: i.id,
                            LifecycleState: i.state,
                            HealthStatus: i.health,
                            LaunchTemplate: { LaunchTemplateId: this.templates.ltId, Version: String(i.ltVersion) },
                            ProtectedFromScaleIn: i.protected,
                            AvailabilityZone: "eu-west-1a",
                        })),
                        SuspendedProcesses: [...this.group.suspended].map((p) => ({ ProcessName: p, SuspensionReason: "User suspended" })),
                        Tags: [...this.group.tags].map(([Key, Value]) => ({ Key, Value, ResourceId: this.groupName, ResourceType: "auto-scaling-group", PropagateAtLaunch: false })),
                    },
                ],
            };
        },

        CreateOrUpdateTags: (input) => {
            for (const t of input.Tags) {
                this.checkGroup(t.ResourceId);
                if (String(t.Value ?? "").length > 256) throw awsError("ValidationError", "Tag value exceeds 256 characters");
                this.group.tags.set(t.Key, t.Value ?? "");
            }
            return {};
        },

        DeleteTags: (input) => {
            for (const t of input.Tags) {
                this.checkGroup(t.ResourceId);
                this.group.tags.delete(t.Key);
            }
            return {};
        },

        SetDesiredCapacity: (input) => {
            this.checkGroup(input.AutoScalingGroupName);
            const d = input.DesiredCapacity;
            if (d > this.group.max) throw awsError("ValidationError", `New SetDesiredCapacity value ${d} is above max value ${this.group.max} for the AutoScalingGroup.`);
            if (d < this.group.min) throw awsError("ValidationError", `New SetDesiredCapacity value ${d} is below min value ${this.group.min} for the AutoScalingGroup.`);
            this.group.desired = d;
            return {};
        },

        UpdateAutoScalingGroup: (input) => {
            this.checkGroup(input.AutoScalingGroupName);
            const min = input.MinSize ?? this.group.min;
            const max = input.MaxSize ?? this.group.max;
            let desired = input.DesiredCapacity ?? this.group.desired;
            if (min > max) throw awsError("ValidationError", `The minimum size (${min}) cannot exceed the maximum size (${max})`);
            if (input.DesiredCapacity !== undefined && (desired < min || desired > max)) {
                throw awsError("ValidationError", `Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`);
            }
            desired = Math.max(min, Math.min(max, desired));
            Object.assign(this.group, { min, max, desired });
            return {};
        },

        SuspendProcesses: (input) => {
            this.checkGroup(input.AutoScalingGroupName);
            for (const p of input.ScalingProcesses ?? []) this.group.suspended.add(p);
            return {};
        },

        ResumeProcesses: (input) => {
            this.checkGroup(input.AutoScalingGroupName);
            for (const p of input.ScalingProcesses ?? []) this.group.suspended.delete(p);
            return {};
        },

        TerminateInstanceInAutoScalingGroup: (input) => {
            const inst = this.instances.get(input.InstanceId);
            if (!inst || inst.state === "Terminated") {
                throw awsError("ValidationError", `Instance Id not found - No managed instance found for instance ID: ${input.InstanceId}`);
            }
            if (input.ShouldDecrementDesiredCapacity) {
                if (this.group.desired - 1 < this.group.min) {
                    throw awsError("ValidationError", `Currently, desiredSize equals minSize (${this.group.min}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`);
                }
                this.group.desired -= 1;
            }
            this.terminate(inst);
            return { Activity: { ActivityId: this.ids.next("act"), StatusCode: "InProgress", Description: `Terminating EC2 instance: ${inst.id}` } };
        },

        DescribeScalingActivities: () => {
            return {
                Activities: this.activities.slice(0, 20).map((a) => ({
                    ActivityId: "act",
                    AutoScalingGroupName: this.groupName,
                    Description: a.description,
                    StatusCode: a.status,
                    StatusMessage: a.message,
                    StartTime: new Date(a.t),
                })),
            };
        },
    };
}
