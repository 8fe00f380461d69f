/**
 * The Release's inputs: their types, their defaults and `normalizeInputs`, which applies the
 * defaults and validates (every bad input is reported with the setting's name and value, before
 * anything changes in the cloud). Pure: no I/O. The plan built from these inputs is planner.ts's.
 */
import { versionProblem } from "./version";
// The settings' single source: the defaults, bounds and enums of the Release's inputs come from
// the stack settings they are configured by (pure data and parsers, serialized with the provider).
import { MAX_SURGE_COUNT, MIGRATION_POLICIES, PROJECT_DEFAULTS, RELEASE_DEFAULTS, TRANSPORTS } from "../../settings/schema";
import { parseSurge, surgeCount } from "../../settings/grammar";
import type { MigrationPolicy, RemoteSettings, TargetGroupTimings } from "./ports";
import { WAITER_POLL_S } from "./ports";
import { parseTargetGroupTimings } from "./timings";

export interface Capacity {
    minSize: number;
    maxSize: number;
    desiredCapacity: number;
}

export interface RolloutOptions {
    /** New instances launched per wave: a count, or a percentage of desired capacity ("25%", "12.5%"); settings/grammar.ts parseSurge. @default release:maxSurge's default */
    maxSurge: number | string;
    /** Time allowed for the AMI to become available. @default release:bakeTimeout's default */
    bakeTimeoutS: number;
    /** Time allowed for a wave's new instances to be InService and healthy in the target group. @default release:healthyTimeout's default */
    healthyTimeoutS: number;
    /** Time allowed for deregistered instances to finish draining (beyond the deregistration delay). @default release:drainTimeout's default */
    drainTimeoutS: number;
    /** Lifetime of the deploy lock; refreshed every third of it while the release runs. @default DEFAULT_ROLLOUT.lockTtlS */
    lockTtlS: number;
    /** Poll interval while waiting for instances. @default DEFAULT_ROLLOUT.pollIntervalS */
    pollIntervalS: number;
}

/** The Release's inputs with defaults applied (what the provider stores). */
export interface ReleaseInputs {
    version: string;
    baseLaunchTemplateId: string;
    baseLaunchTemplateVersion: number;
    autoScalingGroupName: string;
    targetGroupArn: string;
    listenerArn: string;
    managementInstanceId: string;
    distributionId: string;
    region: string;
    capacity: Capacity;
    remote: RemoteSettings;
    rollout: RolloutOptions;
    migrationPolicy: MigrationPolicy;
    keepImages: number;
    providerVersion: string;
    /** The target group's timings as the program knows them (./timings.ts); absent: the run reads the target group. */
    targetGroupTimings?: TargetGroupTimings;
}

/** The rollout's defaults: the release:* settings' defaults, and two knobs that are no setting. */
export const DEFAULT_ROLLOUT: RolloutOptions = {
    maxSurge: RELEASE_DEFAULTS.maxSurge,
    bakeTimeoutS: RELEASE_DEFAULTS.bakeTimeout,
    healthyTimeoutS: RELEASE_DEFAULTS.healthyTimeout,
    drainTimeoutS: RELEASE_DEFAULTS.drainTimeout,
    lockTtlS: 1800,
    pollIntervalS: 10,
};

/** The first look at a new image comes at this share of the last bake's duration. */
export const BAKE_FIRST_LOOK = 0.8;

/**
 * The bake's time budget: no look at the image during its first quarter (at most 180 s: an
 * EBS-backed image takes minutes), then the image waiter gets the rest. When the last bake took
 * `lastBakeS`, the first look comes at BAKE_FIRST_LOOK of it instead, but never later than twice
 * that default (a bake much faster than the last one is seen at most that much later), and
 * leaving the waiter at least two polls; and a second look (`secondS`) comes when the last bake
 * ended (never later than the first look / BAKE_FIRST_LOOK), before the waiter polls again: a bake
 * as long as the last one is seen with two looks. The trade-off: a bake that is faster than the
 * last one, but by less than a fifth, is seen at the second look (at most a fifth of the last bake
 * later than polling would have seen it). Here with the inputs because normalizeInputs bounds
 * rollout.bakeTimeoutS by it; engine/steps/bake.ts runs it.
 */
export function bakeWaitSplit(bakeTimeoutS: number, lastBakeS?: number): { headS: number; secondS?: number; waiterS: number } {
    const defaultHeadS = Math.min(180, bakeTimeoutS / 4);
    const lastS = bakeTimeoutS - 2 * WAITER_POLL_S.image;
    if (lastBakeS === undefined || !Number.isFinite(lastBakeS) || lastBakeS <= 0) return { headS: defaultHeadS, waiterS: bakeTimeoutS - defaultHeadS };
    const headS = Math.max(0, Math.min(Math.round(BAKE_FIRST_LOOK * lastBakeS), 2 * defaultHeadS, lastS));
    const secondS = Math.min(Math.round(lastBakeS), Math.round(headS / BAKE_FIRST_LOOK), lastS);
    // A second look closer than a poll to the first is the waiter's own.
    if (secondS < headS + WAITER_POLL_S.image) return { headS, waiterS: bakeTimeoutS - headS };
    return { headS, secondS, waiterS: bakeTimeoutS - secondS };
}

/** The shortest lock TTL: refreshed every third of it, a refresh must survive a full retry sequence. */
export const MIN_LOCK_TTL_S = 180;

// ---------------------------------------------------------------------------------------
// Validation: every bad input is reported with the setting's name and value, before anything
// changes in the cloud.

/** A git tag, branch or sha usable as a release: the one rule of ./version.ts, shared with config.ts and the remote phase. */
export function isValidVersion(v: unknown): v is string {
    return typeof v === "string" && versionProblem(v) === null;
}

export interface InputFailure {
    property: string;
    reason: string;
}

/** The one maxSurge grammar (settings/grammar.ts), with release:maxSurge's bound. */
export const parseMaxSurge = (v: unknown) => parseSurge(v, MAX_SURGE_COUNT);

/** Resolves maxSurge ("25%" or a count) against a desired capacity; at least 1 (a refused value: 1). */
export function resolveSurge(maxSurge: number | string, desired: number): number {
    const s = parseMaxSurge(maxSurge);
    return "ok" in s ? surgeCount(s.ok, desired) : 1;
}

const nonEmpty = (v: unknown) => typeof v === "string" && v.length > 0;
const q = (v: unknown) => JSON.stringify(v);

/**
 * Applies defaults and validates. `raw` is what Pulumi passes (plain JSON); unknown values
 * (preview of a new stack) are accepted where isUnknown says so.
 */
export function normalizeInputs(
    raw: any,
    isUnknown: (v: unknown) => boolean = () => false,
): { inputs: ReleaseInputs; failures: InputFailure[] } {
    const failures: InputFailure[] = [];
    const fail = (property: string, reason: string) => failures.push({ property, reason });
    const r = raw ?? {};
    const rollout: RolloutOptions = { ...DEFAULT_ROLLOUT };
    for (const [k, v] of Object.entries(r.rollout ?? {})) {
        if (v !== undefined && v !== null) (rollout as any)[k] = v;
    }
    const capacity: Capacity = {
        minSize: Number(r.capacity?.minSize ?? PROJECT_DEFAULTS.minSize),
        maxSize: Number(r.capacity?.maxSize ?? PROJECT_DEFAULTS.maxSize),
        desiredCapacity: Number(r.capacity?.desiredCapacity ?? PROJECT_DEFAULTS.desiredCapacity),
    };
    const inputs: ReleaseInputs = {
        version: r.version,
        baseLaunchTemplateId: r.baseLaunchTemplateId,
        baseLaunchTemplateVersion: isUnknown(r.baseLaunchTemplateVersion) ? r.baseLaunchTemplateVersion : Number(r.baseLaunchTemplateVersion),
        autoScalingGroupName: r.autoScalingGroupName,
        targetGroupArn: r.targetGroupArn,
        listenerArn: r.listenerArn,
        managementInstanceId: r.managementInstanceId,
        distributionId: r.distributionId,
        region: r.region,
        capacity,
        remote: r.remote,
        rollout,
        migrationPolicy: r.migrationPolicy ?? RELEASE_DEFAULTS.migrationPolicy,
        keepImages: r.keepImages === undefined || r.keepImages === null ? RELEASE_DEFAULTS.keepImages : Number(r.keepImages),
        providerVersion: String(r.providerVersion ?? "1"),
    };
    const timings = parseTargetGroupTimings(r.targetGroupTimings, isUnknown, fail);
    if (timings) inputs.targetGroupTimings = timings;

    if (!isUnknown(r.version) && !isValidVersion(r.version)) {
        fail("version", `version ${q(r.version)} is not a git tag, branch or sha fit for a release: it ${typeof r.version === "string" ? versionProblem(r.version) : "is not a string"}`);
    }
    for (const k of ["baseLaunchTemplateId", "autoScalingGroupName", "targetGroupArn", "listenerArn", "managementInstanceId", "distributionId", "region"] as const) {
        if (!isUnknown(r[k]) && !nonEmpty(r[k])) fail(k, `${k} must be a non-empty string, got ${q(r[k])}`);
    }
    if (!isUnknown(r.baseLaunchTemplateVersion) && !(Number.isInteger(inputs.baseLaunchTemplateVersion) && inputs.baseLaunchTemplateVersion >= 1)) {
        fail("baseLaunchTemplateVersion", `baseLaunchTemplateVersion must be a launch template version number >= 1, got ${q(r.baseLaunchTemplateVersion)}`);
    }
    const c = capacity;
    for (const k of ["minSize", "maxSize", "desiredCapacity"] as const) {
        if (!Number.isInteger(c[k]) || c[k] < 0) fail(`capacity.${k}`, `capacity.${k} must be an integer >= 0, got ${q(r.capacity?.[k])}`);
    }
    if (c.minSize > c.maxSize) fail("capacity", `capacity.minSize (${c.minSize}) should be <= capacity.maxSize (${c.maxSize})`);
    if (c.desiredCapacity < c.minSize || c.desiredCapacity > c.maxSize) {
        fail("capacity", `capacity.desiredCapacity (${c.desiredCapacity}) should be between minSize (${c.minSize}) and maxSize (${c.maxSize})`);
    }
    const surge = parseMaxSurge(rollout.maxSurge);
    if ("error" in surge) fail("rollout.maxSurge", `rollout.maxSurge ${q(rollout.maxSurge)} ${surge.error}`);
    for (const k of ["bakeTimeoutS", "healthyTimeoutS", "drainTimeoutS", "lockTtlS", "pollIntervalS"] as const) {
        const v = (rollout as any)[k];
        if (typeof v !== "number" || !(v > 0)) fail(`rollout.${k}`, `rollout.${k} must be a number of seconds > 0, got ${q(v)}`);
    }
    // Each number against what it feeds (only when each is a valid number on its own).
    const num = (v: unknown): v is number => typeof v === "number" && v > 0;
    if (num(rollout.bakeTimeoutS) && bakeWaitSplit(rollout.bakeTimeoutS).waiterS < 2 * WAITER_POLL_S.image) {
        fail("rollout.bakeTimeoutS", `rollout.bakeTimeoutS must leave the image waiter (3/4 of it) at least two of its ${WAITER_POLL_S.image} s polls, so at least ${Math.ceil((8 * WAITER_POLL_S.image) / 3)}; got ${q(rollout.bakeTimeoutS)}`);
    }
    if (num(rollout.pollIntervalS) && num(rollout.healthyTimeoutS) && rollout.pollIntervalS >= rollout.healthyTimeoutS) {
        fail("rollout.pollIntervalS", `rollout.pollIntervalS (${rollout.pollIntervalS}) must be shorter than rollout.healthyTimeoutS (${rollout.healthyTimeoutS}): the wait would look once at most`);
    }
    if (num(rollout.lockTtlS) && rollout.lockTtlS < MIN_LOCK_TTL_S) {
        fail("rollout.lockTtlS", `rollout.lockTtlS must be at least ${MIN_LOCK_TTL_S} (refreshed every third of it, a refresh must outlast the API's retries); got ${q(rollout.lockTtlS)}`);
    }
    const policies: readonly string[] = MIGRATION_POLICIES;
    if (!policies.includes(inputs.migrationPolicy)) {
        fail("migrationPolicy", `migrationPolicy must be one of ${policies.join(", ")}, got ${q(r.migrationPolicy)}`);
    }
    if (!Number.isInteger(inputs.keepImages) || inputs.keepImages < 1) fail("keepImages", `keepImages must be an integer >= 1, got ${q(r.keepImages)}`);
    if (!isUnknown(r.remote)) {
        const rm = r.remote;
        if (!rm || typeof rm !== "object") fail("remote", `remote settings are required, got ${q(rm)}`);
        else {
            const t = rm.transport ?? RELEASE_DEFAULTS.transport;
            // "local" (the rehearsal's) is a transport of the Release only, not a stack setting.
            const transports: string[] = [...TRANSPORTS, "local"];
            if (!transports.includes(t)) fail("remote.transport", `remote.transport must be one of ${transports.join(", ")}, got ${q(rm.transport)}`);
            if (t === "ssh" && (!rm.ssh || !rm.ssh.host || !rm.ssh.hostKeySha256)) {
                fail("remote.ssh", "remote.ssh needs host, privateKey and hostKeySha256 when remote.transport is \"ssh\"");
            }
            if (!isUnknown(rm.repositoryUrl) && !nonEmpty(rm.repositoryUrl)) fail("remote.repositoryUrl", `remote.repositoryUrl must be a non-empty string, got ${q(rm.repositoryUrl)}`);
        }
    }
    return { inputs, failures };
}
