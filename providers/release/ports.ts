/**
 * The release engine's ports: what it needs from the cloud (Cloud), from the management
 * instance (RemotePhase, built on a Remote transport) and from time (Clock).
 *
 * Adapters:
 *  - Cloud: the AWS SDK v3 adapter (providers/release/aws) and the local rehearsal cloud
 *    (rehearsal/local).
 *  - Remote: SSH (ssh2, host key pinned), SSM Run Command, and a local shell
 *    (providers/release/remote).
 *  - Clock: the real clock, or a virtual one in the simulated-cloud tests.
 *
 * The planner and the executor depend on these types only, never on an adapter.
 */

// ---------------------------------------------------------------------------------------
// Remote: one shell command on the management instance.

export interface CommandResult {
    exitCode: number;
    stdout: string;
    stderr: string;
    durationMs: number;
    /** Set when the transport cut the output (SSM keeps at most 24,000 characters). */
    truncated?: boolean;
}

export interface RunOptions {
    /** Kill the command and fail after this many seconds. */
    timeoutS?: number;
    /** Called for every complete output line as it arrives (progress output). */
    onLine?: (line: string, stream: "stdout" | "stderr") => void;
}

export interface Remote {
    /** Runs one shell command (bash -c semantics) and resolves with its exit code and output; never rejects for a non-zero exit. */
    run(command: string, opts?: RunOptions): Promise<CommandResult>;
    /** Where commands run, for messages: "ssh deploy@10.0.1.5:22", "ssm i-0abc", "local /srv/app". */
    describe(): string;
    close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// The remote phase: checkout, install, classify migrations, migrate, collectstatic, switch,
// restart, local health check, on the management instance.

/** django-migration-linter's codes for operations that break the old code still serving. */
export type BreakingCode =
    | "NOT_NULL"
    | "DROP_COLUMN"
    | "DROP_TABLE"
    | "RENAME_COLUMN"
    | "RENAME_TABLE"
    | "ALTER_COLUMN"
    | "ADD_UNIQUE";

export type MigrationSafety = "safe" | "breaking" | "unknown";

export interface MigrationOperation {
    app: string;
    migration: string;
    /** Django's operation class name: AddField, RenameField, RunPython, ... */
    operation: string;
    /** Human-readable: "Add field nickname to author". */
    description: string;
    /** The linter code when breaking, null otherwise. */
    code: BreakingCode | null;
    safety: MigrationSafety;
}

export interface MigrationReport {
    /** Every operation of every pending migration, in the order they would be applied. */
    operations: MigrationOperation[];
    /** The worst safety found: "none" when nothing is pending. */
    verdict: "none" | "safe" | "breaking" | "unknown";
}

/**
 * What to do with breaking or unknown migrations:
 *  - refuse: fail before anything is applied (default);
 *  - maintenance: the site shows the maintenance page while the new version goes out;
 *  - allow: apply them with the old version still serving (the operator vouches for it).
 */
export type MigrationPolicy = import("../../settings/schema").MigrationPolicy;

export interface RemoteInspection {
    /** The version the management instance's `current` link points at, null on a fresh instance. */
    currentVersion: string | null;
    /** The commit the requested version resolves to. */
    commit: string;
    /** Pending migrations of the requested version against the live database. */
    migrations: MigrationReport;
}

export interface RemotePhaseResult {
    version: string;
    commit: string;
    previousVersion: string | null;
    migrations: MigrationReport;
    /** URL paths (under STATIC_URL, e.g. "/static/robots.txt") of non-hashed files whose content changed. */
    changedStaticPaths: string[];
    durationS: number;
}

export interface PhaseOptions {
    migrationPolicy: MigrationPolicy;
    /** Progress output, one line at a time. */
    log: (line: string) => void;
}

export interface RemotePhase {
    /** Read-only as far as serving goes: resolves the version and classifies its pending migrations. */
    inspect(version: string, log?: (line: string) => void): Promise<RemoteInspection>;
    /** Runs the whole phase; rejects with RemotePhaseError naming the failed step and its stderr. */
    apply(version: string, opts: PhaseOptions): Promise<RemotePhaseResult>;
    /** Points `current` back at a kept release directory and restarts the app server (rollback). */
    revert(version: string, log?: (line: string) => void): Promise<void>;
    close(): Promise<void>;
}

export class RemotePhaseError extends Error {
    constructor(
        message: string,
        /** The step that failed: "checkout", "install", "migrations", "migrate", "collectstatic", "switch", "restart", "health". */
        readonly step: string,
        readonly stderr: string = "",
    ) {
        super(message);
        this.name = "RemotePhaseError";
    }
}

// ---------------------------------------------------------------------------------------
// Cloud: images, launch templates, the auto-scaling group, the target group, the listener
// and the CDN. Every method is one documented API action (or a short, documented sequence).

export type LifecycleState =
    | "Pending"
    | "Pending:Wait"
    | "Pending:Proceed"
    | "InService"
    | "Standby"
    | "Terminating"
    | "Terminating:Wait"
    | "Terminating:Proceed"
    | "Terminated"
    | "Detaching"
    | "Detached"
    | "EnteringStandby";

export interface GroupInstance {
    instanceId: string;
    lifecycleState: LifecycleState | string;
    healthStatus: "Healthy" | "Unhealthy" | string;
    /** The launch template version the instance was launched from, when known. */
    launchTemplateVersion: string | null;
    protectedFromScaleIn: boolean;
    availabilityZone?: string;
}

export interface GroupState {
    name: string;
    minSize: number;
    maxSize: number;
    desiredCapacity: number;
    instances: GroupInstance[];
    suspendedProcesses: string[];
    tags: Record<string, string>;
    launchTemplate: { id: string; version: string } | null;
}

export type TargetHealthState = "initial" | "healthy" | "unhealthy" | "unused" | "draining" | "unavailable";

export interface LaunchTemplateState {
    id: string;
    defaultVersion: number;
    latestVersion: number;
}

export interface ImageState {
    imageId: string;
    state: "pending" | "available" | "invalid" | "deregistered" | "transient" | "failed" | "error" | string;
    name: string;
    tags: Record<string, string>;
    snapshotIds: string[];
    creationDate?: string;
}

/** Marks the maintenance page's body, so a later run can find a rule a killed run left behind. */
export const MAINTENANCE_MARKER = "<!-- release:maintenance -->";

/** The target group's timings: read from it (describeTargetGroup), or the Release's `targetGroupTimings` input (timings.ts). */
export interface TargetGroupTimings {
    deregistrationDelayS: number;
    healthCheckIntervalS: number;
    healthyThreshold: number;
}

/**
 * The poll period of the adapters' waiters (waitForImage, waitForInvalidation): a time-out given to
 * a waiter must be longer than it (the SDK's waiters refuse maxWaitTime <= minDelay).
 */
export const WAITER_POLL_S = { image: 20, invalidation: 20 };

/**
 * A launch template version's full LaunchTemplateData, as DescribeLaunchTemplateVersions answers
 * it (field names as in the EC2 API). Versions are immutable: a read stays exact.
 */
export type LaunchTemplateData = Record<string, unknown>;

export interface TemplateVersionInfo {
    version: number;
    /** VersionDescription: a release writes "release <version> (base vN)". */
    description: string | null;
    isDefault: boolean;
    /** The version's ImageId. */
    imageId: string | null;
    /** The version's full data (its ImageId included). */
    data: LaunchTemplateData;
}

/**
 * Every adapter implements all of it (no optional member): the AWS SDK adapter, the local
 * rehearsal cloud and, behind the AWS adapter, the simulated AWS of the tests.
 */
export interface Cloud {
    describeGroup(groupName: string): Promise<GroupState>;
    setGroupTag(groupName: string, key: string, value: string): Promise<void>;
    deleteGroupTag(groupName: string, key: string): Promise<void>;
    /** Several tags removed in one autoscaling:DeleteTags call (absent keys are no error). */
    deleteGroupTags(groupName: string, keys: string[]): Promise<void>;
    updateGroupSize(groupName: string, size: { minSize?: number; maxSize?: number; desiredCapacity?: number }): Promise<void>;
    suspendProcesses(groupName: string, processes: string[]): Promise<void>;
    resumeProcesses(groupName: string, processes: string[]): Promise<void>;
    /** TerminateInstanceInAutoScalingGroup. */
    terminateInstance(instanceId: string, decrementDesiredCapacity: boolean): Promise<void>;
    /**
     * The status message of the group's latest failed or cancelled scaling activity since
     * `sinceMs` (DescribeScalingActivities), to say why instances did not launch.
     */
    lastScalingFailure(groupName: string, sinceMs: number): Promise<string | null>;

    createImage(instanceId: string, name: string, tags: Record<string, string>): Promise<string>;
    /** Waits (SDK waiter) until the image is available; rejects when it fails or the time runs out. `timeoutS` > WAITER_POLL_S.image. */
    waitForImage(imageId: string, timeoutS: number): Promise<void>;
    describeImages(filter: { imageIds?: string[]; tags?: Record<string, string> }): Promise<ImageState[]>;
    /** Deregisters the image and deletes its snapshots. */
    deleteImage(imageId: string): Promise<void>;

    describeLaunchTemplate(launchTemplateId: string): Promise<LaunchTemplateState>;
    /**
     * A new version with the full data of baseVersion and only ImageId changed; resolves with its
     * number. `clientToken` makes it idempotent: a repeat with the same token returns the same version.
     * `baseData`: baseVersion's data as this run already read it (describeTemplateVersions); versions
     * are immutable, so it is used as is instead of being read again. Without it, it is read.
     */
    createLaunchTemplateVersion(launchTemplateId: string, baseVersion: number, imageId: string, description: string, clientToken: string, baseData?: LaunchTemplateData): Promise<number>;
    setDefaultLaunchTemplateVersion(launchTemplateId: string, version: number): Promise<void>;
    /** Versions ("3", "$Default", "$Latest") with their descriptions, so the provider recognises its own. */
    describeTemplateVersions(launchTemplateId: string, versions: string[]): Promise<TemplateVersionInfo[]>;
    /** The ImageId of the live default version: pruning never deregisters it. */
    defaultTemplateImageId(launchTemplateId: string): Promise<string | null>;

    describeTargetHealth(targetGroupArn: string): Promise<Record<string, TargetHealthState>>;
    deregisterTargets(targetGroupArn: string, instanceIds: string[]): Promise<void>;
    /** RegisterTargets: a rollback puts back an old instance it had deregistered. */
    registerTargets(targetGroupArn: string, instanceIds: string[]): Promise<void>;
    /**
     * DescribeTargetGroupAttributes: the deregistration delay. A release with the
     * `targetGroupTimings` input calls it only when a target is still draining past the given delay.
     */
    deregistrationDelayS(targetGroupArn: string): Promise<number>;
    /**
     * The target group's health-check timings and deregistration delay (DescribeTargetGroups +
     * DescribeTargetGroupAttributes). Called only when the Release has no `targetGroupTimings` input.
     */
    describeTargetGroup(targetGroupArn: string): Promise<TargetGroupTimings>;

    /** Adds a highest-priority fixed-response 503 rule (the maintenance page); resolves with its ARN. */
    addMaintenanceRule(listenerArn: string, html: string): Promise<string>;
    removeMaintenanceRule(ruleArn: string): Promise<void>;
    /**
     * ARNs of maintenance rules this engine added to the listener (recognised by MAINTENANCE_MARKER
     * in the fixed-response body), so a run that takes over from a killed one can remove a
     * maintenance page the dead run left on.
     */
    findMaintenanceRules(listenerArn: string): Promise<string[]>;

    /** Creates an invalidation; resolves with its id. */
    createInvalidation(distributionId: string, paths: string[], callerReference: string): Promise<string>;
    waitForInvalidation(distributionId: string, invalidationId: string, timeoutS: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Clock: real time, or a virtual clock in the simulated-cloud tests.

export interface Clock {
    /** Milliseconds since the epoch. */
    now(): number;
    sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

// ---------------------------------------------------------------------------------------
// Settings of the remote phase, as the Release resource receives them (plain data: they are
// stored in the resource's state, so the SSH private key travels as a Pulumi secret input).

export interface SshSettings {
    host: string;
    /** @default 22 */
    port?: number;
    /** @default "deploy" */
    user?: string;
    /** The private key (PEM/OpenSSH). A Pulumi secret. */
    privateKey: string;
    /** The server's host key, pinned: "SHA256:..." as `ssh-keygen -lf` prints it. A mismatch is refused. */
    hostKeySha256: string;
}

export interface RemoteSettings {
    /** How commands reach the management instance. @default "ssm" */
    transport: import("../../settings/schema").Transport | "local";
    /** Required for "ssh". */
    ssh?: SshSettings;
    /** For "ssm": the AWS region of the management instance. */
    region?: string;
    /** For "ssm": the management instance id. */
    instanceId?: string;
    /** The app's git repository URL. */
    repositoryUrl: string;
    /** Root of the app on the management instance: releases/<version>, current -> releases/<version>. @default "/srv/app" */
    appDir?: string;
    /** The shared static root (EFS mount). @default "/srv/static" */
    staticRoot?: string;
    /** STATIC_URL of the app. @default "/static/" */
    staticUrl?: string;
    /** The Python interpreter that creates each release's virtualenv. @default "python3" */
    python?: string;
    /** Installs requirements into the release virtualenv; run inside the release directory. @default "venv/bin/pip install -r requirements.txt" */
    installCommand?: string;
    /**
     * Restarts the management instance's app server on the new release. A full restart: it serves
     * no visitor, and a HUP would keep the master's interpreter (the previous release's
     * virtualenv). @default "sudo systemctl restart django-app" (remote/commands.ts resolveSettings)
     */
    restartCommand?: string;
    /** The management instance's local health URL. @default "http://127.0.0.1:8000/health/" */
    healthUrl?: string;
    /** Django settings module, when not the app's default. */
    settingsModule?: string;
    /** Release directories kept on the instance (current and previous always kept). @default 5 */
    keepReleases?: number;
    /** Per-command time-out in seconds. @default 900 */
    commandTimeoutS?: number;
}
