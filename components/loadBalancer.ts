import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { TargetGroupTimings } from "../providers/release/ports";
import { PROJECT_DEFAULTS } from "../settings/schema";

export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export interface LoadBalancerArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Public subnets (>= 2 AZs). */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    /** Port the targets (gunicorn) listen on. @default PROJECT_DEFAULTS.appPort */
    readonly appPort?: number;
    /** Path of the Django health view; answered 200 when the app and its database work. @default PROJECT_DEFAULTS.healthCheckPath */
    readonly healthCheckPath?: string;
    /** Seconds to drain a deregistered target (AWS's default is 300). @default PROJECT_DEFAULTS.deregistrationDelay */
    readonly deregistrationDelay?: number;
    /** Seconds between health checks (each ramp wave waits healthyThreshold of them). @default PROJECT_DEFAULTS.healthCheckInterval */
    readonly healthCheckInterval?: number;
    /** Passed checks before a target gets traffic. @default PROJECT_DEFAULTS.healthyThreshold */
    readonly healthyThreshold?: number;
    /**
     * ACM certificate: adds an HTTPS listener (TLS 1.2/1.3 policy) and turns HTTP into a
     * permanent redirect to HTTPS. @default - HTTP only, forwarding to the target group
     */
    readonly certificateArn?: pulumi.Input<string>;
    /**
     * A header only CloudFront sends (a secret value): traffic without it gets 403, so the load
     * balancer serves only this stack's distribution, not other CloudFront distributions that
     * share the origin-facing prefix list. The forward rule sits at priority 100, leaving 1-99
     * for the release's maintenance rule. @default - every request is forwarded
     */
    readonly originHeader?: { readonly name: string; readonly value: pulumi.Input<string> };
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/** Priority of the forward rule that checks the origin header. */
export const ORIGIN_RULE_PRIORITY = 100;

/**
 * The internet-facing ALB, its target group (health check on the Django health view: 2 x 30 s
 * to call a target unhealthy, 3 x 30 s to call it healthy) and listeners.
 */
export class LoadBalancer extends pulumi.ComponentResource {
    readonly loadBalancer: aws.lb.LoadBalancer;
    readonly targetGroup: aws.lb.TargetGroup;
    /** The listener that forwards traffic (HTTPS when a certificate is set): the release adds its maintenance rule here. */
    readonly listener: aws.lb.Listener;
    readonly dnsName: pulumi.Output<string>;
    readonly targetGroupArn: pulumi.Output<string>;
    readonly listenerArn: pulumi.Output<string>;
    /**
     * The target group's health-check interval, healthy threshold and deregistration delay, from
     * its own outputs: the Release's `targetGroupTimings` (a release then need not read them).
     * Undefined when the outputs do not say (the Release reads the target group).
     */
    readonly targetGroupTimings: pulumi.Output<TargetGroupTimings | undefined>;
    readonly https: boolean;

    constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:LoadBalancer", name, {}, opts);
        const o = { parent: this };
        const tags = args.tags ?? {};
        const appPort = args.appPort ?? PROJECT_DEFAULTS.appPort;
        this.https = args.certificateArn !== undefined;

        this.loadBalancer = new aws.lb.LoadBalancer(`${name}-alb`, {
            loadBalancerType: "application",
            internal: false,
            subnets: args.subnetIds,
            securityGroups: [args.securityGroupId],
            dropInvalidHeaderFields: true,
            idleTimeout: 60,
            tags,
        }, o);

        this.targetGroup = new aws.lb.TargetGroup(`${name}-web`, {
            vpcId: args.vpcId,
            targetType: "instance",
            protocol: "HTTP",
            port: appPort,
            deregistrationDelay: args.deregistrationDelay ?? PROJECT_DEFAULTS.deregistrationDelay,
            healthCheck: {
                enabled: true,
                protocol: "HTTP",
                port: "traffic-port",
                path: args.healthCheckPath ?? PROJECT_DEFAULTS.healthCheckPath,
                matcher: "200",
                interval: args.healthCheckInterval ?? PROJECT_DEFAULTS.healthCheckInterval,
                // ELB requires a timeout shorter than the interval.
                timeout: Math.min(5, (args.healthCheckInterval ?? PROJECT_DEFAULTS.healthCheckInterval) - 1),
                healthyThreshold: args.healthyThreshold ?? PROJECT_DEFAULTS.healthyThreshold,
                unhealthyThreshold: 2,
            },
            tags,
        }, o);

        const forward = [{ type: "forward", targetGroupArn: this.targetGroup.arn }];
        const serve = args.originHeader
            ? [{ type: "fixed-response", fixedResponse: { statusCode: "403", contentType: "text/plain", messageBody: "Forbidden" } }]
            : forward;
        if (args.certificateArn !== undefined) {
            this.listener = new aws.lb.Listener(`${name}-https`, {
                loadBalancerArn: this.loadBalancer.arn,
                port: 443,
                protocol: "HTTPS",
                sslPolicy: TLS_POLICY,
                certificateArn: args.certificateArn,
                defaultActions: serve,
                tags,
            }, o);
            new aws.lb.Listener(`${name}-http`, {
                loadBalancerArn: this.loadBalancer.arn,
                port: 80,
                protocol: "HTTP",
                defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }],
                tags,
            }, o);
        } else {
            this.listener = new aws.lb.Listener(`${name}-http`, {
                loadBalancerArn: this.loadBalancer.arn,
                port: 80,
                protocol: "HTTP",
                defaultActions: serve,
                tags,
            }, o);
        }
        if (args.originHeader) {
            new aws.lb.ListenerRule(`${name}-from-cdn`, {
                listenerArn: this.listener.arn,
                priority: ORIGIN_RULE_PRIORITY,
                conditions: [{ httpHeader: { httpHeaderName: args.originHeader.name, values: [args.originHeader.value] } }],
                actions: forward,
                tags,
            }, o);
        }

        this.dnsName = this.loadBalancer.dnsName;
        this.targetGroupArn = this.targetGroup.arn;
        this.listenerArn = this.listener.arn;
        this.targetGroupTimings = pulumi.all([this.targetGroup.deregistrationDelay, this.targetGroup.healthCheck]).apply(([delay, hc]) => {
            const t = { healthCheckIntervalS: Number(hc?.interval), healthyThreshold: Number(hc?.healthyThreshold), deregistrationDelayS: Number(delay) };
            return delay !== undefined && delay !== null && Object.values(t).every(Number.isInteger) ? t : undefined;
        });
        this.registerOutputs({ dnsName: this.dnsName, targetGroupArn: this.targetGroupArn, listenerArn: this.listenerArn });
    }
}
