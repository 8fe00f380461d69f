/**
 * The `Release` resource: a Pulumi dynamic resource whose `version` input changing makes
 * `pulumi up` release that version to the fleet. What each lifecycle method does is in
 * provider.ts (the implementation); what Pulumi serializes and runs in its provider host is
 * hosted.ts (a small closure that loads provider.ts there).
 */
import * as pulumi from "@pulumi/pulumi";
import type { MigrationPolicy, RemoteSettings } from "./ports";
import type { HistoryEntry, ReleaseStatus } from "./state";
import { hostedProvider } from "./hosted";
import { DEFAULT_RELEASE_TIMEOUT, deadlineFromTimeouts } from "./engine/deadline";

type DeepInput<T> = pulumi.Input<T extends object ? { [K in keyof T]: DeepInput<T[K]> } : T>;

export interface ReleaseRolloutArgs {
    /** New instances per wave: a count or a percentage of desired capacity ("25%", "12.5%"), as settings/grammar.ts parseSurge reads it. @default release:maxSurge's default (settings/schema.ts) */
    maxSurge?: pulumi.Input<number | string>;
    /** Seconds allowed for the AMI to become available. @default release:bakeTimeout's default (settings/schema.ts) */
    bakeTimeoutS?: pulumi.Input<number>;
    /** Seconds allowed for a wave's new instances to be InService and healthy. @default release:healthyTimeout's default (settings/schema.ts) */
    healthyTimeoutS?: pulumi.Input<number>;
    /** Seconds allowed, beyond the target group's deregistration delay, for draining. @default release:drainTimeout's default (settings/schema.ts) */
    drainTimeoutS?: pulumi.Input<number>;
    /** Deploy-lock lifetime in seconds (refreshed while the release runs). @default DEFAULT_ROLLOUT.lockTtlS (inputs.ts) */
    lockTtlS?: pulumi.Input<number>;
    /** Poll interval in seconds while waiting for instances. @default DEFAULT_ROLLOUT.pollIntervalS (inputs.ts) */
    pollIntervalS?: pulumi.Input<number>;
}

export interface ReleaseArgs {
    /** The git tag, branch or sha to release. Changing it makes `pulumi up` release it. */
    version: pulumi.Input<string>;
    /** The Pulumi-managed launch template; release versions are created in it. */
    baseLaunchTemplateId: pulumi.Input<string>;
    /** The Pulumi-managed template's latest version (its `latestVersion`): the base of release versions. */
    baseLaunchTemplateVersion: pulumi.Input<number>;
    autoScalingGroupName: pulumi.Input<string>;
    targetGroupArn: pulumi.Input<string>;
    /** The ALB listener that gets the maintenance page (migrationPolicy "maintenance"). */
    listenerArn: pulumi.Input<string>;
    /** The management instance: remote phase and AMI source. */
    managementInstanceId: pulumi.Input<string>;
    distributionId: pulumi.Input<string>;
    region: pulumi.Input<string>;
    /** The configured capacity; the Release owns min and desired (see planner.ts). An omitted member takes the minSize/maxSize/desiredCapacity setting's default. */
    capacity: DeepInput<{ minSize: number; maxSize: number; desiredCapacity: number }>;
    /** How the remote phase reaches the management instance. `ssh.privateKey` should be a secret. */
    remote: DeepInput<RemoteSettings>;
    rollout?: pulumi.Input<ReleaseRolloutArgs>;
    /** What to do with breaking migrations. @default release:migrationPolicy's default (settings/schema.ts) */
    migrationPolicy?: pulumi.Input<MigrationPolicy>;
    /** Release AMIs kept (older ones deregistered with their snapshots). @default release:keepImages's default (settings/schema.ts) */
    keepImages?: pulumi.Input<number>;
    /**
     * The target group's health-check interval, healthy threshold and deregistration delay, as the
     * program that created the target group knows them (its own outputs): a release then reads
     * none of them from AWS (DescribeTargetGroups, DescribeTargetGroupAttributes). A stale value
     * (the target group changed outside Pulumi) costs time, never a drain: a target still draining
     * past the delay given here makes the run read the target group's own (timings.ts). Changing
     * it alone starts no release. @default - read from the target group at each release
     */
    targetGroupTimings?: pulumi.Input<{ healthCheckIntervalS: pulumi.Input<number>; healthyThreshold: pulumi.Input<number>; deregistrationDelayS: pulumi.Input<number> } | undefined>;
    /** Secret values (e.g. the database password) redacted from status, history and log lines, like every input under a secret-named key. A Pulumi secret. */
    secretValues?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Seconds the whole release may take: past it no new step or wave starts and the release rolls
     * back (a dynamic provider is not handed the resource's customTimeouts, so they come as this input).
     * @default the resource's customTimeouts (update's, else create's; "4h" when none are set)
     */
    deadlineS?: pulumi.Input<number>;
    /** Bump when the provider's behaviour changes (dynamic providers do not notice their code changing). @default "1" */
    providerVersion?: pulumi.Input<string>;
}

/**
 * Releases a version of the app to the fleet. Outputs: the plan that ran, the AMI, the launch
 * template versions, the replaced instances, the status and a bounded history.
 */
export class Release extends pulumi.dynamic.Resource {
    declare readonly version: pulumi.Output<string>;
    declare readonly plan: pulumi.Output<string>;
    declare readonly status: pulumi.Output<ReleaseStatus>;
    declare readonly amiId: pulumi.Output<string | null>;
    declare readonly launchTemplateVersion: pulumi.Output<number | null>;
    declare readonly previousLaunchTemplateVersion: pulumi.Output<number | null>;
    declare readonly replacedInstanceIds: pulumi.Output<string[]>;
    declare readonly history: pulumi.Output<HistoryEntry[]>;
    /** Every launch template version the Release created (bounded): how a refreshed `latestVersion` is recognised as its own. */
    declare readonly templateVersionsCreated: pulumi.Output<number[]>;

    constructor(name: string, args: ReleaseArgs, opts?: pulumi.CustomResourceOptions) {
        const customTimeouts = opts?.customTimeouts ?? { create: DEFAULT_RELEASE_TIMEOUT, update: DEFAULT_RELEASE_TIMEOUT };
        const props = {
            ...args,
            deadlineS: args.deadlineS ?? deadlineFromTimeouts(customTimeouts),
            lockOwner: `${pulumi.getProject()}/${pulumi.getStack()}/${name}`,
            plan: undefined,
            status: undefined,
            amiId: undefined,
            launchTemplateVersion: undefined,
            previousLaunchTemplateVersion: undefined,
            replacedInstanceIds: undefined,
            history: undefined,
            templateVersionsCreated: undefined,
        };
        super(hostedProvider(), name, props, {
            ...opts,
            additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "remote", "secretValues"],
            customTimeouts,
        }, "django-fleet", "Release");
    }
}
