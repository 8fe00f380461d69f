/**
 * A stateful simulated AWS (Auto Scaling, EC2 images and launch templates, ELBv2 target group
 * and listener rules, CloudFront invalidations) behind the real SDK v3 clients, on a virtual clock.
 *
 * Routing: a middleware added to each real client at the "deserialize" step (outside the
 * deserializer, inside the SDK's retry middleware) answers each command from the simulator.
 * So the adapter code, the SDK's retry strategy and its waiters all run unchanged; a simulated
 * ThrottlingException goes through the SDK's real backoff. (aws-sdk-client-mock replaces
 * `client.send` and so bypasses the retry middleware: it is used for the exact-call tests only.)
 *
 * Time: everything reads Date.now(), which @sinonjs/fake-timers controls (see clock.ts). The
 * world is computed lazily from timestamps on every call: instance boot, target registration,
 * health checks every interval (healthy after N passes), deregistration delay, AMI creation,
 * unhealthy-instance replacement after the grace period, invalidation completion.
 */
import { AwsCloud } from "../../providers/release/aws/cloud";
import { SimCloudFront } from "./cloudfront";
import { ImageFaults, SimImages } from "./images";
import { SimLaunchTemplates } from "./launch-templates";
import { awsError, DEFAULT_TIMINGS, Handlers, IdSequence, SimTimings } from "./service";

interface SimInstance {
    id: string;
    ltVersion: number;
    imageId: string;
    launchedAt: number;
    state: "Pending" | "InService" | "Standby" | "Terminated";
    protected: boolean;
    health: "Healthy" | "Unhealthy";
}

interface SimTarget {
    registeredAt: number;
    deregisteredAt?: number;
}

export interface SimCall {
    service: string;
    command: string;
    input: any;
    t: number;
    throttled?: boolean;
    error?: string;
}

/** Deterministic PRNG (mulberry32). */
function prng(seed: number) {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export interface SimOptions {
    groupName?: string;
    launchTemplateId?: string;
    targetGroupArn?: string;
    listenerArn?: string;
    distributionId?: string;
    managementInstanceId?: string;
    timings?: Partial<SimTimings>;
}

export class SimAws {
    readonly t: SimTimings;
    readonly groupName: string;
    readonly ltId: string;
    readonly tgArn: string;
    readonly listenerArn: string;
    readonly distributionId: string;
    readonly mgmtId: string;

    group = {
        min: 0,
        max: 4,
        desired: 0,
        suspended: new Set<string>(),
        tags: new Map<string, string>(),
        newInstancesProtected: false,
    };
    instances = new Map<string, SimInstance>();
    /** Order of instances in the group (launch order). */
    order: string[] = [];
    targets = new Map<string, SimTarget>();
    rules = new Map<string, { priority: number; body: string }>();
    activities: { t: number; status: "Successful" | "Failed"; description: string; message?: string }[] = [];
    calls: SimCall[] = [];

    /** Throttling: every call in [from, to) is throttled with probability `rate`. */
    throttle: { rate: number; from: number; to: number } | null = null;
    /** Instance ids that vanish (terminated outside the release) at the given time. */
    vanish: { id: () => string | undefined; at: number }[] = [];
    /**
     * Fault injection: called for every call (its 0-based index among all calls made so far);
     * an Error returned is thrown for that call instead of simulating it.
     */
    inject: ((call: SimCall, index: number) => Error | undefined) | null = null;
    /** Commands that fail with AccessDenied (a permission missing in the deploy role). */
    denied = new Set<string>();
    /** The nth instance deregistered from the target group is terminated outside the release while it drains. */
    vanishNthDrained: number | null = null;
    /** Every termination: when, and when (if ever) the instance had been deregistered from the target group. */
    /** When each instance was last deregistered (kept after DescribeTargetHealth forgets a drained target). */
    deregisteredAt = new Map<string, number>();
    terminations: { id: string; at: number; ltVersion: number; deregisteredAt?: number; registered: boolean }[] = [];
    /** Desired-capacity changes made by "someone else" (a scaling policy) at the given time. */
    externalDesired: { at: number; delta: number; done?: boolean }[] = [];

    private readonly ids = new IdSequence();
    readonly ec2Images: SimImages;
    readonly launchTemplates: SimLaunchTemplates;
    readonly cloudFront: SimCloudFront;
    /** "service_Command" -> its handler. */
    private readonly handlers = new Map<string, (input: any) => any>();
    private deregistered = 0;
    private rand = prng(42);
    private lastLaunchFailureAt = -Infinity;

    constructor(opts: SimOptions = {}) {
        this.t = { ...DEFAULT_TIMINGS, ...(opts.timings ?? {}) };
        this.groupName = opts.groupName ?? "web-asg";
        this.ltId = opts.launchTemplateId ?? "lt-0123456789abcdef0";
        this.tgArn = opts.targetGroupArn ?? "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef";
        this.listenerArn = opts.listenerArn ?? "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/web/0123456789abcdef/fedcba9876543210";
        this.distributionId = opts.distributionId ?? "E2EXAMPLE12345";
        this.mgmtId = opts.managementInstanceId ?? "i-0management000000";
        this.ec2Images = new SimImages(this.t, this.ids, this.mgmtId);
        this.launchTemplates = new SimLaunchTemplates(this.ltId);
        this.cloudFront = new SimCloudFront(this.t, this.ids);
        const routes: Record<string, Handlers[]> = {
            ec2: [this.ec2Images.handlers, this.launchTemplates.handlers],
            cloudfront: [this.cloudFront.handlers],
        };
        for (const [service, tables] of Object.entries(routes)) {
            for (const table of tables) for (const [command, h] of Object.entries(table)) this.handlers.set(`${service}_${command}`, h);
        }
    }

    private id(prefix: string) {
        return this.ids.next(prefix);
    }

    now() {
        return Date.now();
    }

    get templates() { return this.launchTemplates.templates; }
    get defaultVersion() { return this.launchTemplates.defaultVersion; }
    get images() { return this.ec2Images.images; }
    get snapshots() { return this.ec2Images.snapshots; }
    get nextImageFaults() { return this.ec2Images.nextImageFaults; }
    set nextImageFaults(faults: ImageFaults) { this.ec2Images.nextImageFaults = faults; }

    // ------------------------------------------------------------------ set-up helpers

    /** A release AMI as if baked earlier. */
    addImage(tags: Record<string, string> = {}, faults: ImageFaults = {}, createdAt = this.now() - 86400_000): string {
        return this.ec2Images.add(tags, faults, createdAt);
    }

    /** A launch template version on the given image (as a previous release would have made). */
    addTemplateVersion(imageId: string, makeDefault = true, version = "v1.0.0"): number {
        return this.launchTemplates.addReleaseVersion(imageId, makeDefault, version);
    }

    /** Pulumi changes the base template: a new version (not default). */
    addBaseVersion(change: Record<string, unknown>): number {
        return this.launchTemplates.addBaseVersion(change);
    }

    /** Instances already InService and healthy on the default version (a running fleet). */
    seedFleet(n: number, opts: { max?: number; min?: number } = {}) {
        const start = this.now() - 3600_000;
        for (let k = 0; k < n; k++) this.launch(start, this.defaultVersion);
        this.group.desired = n;
        this.group.min = opts.min ?? Math.min(1, n);
        this.group.max = opts.max ?? Math.max(n, 4);
    }

    // ------------------------------------------------------------------ the world

    private launch(at: number, v = this.defaultVersion): SimInstance | null {
        const imageId = this.launchTemplates.imageOf(v);
        if (this.ec2Images.faults(imageId)?.launchFails) {
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
            id: this.id("i"),
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

    private targetState(id: string, now: number): string | undefined {
        const tg = this.targets.get(id);
        if (!tg) return undefined;
        if (tg.deregisteredAt !== undefined) return now < tg.deregisteredAt + this.t.deregistrationDelayS * 1000 ? "draining" : undefined;
        const inst = this.instances.get(id);
        const checks = Math.floor((now - tg.registeredAt) / (this.t.healthCheckIntervalS * 1000));
        if (inst && this.images.get(inst.imageId)?.faults.neverHealthy) return checks >= this.t.unhealthyThreshold ? "unhealthy" : "initial";
        return checks >= this.t.healthyThreshold ? "healthy" : "initial";
    }

    private terminate(inst: SimInstance) {
        const tg = this.targets.get(inst.id);
        this.terminations.push({ id: inst.id, at: this.now(), ltVersion: inst.ltVersion, deregisteredAt: this.deregisteredAt.get(inst.id), registered: !!tg && tg.deregisteredAt === undefined });
        inst.state = "Terminated";
        this.targets.delete(inst.id);
        this.order = this.order.filter((x) => x !== inst.id);
    }

    /** Brings the world up to now. */
    advance() {
        const now = this.now();
        for (const ext of this.externalDesired) {
            if (!ext.done && now >= ext.at) {
                ext.done = true;
                this.group.desired = Math.max(this.group.min, Math.min(this.group.max, this.group.desired + ext.delta));
            }
        }
        for (const v of this.vanish) {
            if (now >= v.at) {
                const id = v.id();
                const inst = id ? this.instances.get(id) : undefined;
                if (inst && inst.state !== "Terminated") this.terminate(inst);
                v.at = Infinity;
            }
        }
        if (this.vanishNthDrained !== null) {
            const draining = [...this.targets].filter(([, tg]) => tg.deregisteredAt !== undefined);
            if (this.deregistered >= this.vanishNthDrained && draining.length) {
                const inst = this.instances.get(draining[0][0]);
                if (inst && inst.state !== "Terminated") this.terminate(inst);
                this.vanishNthDrained = null;
            }
        }
        // Iterate to a fixed point: boot, unhealthy replacement, capacity reconcile.
        for (let round = 0; round < 20; round++) {
            let changed = false;
            for (const id of [...this.order]) {
                const inst = this.instances.get(id)!;
                const bootAt = inst.launchedAt + this.t.bootS * 1000;
                if (inst.state === "Pending" && now >= bootAt) {
                    inst.state = "InService";
                    this.targets.set(inst.id, { registeredAt: bootAt });
                    changed = true;
                }
                if (inst.state === "InService" && this.images.get(inst.imageId)?.faults.neverHealthy) {
                    const tg = this.targets.get(inst.id);
                    const unhealthyAt = tg ? tg.registeredAt + this.t.unhealthyThreshold * this.t.healthCheckIntervalS * 1000 : Infinity;
                    const eligible = Math.max(unhealthyAt, inst.launchedAt + this.t.gracePeriodS * 1000);
                    if (now >= eligible && tg?.deregisteredAt === undefined) {
                        inst.health = "Unhealthy";
                        if (!this.group.suspended.has("ReplaceUnhealthy") && !this.group.suspended.has("HealthCheck")) {
                            this.terminate(inst);
                            const r = this.reconcile(eligible);
                            changed = true;
                            void r;
                        }
                    }
                }
            }
            if (this.reconcile(now)) changed = true;
            if (!changed) break;
        }
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

    // ------------------------------------------------------------------ invariants for tests

    /** Instances that are part of the group and not terminated. */
    fleet() {
        return this.order.map((id) => this.instances.get(id)!).filter((i) => i.state !== "Terminated");
    }

    /**
     * The fleet as a load balancer and a bill see it now: instances InService and healthy in the
     * target group (serving), serving or booting (Pending, or InService and not deregistered), and
     * deregistered ones still in the group (draining or drained, not yet terminated).
     */
    sample() {
        this.advance();
        const now = this.now();
        const fleet = this.fleet();
        const out = (i: SimInstance) => this.targets.get(i.id)?.deregisteredAt !== undefined;
        return {
            at: now,
            desired: this.group.desired,
            healthyInService: fleet.filter((i) => i.state === "InService" && !out(i) && this.targetState(i.id, now) === "healthy").length,
            servingOrBooting: fleet.filter((i) => i.state === "Pending" || (i.state === "InService" && !out(i))).length,
            deregistered: fleet.filter(out).length,
        };
    }

    fleetVersions(): number[] {
        return [...new Set(this.fleet().map((i) => i.ltVersion))];
    }

    apiCalls(filter?: (c: SimCall) => boolean) {
        return this.calls.filter((c) => !c.throttled && (!filter || filter(c)));
    }

    // ------------------------------------------------------------------ SDK wiring

    /** Adds the simulator middleware to a real SDK v3 client. */
    attach(client: any, service: string) {
        client.middlewareStack.add(
            (_next: any, context: any) => async (args: any) => {
                const command = String(context.commandName).replace(/Command$/, "");
                const output = this.handle(service, command, args.input);
                return { response: { statusCode: 200, headers: {} }, output: { $metadata: {}, ...output } };
            },
            { step: "deserialize", priority: "high", name: "simAws", override: true },
        );
    }

    /** An AwsCloud adapter whose real SDK clients talk to this simulator. */
    cloud(opts: { maxAttempts?: number; retryMode?: "standard" | "adaptive" } = {}): AwsCloud {
        return new AwsCloud({
            region: "eu-west-1",
            maxAttempts: opts.maxAttempts,
            retryMode: opts.retryMode,
            clientConfig: { credentials: { accessKeyId: "AKIDSIMULATED", secretAccessKey: "simulated" } },
            configureClient: (c: any) => {
                const name = c.constructor.name as string;
                const service = name.startsWith("AutoScaling") ? "autoscaling" : name.startsWith("EC2") ? "ec2" : name.startsWith("ElasticLoad") ? "elbv2" : "cloudfront";
                this.attach(c, service);
            },
        });
    }

    handle(service: string, command: string, input: any): any {
        const t = this.now();
        const call: SimCall = { service, command, input: JSON.parse(JSON.stringify(input ?? {})), t };
        this.calls.push(call);
        if (this.throttle && t >= this.throttle.from && t < this.throttle.to && this.rand() < this.throttle.rate) {
            call.throttled = true;
            throw awsError(service === "ec2" ? "RequestLimitExceeded" : "Throttling", "Rate exceeded", 400);
        }
        this.advance();
        try {
            const injected = this.inject?.(call, this.calls.length - 1);
            if (injected) throw injected;
            if (this.denied.has(command)) throw awsError("AccessDenied", `User: arn:aws:sts::123456789012:assumed-role/deploy is not authorized to perform: ${service}:${command}`, 403);
            const h = this.handlers.get(`${service}_${command}`) ?? (this as any)[`${service}_${command}`]?.bind(this);
            if (!h) throw awsError("UnsupportedOperation", `simulator: ${service} ${command} is not simulated`);
            const out = h(input ?? {});
            this.advance();
            return out;
        } catch (e: any) {
            call.error = `${e.name}: ${e.message}`;
            throw e;
        }
    }

    // ------------------------------------------------------------------ Auto Scaling

    autoscaling_DescribeAutoScalingGroups(input: any) {
        if (input.AutoScalingGroupNames && !input.AutoScalingGroupNames.includes(this.groupName)) return { AutoScalingGroups: [] };
        return {
            AutoScalingGroups: [
                {
                    AutoScalingGroupName: this.groupName,
                    MinSize: this.group.min,
                    MaxSize: this.group.max,
                    DesiredCapacity: this.group.desired,
                    LaunchTemplate: { LaunchTemplateId: this.ltId, Version: "$Default" },
                    HealthCheckType: "ELB",
                    HealthCheckGracePeriod: this.t.gracePeriodS,
                    NewInstancesProtectedFromScaleIn: this.group.newInstancesProtected,
                    Instances: this.fleet().map((i) => ({
                        InstanceId: i.id,
                        LifecycleState: i.state,
                        HealthStatus: i.health,
                        LaunchTemplate: { LaunchTemplateId: this.ltId, Version: String(i.ltVersion) },
                        ProtectedFromScaleIn: i.protected,
                        AvailabilityZone: "eu-west-1a",
                    })),
                    SuspendedProcesses: [...this.group.suspended].map((p) => ({ ProcessName: p, SuspensionReason: "User suspended" })),
                    Tags: [...this.group.tags].map(([Key, Value]) => ({ Key, Value, ResourceId: this.groupName, ResourceType: "auto-scaling-group", PropagateAtLaunch: false })),
                },
            ],
        };
    }

    private checkGroup(name: string) {
        if (name !== this.groupName) throw awsError("ValidationError", `AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
    }

    autoscaling_CreateOrUpdateTags(input: any) {
        for (const t of input.Tags) {
            this.checkGroup(t.ResourceId);
            if (String(t.Value ?? "").length > 256) throw awsError("ValidationError", "Tag value exceeds 256 characters");
            this.group.tags.set(t.Key, t.Value ?? "");
        }
        return {};
    }

    autoscaling_DeleteTags(input: any) {
        for (const t of input.Tags) {
            this.checkGroup(t.ResourceId);
            this.group.tags.delete(t.Key);
        }
        return {};
    }

    autoscaling_SetDesiredCapacity(input: any) {
        this.checkGroup(input.AutoScalingGroupName);
        const d = input.DesiredCapacity;
        if (d > this.group.max) throw awsError("ValidationError", `New SetDesiredCapacity value ${d} is above max value ${this.group.max} for the AutoScalingGroup.`);
        if (d < this.group.min) throw awsError("ValidationError", `New SetDesiredCapacity value ${d} is below min value ${this.group.min} for the AutoScalingGroup.`);
        this.group.desired = d;
        return {};
    }

    autoscaling_UpdateAutoScalingGroup(input: any) {
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
    }

    autoscaling_SuspendProcesses(input: any) {
        this.checkGroup(input.AutoScalingGroupName);
        for (const p of input.ScalingProcesses ?? []) this.group.suspended.add(p);
        return {};
    }

    autoscaling_ResumeProcesses(input: any) {
        this.checkGroup(input.AutoScalingGroupName);
        for (const p of input.ScalingProcesses ?? []) this.group.suspended.delete(p);
        return {};
    }

    autoscaling_TerminateInstanceInAutoScalingGroup(input: any) {
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
        return { Activity: { ActivityId: this.id("act"), StatusCode: "InProgress", Description: `Terminating EC2 instance: ${inst.id}` } };
    }

    autoscaling_DescribeScalingActivities() {
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
    }

    // ------------------------------------------------------------------ ELBv2

    elbv2_DescribeTargetHealth(input: any) {
        if (input.TargetGroupArn !== this.tgArn) throw awsError("TargetGroupNotFound", "One or more target groups not found");
        const now = this.now();
        const out = [];
        for (const id of this.targets.keys()) {
            const s = this.targetState(id, now);
            if (s) out.push({ Target: { Id: id, Port: 8000 }, TargetHealth: { State: s } });
            else this.targets.delete(id);
        }
        return { TargetHealthDescriptions: out };
    }

    elbv2_DeregisterTargets(input: any) {
        for (const t of input.Targets) {
            const tg = this.targets.get(t.Id);
            if (tg && tg.deregisteredAt === undefined) {
                tg.deregisteredAt = this.now();
                this.deregisteredAt.set(t.Id, tg.deregisteredAt);
                this.deregistered++;
            }
        }
        return {};
    }

    elbv2_RegisterTargets(input: any) {
        if (input.TargetGroupArn !== this.tgArn) throw awsError("TargetGroupNotFound", "One or more target groups not found");
        for (const t of input.Targets) {
            const inst = this.instances.get(t.Id);
            if (!inst || inst.state !== "InService") throw awsError("InvalidTarget", `The following targets are not in a running state and cannot be registered: '${t.Id}'`);
            const tg = this.targets.get(t.Id);
            // A registered target starts over: `initial` until it passes the healthy threshold.
            if (!tg || tg.deregisteredAt !== undefined) this.targets.set(t.Id, { registeredAt: this.now() });
        }
        return {};
    }

    elbv2_DescribeTargetGroupAttributes() {
        return { Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: String(this.t.deregistrationDelayS) }] };
    }

    elbv2_DescribeTargetGroups() {
        return {
            TargetGroups: [
                { TargetGroupArn: this.tgArn, HealthCheckIntervalSeconds: this.t.healthCheckIntervalS, HealthyThresholdCount: this.t.healthyThreshold, UnhealthyThresholdCount: this.t.unhealthyThreshold },
            ],
        };
    }

    elbv2_DescribeRules() {
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
    }

    elbv2_CreateRule(input: any) {
        for (const r of this.rules.values()) if (r.priority === input.Priority) throw awsError("PriorityInUse", `Priority '${input.Priority}' is currently in use`);
        const arn = `${this.listenerArn.replace(":listener/", ":listener-rule/")}/${this.id("rule")}`;
        this.rules.set(arn, { priority: input.Priority, body: input.Actions?.[0]?.FixedResponseConfig?.MessageBody ?? "" });
        return { Rules: [{ RuleArn: arn, Priority: String(input.Priority) }] };
    }

    elbv2_DeleteRule(input: any) {
        if (!this.rules.delete(input.RuleArn)) throw awsError("RuleNotFound", "One or more rules not found");
        return {};
    }
}
