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
 *
 * Each service owns its state and its commands: auto-scaling.ts (the group and its instances),
 * load-balancer.ts (the target group and listener rules), images.ts, launch-templates.ts,
 * cloudfront.ts. SimAws wires them together, routes each call to its service, and owns the
 * faults: throttling, injected errors, denied commands, and what happens outside the release
 * (instances that vanish, a scaling policy's changes of desired capacity).
 */
import { AwsCloud } from "../../providers/release/aws/cloud";
import { SimAutoScalingGroup } from "./auto-scaling";
import { SimCloudFront } from "./cloudfront";
import { ImageFaults, SimImages } from "./images";
import { SimLaunchTemplates } from "./launch-templates";
import { SimLoadBalancer } from "./load-balancer";
import { awsError, DEFAULT_TIMINGS, Handlers, IdSequence, SimTimings } from "./service";

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

    readonly autoScaling: SimAutoScalingGroup;
    readonly loadBalancer: SimLoadBalancer;
    readonly ec2Images: SimImages;
    readonly launchTemplates: SimLaunchTemplates;
    readonly cloudFront: SimCloudFront;

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
    /** Desired-capacity changes made by "someone else" (a scaling policy) at the given time. */
    externalDesired: { at: number; delta: number; done?: boolean }[] = [];

    private readonly ids = new IdSequence();
    /** "service_Command" -> its handler. */
    private readonly handlers = new Map<string, (input: any) => any>();
    private rand = prng(42);

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
        // The target group asks the group (made next) about its instances through these.
        this.loadBalancer = new SimLoadBalancer(this.t, this.ids, this.tgArn, this.listenerArn, {
            inService: (id) => this.autoScaling.inService(id),
            neverHealthy: (id) => this.autoScaling.neverHealthy(id),
        });
        this.autoScaling = new SimAutoScalingGroup(this.t, this.ids, this.groupName, this.launchTemplates, this.ec2Images, this.loadBalancer);
        const routes: Record<string, Handlers[]> = {
            autoscaling: [this.autoScaling.handlers],
            ec2: [this.ec2Images.handlers, this.launchTemplates.handlers],
            elbv2: [this.loadBalancer.handlers],
            cloudfront: [this.cloudFront.handlers],
        };
        for (const [service, tables] of Object.entries(routes)) {
            for (const table of tables) for (const [command, h] of Object.entries(table)) this.handlers.set(`${service}_${command}`, h);
        }
    }

    now() {
        return Date.now();
    }

    // ------------------------------------------------------------------ each service's state

    get group() { return this.autoScaling.group; }
    get instances() { return this.autoScaling.instances; }
    get terminations() { return this.autoScaling.terminations; }
    get targets() { return this.loadBalancer.targets; }
    get rules() { return this.loadBalancer.rules; }
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
        this.autoScaling.seed(n, opts);
    }

    // ------------------------------------------------------------------ the world

    /** Brings the world up to now: what happens outside the release, then the group's own doings. */
    advance() {
        const now = this.now();
        for (const ext of this.externalDesired) {
            if (!ext.done && now >= ext.at) {
                ext.done = true;
                this.autoScaling.changeDesired(ext.delta);
            }
        }
        for (const v of this.vanish) {
            if (now >= v.at) {
                const id = v.id();
                if (id) this.autoScaling.lose(id);
                v.at = Infinity;
            }
        }
        if (this.vanishNthDrained !== null) {
            const draining = this.loadBalancer.firstDeregistering();
            if (this.loadBalancer.deregistrations >= this.vanishNthDrained && draining !== undefined) {
                this.autoScaling.lose(draining);
                this.vanishNthDrained = null;
            }
        }
        this.autoScaling.settle(now);
    }

    // ------------------------------------------------------------------ invariants for tests

    /** Instances that are part of the group and not terminated. */
    fleet() {
        return this.autoScaling.fleet();
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
        const out = (i: { id: string }) => this.loadBalancer.deregistering(i.id);
        return {
            at: now,
            desired: this.group.desired,
            healthyInService: fleet.filter((i) => i.state === "InService" && !out(i) && this.loadBalancer.state(i.id, now) === "healthy").length,
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
            const h = this.handlers.get(`${service}_${command}`);
            if (!h) throw awsError("UnsupportedOperation", `simulator: ${service} ${command} is not simulated`);
            const out = h(input ?? {});
            this.advance();
            return out;
        } catch (e: any) {
            call.error = `${e.name}: ${e.message}`;
            throw e;
        }
    }
}
