/**
 * The release planner: pure functions from (inputs, what the fleet runs, the live cloud) to an
 * ordered list of steps with estimates and the human-readable plan text that `pulumi preview
 * --diff` shows. No I/O here: the provider gathers the live view, the executor runs the steps.
 *
 * Capacity ownership (agreed with the stack; see README):
 *  - Pulumi creates the ASG with minSize 0, desiredCapacity 0, maxSize from config and launch
 *    template version `$Default`, and ignores minSize / desiredCapacity / the template version.
 *  - The Release owns min and desired. The first release (group at 0 with no instances) bakes,
 *    makes its template version the default, then brings the group to the configured
 *    min/max/desired on the release's AMI: no ramp, there is nothing old to replace.
 *  - Later releases restore desired and max exactly as they found them at the ramp's start, so
 *    any autoscaling that happened before the release is respected (a scaling change observed
 *    during the ramp is adopted too, see executor.ts).
 *  - A change of the configured capacity alone is applied by the Release without a ramp.
 */
import { PROJECT_DEFAULTS } from "../../settings/schema";
import type { Capacity, ReleaseInputs } from "./inputs";
import { resolveSurge } from "./inputs";
import type { GroupInstance, GroupState, LaunchTemplateState, MigrationPolicy, MigrationReport, TargetGroupTimings } from "./ports";

/** What the fleet runs after the last successful release (kept in the resource state). */
export interface Deployed {
    version: string;
    amiId: string;
    baseLaunchTemplateVersion: number;
    launchTemplateVersion: number;
    capacity: Capacity;
    /** How long the last bake took (s), from CreateImage to available: when the next bake looks first. */
    bakeS?: number;
}

/** The live cloud as the planner sees it; everything optional (preview may have no access). */
export interface LiveView {
    group?: GroupState;
    template?: LaunchTemplateState;
    timings?: TargetGroupTimings;
    migrations?: MigrationReport;
    /** Why the live view is incomplete (no credentials, unknown ids in a first preview, ...). */
    note?: string;
    /** An earlier run of this Release that did not finish: the plan says what the re-run does. */
    unfinished?: UnfinishedRun;
    /** Set when the requested base template version is one the Release created itself (see resolveBase). */
    ownBase?: { requested: number; effective: number };
}

/**
 * An earlier run that did not succeed, as the resource state (status/progress) or the group's
 * tags (a killed run) describe it.
 */
export interface UnfinishedRun {
    version: string;
    /** rolled-back / failed: the next run retries; in-progress: it resumes. */
    state: "rolled-back" | "failed" | "in-progress";
    reason?: string | null;
    /** For a resume: the steps already done and the next one. */
    done?: string[];
    next?: string | null;
    /** Instances replaced so far and instances still on another version (resume mid-ramp). */
    replaced?: number;
    remaining?: number;
    surge?: number;
    amiId?: string;
    launchTemplateVersion?: number;
}

/** The line that heads the plan of a re-run. */
export function rerunLine(u: UnfinishedRun): string {
    if (u.state !== "in-progress") return `retry release ${u.version} after: ${u.reason ?? u.state}`;
    let at = u.next ? ` from step ${u.next}` : "";
    if (u.next === "ramp" && u.replaced !== undefined && u.remaining !== undefined && u.surge) {
        const doneW = Math.ceil(u.replaced / u.surge);
        const total = doneW + Math.ceil(u.remaining / u.surge);
        if (u.remaining > 0) at += ` (wave ${doneW + 1} of ${total})`;
    }
    const kept = [u.amiId ? `AMI ${u.amiId}` : "", u.launchTemplateVersion ? `launch template v${u.launchTemplateVersion}` : ""].filter(Boolean).join(", ");
    if (u.reason) at += ` (stopped: ${u.reason})`;
    return `resume release ${u.version}${at}${u.done?.length ? `; done: ${u.done.join(", ")}` : ""}${kept ? `; kept: ${kept}` : ""}`;
}

/**
 * Launch template versions the Release created (it records them in its state: `deployed`,
 * `history`, `progress` and `templateVersionsCreated`).
 */
export function ownTemplateVersions(state: any): number[] {
    const s = state ?? {};
    const out = new Set<number>();
    const add = (v: unknown) => {
        const n = Number(v);
        if (Number.isInteger(n) && n > 0) out.add(n);
    };
    for (const v of Array.isArray(s.templateVersionsCreated) ? s.templateVersionsCreated : []) add(v);
    add(s.deployed?.launchTemplateVersion);
    add(s.progress?.launchTemplateVersion);
    for (const h of Array.isArray(s.history) ? s.history : []) add(h?.launchTemplateVersion);
    // The first release's "previous" version is the Pulumi base, never one of ours: not added.
    return [...out].sort((a, b) => a - b);
}

/** The marker in the VersionDescription of every launch template version a release creates. */
export const RELEASE_VERSION_DESCRIPTION = /^release (\S+) \(base v(\d+)\)$/;

export function releaseVersionDescription(version: string, base: number): string {
    return `release ${version} (base v${base})`.slice(0, 255);
}

/**
 * The base launch template version a run builds on. The stack passes the Pulumi template's
 * `latestVersion`; after a release, `pulumi refresh` reads it back from AWS as the release's own
 * last version. A version the Release created is not a base change: the base stays the one the
 * fleet was released on (`deployed.baseLaunchTemplateVersion`, else `fallback`).
 */
export function resolveBase(requested: number, own: number[], deployed: Deployed | null, fallback?: number): { base: number; own: boolean } {
    if (!Number.isInteger(requested) || !own.includes(requested)) return { base: requested, own: false };
    const base = deployed?.baseLaunchTemplateVersion ?? fallback;
    if (base === undefined || !Number.isInteger(base) || own.includes(base)) return { base: deployed?.baseLaunchTemplateVersion ?? requested, own: true };
    return { base, own: true };
}

export type PlanKind = "first" | "release" | "template" | "capacity" | "none";

export type StepName =
    | "lock"
    | "maintenance-on"
    | "remote"
    | "bake"
    | "template"
    | "scale-out"
    | "ramp"
    | "capacity"
    | "maintenance-off"
    | "invalidate"
    | "prune"
    | "unlock";

export interface PlannedStep {
    name: StepName;
    detail: string;
    estimateS: number;
}

export interface Plan {
    kind: PlanKind;
    steps: PlannedStep[];
    /** Instances the ramp replaces (0 without a ramp). */
    replace: number;
    surge: number;
    waves: number;
    maintenance: boolean;
    estimateS: number;
    /** Reasons the release cannot run (each names the setting or the instance). */
    refusals: string[];
    warnings: string[];
    text: string;
}

/** Typical durations used by the estimate when the live view does not say. */
export const ESTIMATES = {
    remoteS: 180,
    bakeS: 300,
    bootS: 60,
    // The stack's own target-group settings (settings/schema.ts) when the live view does not say.
    healthCheckIntervalS: PROJECT_DEFAULTS.healthCheckInterval,
    healthyThreshold: PROJECT_DEFAULTS.healthyThreshold,
    deregistrationDelayS: PROJECT_DEFAULTS.deregistrationDelay,
    invalidationS: 60,
};

// ---------------------------------------------------------------------------------------
// Planning.

const LEAVING = new Set(["Terminating", "Terminating:Wait", "Terminating:Proceed", "Terminated", "Detaching", "Detached"]);

/** Instances that count as part of the fleet (not leaving it). */
export function liveInstances(group: GroupState): GroupInstance[] {
    return group.instances.filter((i) => !LEAVING.has(i.lifecycleState));
}

export function capacityEquals(a: Capacity | undefined, b: Capacity): boolean {
    return !!a && a.minSize === b.minSize && a.maxSize === b.maxSize && a.desiredCapacity === b.desiredCapacity;
}

/** Decides the kind of release from inputs and what the fleet runs. */
export function planKind(inputs: ReleaseInputs, deployed: Deployed | null, group?: GroupState): PlanKind {
    if (!deployed) {
        if (!group) return "first";
        return group.desiredCapacity === 0 && liveInstances(group).length === 0 ? "first" : "release";
    }
    if (deployed.version !== inputs.version) return "release";
    if (deployed.baseLaunchTemplateVersion !== inputs.baseLaunchTemplateVersion) return "template";
    if (!capacityEquals(deployed.capacity, inputs.capacity)) return "capacity";
    return "none";
}

export function needsMaintenance(policy: MigrationPolicy, migrations?: MigrationReport): boolean {
    return policy === "maintenance" && !!migrations && (migrations.verdict === "breaking" || migrations.verdict === "unknown");
}

/**
 * The point of no return: applying breaking or unknown migrations (policy maintenance or allow)
 * puts the schema ahead of the old code, so a later failure cannot put the old code back.
 */
export function schemaAheadAfterApply(verdict: string | undefined, policy: MigrationPolicy): boolean {
    return policy !== "refuse" && (verdict === "breaking" || verdict === "unknown");
}

export function fmtDuration(s: number): string {
    if (s < 90) return `${Math.round(s)} s`;
    return `${Math.round(s / 60)} min`;
}

/**
 * The blocking operations under their own headings, each with its code:
 * `breaking: app.0003_x: RenameField (...) [RENAME_COLUMN]; unknown: app.0004_y: RunPython (...) [UNKNOWN]`.
 */
export function migrationHeadings(operations: MigrationReport["operations"]): string {
    const under = (safety: "breaking" | "unknown") =>
        operations
            .filter((o) => o.safety === safety)
            .map((o) => `${o.app}.${o.migration}: ${o.operation} (${o.description}) [${o.code ?? safety.toUpperCase()}]`);
    return (["breaking", "unknown"] as const)
        .filter((safety) => under(safety).length > 0)
        .map((safety) => `${safety}: ${under(safety).join(", ")}`)
        .join("; ");
}

export function plan(inputs: ReleaseInputs, deployed: Deployed | null, live: LiveView = {}): Plan {
    const kind = planKind(inputs, deployed, live.group);
    const refusals: string[] = [];
    const warnings: string[] = [];
    const t = live.timings ?? {
        deregistrationDelayS: ESTIMATES.deregistrationDelayS,
        healthCheckIntervalS: ESTIMATES.healthCheckIntervalS,
        healthyThreshold: ESTIMATES.healthyThreshold,
    };
    const waveS = ESTIMATES.bootS + t.healthyThreshold * t.healthCheckIntervalS + t.deregistrationDelayS;
    const steps: PlannedStep[] = [];
    const add = (name: StepName, detail: string, estimateS = 0) => steps.push({ name, detail, estimateS });
    const group = live.group;
    const lt = live.template;
    const ltId = inputs.baseLaunchTemplateId;
    const fromV = lt ? `v${lt.defaultVersion}` : deployed ? `v${deployed.launchTemplateVersion}` : "v?";
    const toV = lt ? `v${lt.latestVersion + 1}` : "v(next)";

    const instances = group ? liveInstances(group) : [];
    const standby = instances.filter((i) => i.lifecycleState === "Standby" || i.lifecycleState === "EnteringStandby");
    const desired = group ? group.desiredCapacity : deployed ? deployed.capacity.desiredCapacity : inputs.capacity.desiredCapacity;
    const surge = resolveSurge(inputs.rollout.maxSurge, Math.max(desired, 1));
    let replace = 0;
    let waves = 0;
    const maintenance = kind === "release" && needsMaintenance(inputs.migrationPolicy, live.migrations);

    if (kind === "release" || kind === "first") {
        const m = live.migrations;
        if (m && (m.verdict === "breaking" || m.verdict === "unknown") && inputs.migrationPolicy === "refuse" && kind === "release") {
            refusals.push(
                `version ${inputs.version} has migrations the old code still serving may not survive, and migrationPolicy is "refuse": ` +
                    `${migrationHeadings(m.operations)}; ` +
                    `set migrationPolicy to "maintenance" (503 page during the release) or "allow" (you vouch the old code copes)`,
            );
        }
    }
    if (standby.length > 0 && (kind === "release" || kind === "template")) {
        refusals.push(
            `instances ${standby.map((i) => i.instanceId).join(", ")} of group ${inputs.autoScalingGroupName} are in Standby: ` +
                `they would return to service on the old version after the release. Exit standby (or terminate them) and re-run`,
        );
    }

    if (kind !== "none") add("lock", `deploy lock on ${inputs.autoScalingGroupName} (tag release:lock, ttl ${inputs.rollout.lockTtlS} s)`);
    if (maintenance) add("maintenance-on", `maintenance page on ${inputs.listenerArn} (highest-priority fixed-response 503) for breaking migrations`);
    if (kind === "release" || kind === "first") {
        const m = live.migrations;
        const migr = !m
            ? "migrations: classified on the management instance"
            : m.verdict === "none"
              ? "no pending migrations"
              : `${m.operations.length} migration operation(s), ${m.verdict}${m.verdict !== "safe" ? ` (policy ${inputs.migrationPolicy})` : ""}`;
        const noReturn =
            kind === "release" && schemaAheadAfterApply(m?.verdict, inputs.migrationPolicy)
                ? `; POINT OF NO RETURN: once these migrations are applied the schema is ahead of ${deployed?.version ?? "the old code"}, and a later failure leaves the new version in place${maintenance ? " behind the maintenance page" : ""} instead of rolling back`
                : "";
        add("remote", `remote phase ${deployed ? deployed.version + " -> " : ""}${inputs.version} on ${inputs.managementInstanceId}: checkout, install, ${migr}, migrate, collectstatic, restart, health check${noReturn}`, ESTIMATES.remoteS);
        add("bake", `bake AMI from ${inputs.managementInstanceId}`, ESTIMATES.bakeS);
        add("template", `launch template ${ltId} ${fromV} -> ${toV} (base v${inputs.baseLaunchTemplateVersion}, new ImageId), made default`);
    } else if (kind === "template") {
        add("template", `launch template ${ltId} ${fromV} -> ${toV} (base v${deployed!.baseLaunchTemplateVersion} -> v${inputs.baseLaunchTemplateVersion}, AMI ${deployed!.amiId} kept, no re-bake), made default`);
    }
    if (kind === "first") {
        const c = inputs.capacity;
        add("scale-out", `scale group ${inputs.autoScalingGroupName} from 0 to min ${c.minSize} / desired ${c.desiredCapacity} / max ${c.maxSize} on the release AMI (no ramp: no old instances)`, c.desiredCapacity > 0 ? waveS - t.deregistrationDelayS : 0);
    } else if (kind === "release" || kind === "template") {
        replace = group ? instances.length : desired;
        waves = Math.ceil(replace / surge);
        if (replace === 0) {
            add("ramp", `no instance to replace (desired capacity ${desired}): new instances will launch from the new version`);
        } else {
            const prot = instances.filter((i) => i.protectedFromScaleIn).length;
            add(
                "ramp",
                `ramp ${replace} instance${replace === 1 ? "" : "s"} in ${waves} wave${waves === 1 ? "" : "s"} of ${surge} ` +
                    `(desired ${desired} -> ${desired + Math.min(surge, replace)}${waves > 1 ? ` -> ${desired + Math.min(surge, replace) + Math.min(surge, replace - surge)} while a batch drains` : ""} -> ${desired}; ` +
                    `AZRebalance, AlarmNotification, ScheduledActions suspended)` +
                    (prot ? `; ${prot} scale-in-protected instance(s) replaced too` : ""),
                // Pipelined: each wave's replacements boot while the previous batch drains.
                waves * (waveS - t.deregistrationDelayS) + t.deregistrationDelayS,
            );
        }
    }
    if (kind !== "none" && !capacityEquals(deployed?.capacity, inputs.capacity) && kind !== "first") {
        const c = inputs.capacity;
        const was = deployed ? `${deployed.capacity.minSize}/${deployed.capacity.desiredCapacity}/${deployed.capacity.maxSize}` : "?";
        add("capacity", `capacity min/desired/max ${was} -> ${c.minSize}/${c.desiredCapacity}/${c.maxSize}`);
    }
    if (maintenance) add("maintenance-off", "maintenance page removed");
    if (kind === "release") add("invalidate", `CloudFront ${inputs.distributionId}: invalidate the changed non-hashed static paths the remote phase reports`, ESTIMATES.invalidationS);
    if (kind === "release" || kind === "first") add("prune", `keep the last ${inputs.keepImages} release AMIs`);
    if (kind !== "none") add("unlock", "release the deploy lock, record history");

    if (live.note) warnings.push(live.note);
    const estimateS = steps.reduce((a, s) => a + s.estimateS, 0);
    const title =
        kind === "none"
            ? `no change: ${inputs.version} is released`
            : kind === "first"
              ? `first release of ${inputs.version}`
              : kind === "release"
                ? `release ${deployed ? deployed.version : "?"} -> ${inputs.version}`
                : kind === "template"
                  ? `base launch template v${deployed!.baseLaunchTemplateVersion} -> v${inputs.baseLaunchTemplateVersion} (version ${inputs.version} kept)`
                  : `capacity change (version ${inputs.version} kept)`;
    const u = live.unfinished;
    const head = u ? (u.state === "in-progress" || kind === "none" ? rerunLine(u) : `${rerunLine(u)}: ${title}`) : title;
    if (live.ownBase) {
        warnings.push(
            `base launch template v${live.ownBase.requested} is a version this Release created (pulumi refresh reads the template's latestVersion back): ` +
                `not a base change, the base stays v${live.ownBase.effective}`,
        );
    }
    const lines = [
        `${head}${estimateS && !(u && u.state === "in-progress") ? `, estimated ${fmtDuration(estimateS)}` : ""}`,
        ...steps.map((s, i) => `  ${i + 1}. ${s.detail}`),
        ...refusals.map((r) => `  REFUSED: ${r}`),
        ...warnings.map((w) => `  note: ${w}`),
    ];
    return { kind, steps, replace, surge, waves, maintenance, estimateS, refusals, warnings, text: lines.join("\n") };
}
