/**
 * The Cloud port on the AWS SDK v3: one documented API action per method (or a short documented
 * sequence), the SDK's own waiters, and its standard retry strategy (throttling and transient
 * errors are retried by the SDK with backoff, `maxAttempts` per call).
 *
 * Clients are `require`d inside methods, never at module scope: the Release provider is
 * serialized by Pulumi's closure serializer, which cannot capture SDK client instances.
 *
 *   describeGroup            autoscaling:DescribeAutoScalingGroups (ec2:DescribeInstances if a
 *                            version is reported unresolved)
 *   setGroupTag/deleteGroupTag(s)  autoscaling:CreateOrUpdateTags / DeleteTags (the deploy lock)
 *   updateGroupSize          autoscaling:SetDesiredCapacity (desired only) / UpdateAutoScalingGroup
 *   suspend/resumeProcesses  autoscaling:SuspendProcesses / ResumeProcesses
 *   terminateInstance        autoscaling:TerminateInstanceInAutoScalingGroup
 *   lastScalingFailure       autoscaling:DescribeScalingActivities
 *   createImage/waitForImage ec2:CreateImage / waitUntilImageAvailable (DescribeImages)
 *   deleteImage              ec2:DescribeImages, DeregisterImage, DeleteSnapshot
 *   defaultTemplateImageId   ec2:DescribeLaunchTemplateVersions ($Default): the AMI pruning keeps
 *   launch templates         ec2:DescribeLaunchTemplates, DescribeLaunchTemplateVersions,
 *                            CreateLaunchTemplateVersion (full data, only ImageId replaced; the
 *                            base read first unless the caller passes its data), ModifyLaunchTemplate
 *                            (DefaultVersion); describeTemplateVersions: DescribeLaunchTemplateVersions
 *                            (VersionDescription, DefaultVersion, LaunchTemplateData)
 *   target group             elbv2:DescribeTargetHealth, DeregisterTargets, RegisterTargets,
 *                            DescribeTargetGroups, DescribeTargetGroupAttributes (the timings:
 *                            only when the Release has no targetGroupTimings input, and the
 *                            delay again when a target drains past the given one)
 *   maintenance page         elbv2:DescribeRules, CreateRule (fixed-response 503), DeleteRule;
 *                            findMaintenanceRules: DescribeRules (the marker in the body)
 *   CDN                      cloudfront:CreateInvalidation / waitUntilInvalidationCompleted
 */
import type { Cloud, GroupState, ImageState, LaunchTemplateData, LaunchTemplateState, TargetGroupTimings, TargetHealthState, TemplateVersionInfo } from "../ports";
import { MAINTENANCE_MARKER, WAITER_POLL_S } from "../ports";
import { createHash } from "node:crypto";
import { nameCalls } from "./calls";

/**
 * An EC2 ClientToken: at most 128 ASCII characters. A printable-ASCII value that fits is used as
 * is; anything else is replaced by its SHA-256 (64 hex characters), still stable for one input.
 */
export function templateVersionClientToken(seed: string): string {
    if (/^[\x21-\x7e]{1,128}$/.test(seed)) return seed;
    return `h-${createHash("sha256").update(seed).digest("hex")}`;
}

/**
 * Errors AWS documents as retryable that the SDK's standard retry strategy does not retry (it
 * retries throttling, 5xx and transient network errors): Auto Scaling's ScalingActivityInProgress
 * ("a scaling activity is in progress; retry later") and ResourceContention ("multiple requests
 * are updating the same group; retry").
 * Retried with bounded exponential backoff: 1, 2, 4, 8, 16, 20, 20 s (71 s at most, 8 attempts).
 */
export const DOCUMENTED_RETRYABLE = /^(ScalingActivityInProgress(Fault)?|ResourceContention(Fault)?)$/;
export const DOCUMENTED_RETRY = { attempts: 8, firstDelayMs: 1000, maxDelayMs: 20_000 };

/** Per-request bounds on every SDK client (its NodeHttpHandler's own settings). */
export const AWS_TIMEOUTS = { connectionTimeoutMs: 5_000, requestTimeoutMs: 60_000 };

export interface AwsCloudOptions {
    region: string;
    /** Attempts per API call, retries included (SDK standard/adaptive retry). @default 10 */
    maxAttempts?: number;
    /** @default "standard" (exponential backoff with jitter, retry quota; "adaptive" adds client-side rate limiting) */
    retryMode?: "standard" | "adaptive";
    /** TCP connection time-out of every request, ms. @default AWS_TIMEOUTS.connectionTimeoutMs */
    connectionTimeoutMs?: number;
    /** Time-out of every request once connected, ms. @default AWS_TIMEOUTS.requestTimeoutMs */
    requestTimeoutMs?: number;
    /** Extra client configuration (credentials, endpoint) merged into every client's. */
    clientConfig?: Record<string, unknown>;
    /** Called with every client after construction (tests add a middleware here). */
    configureClient?: (client: any) => void;
}

const TAG_RESOURCE_TYPE = "auto-scaling-group";


export class AwsCloud implements Cloud {
    private clients: Record<string, any> = {};

    constructor(private readonly opts: AwsCloudOptions) {}

    private client(kind: "asg" | "ec2" | "elb" | "cf"): any {
        if (this.clients[kind]) return this.clients[kind];
        const config = {
            region: kind === "cf" ? "us-east-1" : this.opts.region,
            maxAttempts: this.opts.maxAttempts ?? 10,
            retryMode: this.opts.retryMode ?? "standard",
            // NodeHttpHandler options: no request may hang (the SDK's default is no time-out).
            requestHandler: {
                connectionTimeout: this.opts.connectionTimeoutMs ?? AWS_TIMEOUTS.connectionTimeoutMs,
                requestTimeout: this.opts.requestTimeoutMs ?? AWS_TIMEOUTS.requestTimeoutMs,
                // Without it a breached requestTimeout is only a logged warning.
                throwOnRequestTimeout: true,
                socketTimeout: this.opts.requestTimeoutMs ?? AWS_TIMEOUTS.requestTimeoutMs,
            },
            ...(this.opts.clientConfig ?? {}),
        };
        let c: any;
        if (kind === "asg") c = new (require("@aws-sdk/client-auto-scaling").AutoScalingClient)(config);
        else if (kind === "ec2") c = new (require("@aws-sdk/client-ec2").EC2Client)(config);
        else if (kind === "elb") c = new (require("@aws-sdk/client-elastic-load-balancing-v2").ElasticLoadBalancingV2Client)(config);
        else c = new (require("@aws-sdk/client-cloudfront").CloudFrontClient)(config);
        nameCalls(c);
        this.opts.configureClient?.(c);
        this.clients[kind] = c;
        return c;
    }

    /** One API call: the SDK's retries inside, the documented-retryable errors it leaves retried here. */
    private async send(kind: "asg" | "ec2" | "elb" | "cf", m: any, command: string, input: any): Promise<any> {
        let delay = DOCUMENTED_RETRY.firstDelayMs;
        for (let k = 1; ; k++) {
            try {
                return await this.client(kind).send(new m[command](input));
            } catch (e: any) {
                if (k >= DOCUMENTED_RETRY.attempts || !DOCUMENTED_RETRYABLE.test(String(e?.name ?? e?.Code ?? ""))) throw e;
                await new Promise((r) => setTimeout(r, delay));
                delay = Math.min(DOCUMENTED_RETRY.maxDelayMs, delay * 2);
            }
        }
    }
    private asg(command: string, input: any): Promise<any> {
        return this.send("asg", require("@aws-sdk/client-auto-scaling"), command, input);
    }
    private ec2(command: string, input: any): Promise<any> {
        return this.send("ec2", require("@aws-sdk/client-ec2"), command, input);
    }
    private elb(command: string, input: any): Promise<any> {
        return this.send("elb", require("@aws-sdk/client-elastic-load-balancing-v2"), command, input);
    }
    private cf(command: string, input: any): Promise<any> {
        return this.send("cf", require("@aws-sdk/client-cloudfront"), command, input);
    }

    // ----------------------------------------------------------------- Auto Scaling

    async describeGroup(groupName: string): Promise<GroupState> {
        const out = await this.asg("DescribeAutoScalingGroupsCommand", { AutoScalingGroupNames: [groupName] });
        const g = out.AutoScalingGroups?.[0];
        if (!g) throw new Error(`auto scaling group ${groupName} not found`);
        const tags: Record<string, string> = {};
        for (const t of g.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? "";
        const instances = (g.Instances ?? []).map((i: any) => ({
            instanceId: i.InstanceId,
            lifecycleState: i.LifecycleState,
            healthStatus: i.HealthStatus,
            launchTemplateVersion: i.LaunchTemplate?.Version ?? null,
            protectedFromScaleIn: !!i.ProtectedFromScaleIn,
            availabilityZone: i.AvailabilityZone,
        }));
        // The version should be the resolved number; should a group report "$Default"/"$Latest",
        // EC2's own aws:ec2launchtemplate:version tag on the instance says which one it ran.
        const unresolved = instances.filter((i: any) => i.launchTemplateVersion !== null && !/^\d+$/.test(i.launchTemplateVersion));
        if (unresolved.length) {
            const out2 = await this.ec2("DescribeInstancesCommand", { InstanceIds: unresolved.map((i: any) => i.instanceId) });
            const byId: Record<string, string> = {};
            for (const r of out2.Reservations ?? []) {
                for (const x of r.Instances ?? []) {
                    const t = (x.Tags ?? []).find((t: any) => t.Key === "aws:ec2launchtemplate:version");
                    if (t?.Value) byId[x.InstanceId] = t.Value;
                }
            }
            for (const i of unresolved) i.launchTemplateVersion = byId[i.instanceId] ?? null;
        }
        return {
            name: g.AutoScalingGroupName,
            minSize: g.MinSize,
            maxSize: g.MaxSize,
            desiredCapacity: g.DesiredCapacity,
            instances,
            suspendedProcesses: (g.SuspendedProcesses ?? []).map((p: any) => p.ProcessName),
            tags,
            launchTemplate: g.LaunchTemplate ? { id: g.LaunchTemplate.LaunchTemplateId, version: g.LaunchTemplate.Version } : null,
        };
    }

    async setGroupTag(groupName: string, key: string, value: string): Promise<void> {
        await this.asg("CreateOrUpdateTagsCommand", {
            Tags: [{ ResourceId: groupName, ResourceType: TAG_RESOURCE_TYPE, Key: key, Value: value, PropagateAtLaunch: false }],
        });
    }

    async deleteGroupTag(groupName: string, key: string): Promise<void> {
        await this.asg("DeleteTagsCommand", { Tags: [{ ResourceId: groupName, ResourceType: TAG_RESOURCE_TYPE, Key: key }] });
    }

    /** DeleteTags with several keys in one call. */
    async deleteGroupTags(groupName: string, keys: string[]): Promise<void> {
        await this.asg("DeleteTagsCommand", { Tags: keys.map((Key) => ({ ResourceId: groupName, ResourceType: TAG_RESOURCE_TYPE, Key })) });
    }

    async updateGroupSize(groupName: string, size: { minSize?: number; maxSize?: number; desiredCapacity?: number }): Promise<void> {
        if (size.minSize === undefined && size.maxSize === undefined && size.desiredCapacity !== undefined) {
            await this.asg("SetDesiredCapacityCommand", { AutoScalingGroupName: groupName, DesiredCapacity: size.desiredCapacity, HonorCooldown: false });
            return;
        }
        await this.asg("UpdateAutoScalingGroupCommand", {
            AutoScalingGroupName: groupName,
            MinSize: size.minSize,
            MaxSize: size.maxSize,
            DesiredCapacity: size.desiredCapacity,
        });
    }

    async suspendProcesses(groupName: string, processes: string[]): Promise<void> {
        await this.asg("SuspendProcessesCommand", { AutoScalingGroupName: groupName, ScalingProcesses: processes });
    }

    async resumeProcesses(groupName: string, processes: string[]): Promise<void> {
        await this.asg("ResumeProcessesCommand", { AutoScalingGroupName: groupName, ScalingProcesses: processes });
    }

    async terminateInstance(instanceId: string, decrementDesiredCapacity: boolean): Promise<void> {
        await this.asg("TerminateInstanceInAutoScalingGroupCommand", { InstanceId: instanceId, ShouldDecrementDesiredCapacity: decrementDesiredCapacity });
    }

    async lastScalingFailure(groupName: string, sinceMs: number): Promise<string | null> {
        const out = await this.asg("DescribeScalingActivitiesCommand", { AutoScalingGroupName: groupName, MaxRecords: 20 });
        const a = (out.Activities ?? []).find(
            (x: any) => (x.StatusCode === "Failed" || x.StatusCode === "Cancelled") && (!x.StartTime || new Date(x.StartTime).getTime() >= sinceMs),
        );
        return a ? `${a.Description ?? "scaling activity"}: ${a.StatusMessage ?? a.StatusCode}` : null;
    }

    // ----------------------------------------------------------------- Images

    async createImage(instanceId: string, name: string, tags: Record<string, string>): Promise<string> {
        const Tags = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
        const out = await this.ec2("CreateImageCommand", {
            InstanceId: instanceId,
            Name: name,
            Description: `release image of ${instanceId}`,
            // A reboot gives a file-system-consistent image of the management instance.
            NoReboot: false,
            TagSpecifications: [
                { ResourceType: "image", Tags },
                { ResourceType: "snapshot", Tags },
            ],
        });
        return out.ImageId;
    }

    async waitForImage(imageId: string, timeoutS: number): Promise<void> {
        const { waitUntilImageAvailable } = require("@aws-sdk/client-ec2");
        // A fixed 20 s period (minDelay = maxDelay: no jitter, a predictable number of calls): the
        // executor only starts waiting once the image could plausibly be ready.
        const poll = WAITER_POLL_S.image;
        await waitUntilImageAvailable({ client: this.client("ec2"), maxWaitTime: Math.max(poll + 1, Math.round(timeoutS)), minDelay: poll, maxDelay: poll }, { ImageIds: [imageId] });
    }

    async describeImages(filter: { imageIds?: string[]; tags?: Record<string, string> }): Promise<ImageState[]> {
        const input: any = filter.imageIds ? { ImageIds: filter.imageIds } : { Owners: ["self"] };
        if (filter.tags) input.Filters = Object.entries(filter.tags).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] }));
        const out = await this.ec2("DescribeImagesCommand", input);
        return (out.Images ?? []).map((im: any) => {
            const tags: Record<string, string> = {};
            for (const t of im.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? "";
            return {
                imageId: im.ImageId,
                state: im.State,
                name: im.Name,
                tags,
                snapshotIds: (im.BlockDeviceMappings ?? []).map((b: any) => b.Ebs?.SnapshotId).filter(Boolean),
                creationDate: im.CreationDate,
            };
        });
    }

    async deleteImage(imageId: string): Promise<void> {
        const [im] = await this.describeImages({ imageIds: [imageId] });
        await this.ec2("DeregisterImageCommand", { ImageId: imageId });
        for (const s of im?.snapshotIds ?? []) await this.ec2("DeleteSnapshotCommand", { SnapshotId: s });
    }

    // ----------------------------------------------------------------- Launch templates

    async describeLaunchTemplate(launchTemplateId: string): Promise<LaunchTemplateState> {
        const out = await this.ec2("DescribeLaunchTemplatesCommand", { LaunchTemplateIds: [launchTemplateId] });
        const lt = out.LaunchTemplates?.[0];
        if (!lt) throw new Error(`launch template ${launchTemplateId} not found`);
        return { id: lt.LaunchTemplateId, defaultVersion: lt.DefaultVersionNumber, latestVersion: lt.LatestVersionNumber };
    }

    /**
     * `clientToken` (ec2:CreateLaunchTemplateVersion ClientToken, <= 128 ASCII characters) makes the
     * call idempotent: a repeat with the same token (a retry whose response was lost, a resumed run)
     * returns the version the first call created instead of creating a second one. The executor
     * derives it from the run; without one it is derived from the request itself.
     * `baseData` (the base version's data as the caller read it, exact since versions are
     * immutable) saves the DescribeLaunchTemplateVersions of the base.
     */
    async createLaunchTemplateVersion(launchTemplateId: string, baseVersion: number, imageId: string, description: string, clientToken?: string, baseData?: LaunchTemplateData): Promise<number> {
        let source = baseData;
        if (!source) {
            const d = await this.ec2("DescribeLaunchTemplateVersionsCommand", { LaunchTemplateId: launchTemplateId, Versions: [String(baseVersion)] });
            const base = d.LaunchTemplateVersions?.[0];
            if (!base) throw new Error(`launch template ${launchTemplateId} has no version ${baseVersion}`);
            source = base.LaunchTemplateData ?? {};
        }
        // The full data of the base version, only ImageId replaced: nothing depends on SourceVersion
        // semantics (which differ between AWS and emulators for nested lists).
        const data = { ...source, ImageId: imageId };
        const out = await this.ec2("CreateLaunchTemplateVersionCommand", {
            LaunchTemplateId: launchTemplateId,
            VersionDescription: description,
            LaunchTemplateData: data,
            ClientToken: templateVersionClientToken(clientToken ?? `${launchTemplateId}:${baseVersion}:${imageId}:${description}`),
        });
        return out.LaunchTemplateVersion.VersionNumber;
    }

    /** DescribeLaunchTemplateVersions ($Default): the live default version's ImageId (kept by pruning). */
    async defaultTemplateImageId(launchTemplateId: string): Promise<string | null> {
        const out = await this.ec2("DescribeLaunchTemplateVersionsCommand", { LaunchTemplateId: launchTemplateId, Versions: ["$Default"] });
        return out.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.ImageId ?? null;
    }

    /** DescribeLaunchTemplateVersions: numbers, descriptions (VersionDescription) and which is the default. */
    async describeTemplateVersions(launchTemplateId: string, versions: string[]): Promise<TemplateVersionInfo[]> {
        const out = await this.ec2("DescribeLaunchTemplateVersionsCommand", { LaunchTemplateId: launchTemplateId, Versions: versions });
        return (out.LaunchTemplateVersions ?? []).map((v: any) => ({ version: v.VersionNumber, description: v.VersionDescription ?? null, isDefault: !!v.DefaultVersion, imageId: v.LaunchTemplateData?.ImageId ?? null, data: v.LaunchTemplateData ?? {} }));
    }

    async setDefaultLaunchTemplateVersion(launchTemplateId: string, version: number): Promise<void> {
        await this.ec2("ModifyLaunchTemplateCommand", { LaunchTemplateId: launchTemplateId, DefaultVersion: String(version) });
    }

    // ----------------------------------------------------------------- Target group and listener

    async describeTargetHealth(targetGroupArn: string): Promise<Record<string, TargetHealthState>> {
        const out = await this.elb("DescribeTargetHealthCommand", { TargetGroupArn: targetGroupArn });
        const r: Record<string, TargetHealthState> = {};
        for (const t of out.TargetHealthDescriptions ?? []) if (t.Target?.Id) r[t.Target.Id] = t.TargetHealth?.State;
        return r;
    }

    async deregisterTargets(targetGroupArn: string, instanceIds: string[]): Promise<void> {
        await this.elb("DeregisterTargetsCommand", { TargetGroupArn: targetGroupArn, Targets: instanceIds.map((Id) => ({ Id })) });
    }

    async registerTargets(targetGroupArn: string, instanceIds: string[]): Promise<void> {
        await this.elb("RegisterTargetsCommand", { TargetGroupArn: targetGroupArn, Targets: instanceIds.map((Id) => ({ Id })) });
    }

    async deregistrationDelayS(targetGroupArn: string): Promise<number> {
        const out = await this.elb("DescribeTargetGroupAttributesCommand", { TargetGroupArn: targetGroupArn });
        const a = (out.Attributes ?? []).find((x: any) => x.Key === "deregistration_delay.timeout_seconds");
        return a ? Number(a.Value) : 300;
    }

    async describeTargetGroup(targetGroupArn: string): Promise<TargetGroupTimings> {
        const out = await this.elb("DescribeTargetGroupsCommand", { TargetGroupArns: [targetGroupArn] });
        const tg = out.TargetGroups?.[0];
        return {
            deregistrationDelayS: await this.deregistrationDelayS(targetGroupArn),
            healthCheckIntervalS: tg?.HealthCheckIntervalSeconds ?? 30,
            healthyThreshold: tg?.HealthyThresholdCount ?? 5,
        };
    }

    /** Every rule of the listener: DescribeRules is paginated (Marker / NextMarker). */
    private async listenerRules(listenerArn: string): Promise<any[]> {
        const all: any[] = [];
        let marker: string | undefined;
        do {
            const out = await this.elb("DescribeRulesCommand", marker ? { ListenerArn: listenerArn, Marker: marker } : { ListenerArn: listenerArn });
            all.push(...(out.Rules ?? []));
            marker = out.NextMarker || undefined;
        } while (marker);
        return all;
    }

    async addMaintenanceRule(listenerArn: string, html: string): Promise<string> {
        const rules = { Rules: await this.listenerRules(listenerArn) };
        const used = new Set<number>((rules.Rules ?? []).filter((r: any) => r.Priority !== "default").map((r: any) => Number(r.Priority)));
        const lowest = used.size ? Math.min(...used) : 50001;
        if (lowest <= 1) {
            throw new Error(`listener ${listenerArn} already has a rule at priority 1: the maintenance page cannot take precedence over it`);
        }
        const out = await this.elb("CreateRuleCommand", {
            ListenerArn: listenerArn,
            Priority: 1,
            Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: ["/*"] } }],
            Actions: [{ Type: "fixed-response", FixedResponseConfig: { StatusCode: "503", ContentType: "text/html", MessageBody: html.slice(0, 1024) } }],
            Tags: [{ Key: "release:maintenance", Value: "true" }],
        });
        return out.Rules[0].RuleArn;
    }

    async findMaintenanceRules(listenerArn: string): Promise<string[]> {
        const rules = { Rules: await this.listenerRules(listenerArn) };
        return (rules.Rules ?? [])
            .filter((r: any) => (r.Actions ?? []).some((a: any) => a.Type === "fixed-response" && String(a.FixedResponseConfig?.MessageBody ?? "").includes(MAINTENANCE_MARKER)))
            .map((r: any) => r.RuleArn);
    }

    async removeMaintenanceRule(ruleArn: string): Promise<void> {
        try {
            await this.elb("DeleteRuleCommand", { RuleArn: ruleArn });
        } catch (e: any) {
            if (e?.name !== "RuleNotFoundException") throw e;
        }
    }

    // ----------------------------------------------------------------- CloudFront

    async createInvalidation(distributionId: string, paths: string[], callerReference: string): Promise<string> {
        const out = await this.cf("CreateInvalidationCommand", {
            DistributionId: distributionId,
            InvalidationBatch: { CallerReference: callerReference, Paths: { Quantity: paths.length, Items: paths } },
        });
        return out.Invalidation.Id;
    }

    async waitForInvalidation(distributionId: string, invalidationId: string, timeoutS: number): Promise<void> {
        const { waitUntilInvalidationCompleted } = require("@aws-sdk/client-cloudfront");
        await waitUntilInvalidationCompleted({ client: this.client("cf"), maxWaitTime: Math.max(WAITER_POLL_S.invalidation + 1, Math.round(timeoutS)), minDelay: WAITER_POLL_S.invalidation }, { DistributionId: distributionId, Id: invalidationId });
    }
}
