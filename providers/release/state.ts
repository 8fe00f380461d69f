/**
 * The Release's resource state: what create and update store (the outputs: status, deployed,
 * progress, history, the launch template versions the Release created, the remote settings
 * without the SSH private key) and what check, diff and update read back from it (the template
 * versions the Release created, an earlier run that did not finish). Functions and types only:
 * provider.ts calls them; nothing here holds state of its own.
 */
import type { GroupState } from "./ports";
import type { ReleaseInputs } from "./inputs";
import { resolveSurge } from "./inputs";
import type { Deployed, UnfinishedRun } from "./planner";
import { liveInstances, ownTemplateVersions } from "./planner";
import { Progress, decodeTagProgress, LOCK_TAG, PROGRESS_TAG, parseLock } from "./executor";
import type { Redactor } from "./redact";

const HISTORY_LIMIT = 20;

export interface ReleaseStatus {
    state: "succeeded" | "rolled-back" | "failed" | "in-progress";
    reason: string | null;
    at: string;
}

export interface HistoryEntry {
    version: string;
    amiId: string | null;
    launchTemplateVersion: number | null;
    startedAt: string;
    finishedAt: string;
    outcome: "succeeded" | "rolled-back" | "failed";
    reason: string | null;
}

/** Drops undefined (the gRPC Struct rejects it) and copies. */
export function clean<T>(v: T): T {
    return JSON.parse(JSON.stringify(v ?? null));
}

/**
 * The remote settings as stored in the outputs: the SSH private key replaced by a SHA-256
 * fingerprint (so a rotated key is still a change for diff, and the key never lands in state
 * outside Pulumi's secret inputs).
 */
export function redactRemote(r: any) {
    if (!r || typeof r !== "object") return r;
    const c = { ...r };
    if (c.ssh && typeof c.ssh.privateKey === "string" && !c.ssh.privateKey.startsWith("[secret sha256:")) {
        const h = require("crypto").createHash("sha256").update(c.ssh.privateKey).digest("hex").slice(0, 16);
        c.ssh = { ...c.ssh, privateKey: `[secret sha256:${h}]` };
    }
    return c;
}

/** Template versions the Release created: its state, plus the one check() recognised by its description. */
export function ownVersions(olds: any, news: any): number[] {
    const own = ownTemplateVersions(olds);
    const b = Number(news?.baseIsReleaseVersion);
    if (Number.isInteger(b) && b === Number(news?.baseLaunchTemplateVersion) && !own.includes(b)) own.push(b);
    return own;
}

/**
 * The writer of the outputs a run stores: called with the run's status, what the fleet runs, its
 * progress, its history and the launch template version it replaced, it returns `news` with the
 * remote settings redacted and the secrets out of status, history and progress (`red`).
 */
export function outputsWriter(news: any, olds: any | null, own: number[], red: Redactor) {
    /** Every launch template version the Release created (bounded), so a refresh's latestVersion is recognised. */
    const created = (...more: (number | null | undefined)[]) => {
        const all = [...own, ...more.filter((v): v is number => Number.isInteger(v) && (v as number) > 0)];
        return [...new Set(all)].sort((a, b) => a - b).slice(-100);
    };
    return (st: ReleaseStatus, d: Deployed | null, p: Progress | null, h: HistoryEntry[], prev: any) =>
        clean({
            ...news,
            templateVersionsCreated: created(d?.launchTemplateVersion, p?.launchTemplateVersion),
            remote: redactRemote(news.remote),
            plan: news.plan ?? olds?.plan ?? "",
            status: { ...st, reason: red.redact(st.reason) },
            amiId: d?.amiId ?? null,
            launchTemplateVersion: d?.launchTemplateVersion ?? null,
            previousLaunchTemplateVersion: prev ?? olds?.previousLaunchTemplateVersion ?? null,
            replacedInstanceIds: p?.replaced ?? [],
            deployed: d,
            progress: p && p.phase !== "done" ? red.redactProgress(p) : null,
            history: h.slice(-HISTORY_LIMIT).map((x) => ({ ...x, reason: red.redact(x.reason) })),
        });
}

/**
 * What the state records as deployed after a failed run: the new release when the failure came
 * after the fleet step (`onFleet`), else what was deployed, with how long this run's bake took.
 */
export function deployedAfterFailure(inputs: ReleaseInputs, deployed: Deployed | null, progress: Progress, onFleet: boolean): Deployed | null {
    return onFleet
        ? {
              version: inputs.version,
              amiId: progress.amiId ?? deployed?.amiId ?? "",
              baseLaunchTemplateVersion: inputs.baseLaunchTemplateVersion,
              launchTemplateVersion: progress.launchTemplateVersion ?? deployed?.launchTemplateVersion ?? 0,
              capacity: { ...inputs.capacity },
              ...((progress.bakeS ?? deployed?.bakeS) !== undefined ? { bakeS: progress.bakeS ?? deployed?.bakeS } : {}),
          }
        : deployed && progress.bakeS !== undefined
          ? { ...deployed, bakeS: progress.bakeS } // how long a bake takes here, whatever the outcome
          : deployed;
}

/**
 * The earlier run of this Release that did not succeed, if any: from the state (status and
 * progress, when the caller passes them), else from the group's progress tag (a killed run),
 * else from the default template version's description (a release of another version is
 * still the default although the inputs already name this one: the last run rolled back or failed).
 */
export function unfinishedRun(olds: any, inputs: ReleaseInputs, group: GroupState | undefined, fleetVersion: string | null, defaultVersion: number | null): UnfinishedRun | undefined {
    const surgeOf = (desired: number) => resolveSurge(inputs.rollout.maxSurge, Math.max(desired, 1));
    // Old instances already out of service (deregistered by the pipelined ramp) count as replaced.
    const remainingOn = (tv: number | undefined, out: string[] = []) =>
        group && tv ? liveInstances(group).filter((x) => x.lifecycleState !== "Standby" && x.launchTemplateVersion !== String(tv) && !out.includes(x.instanceId)).length : undefined;
    const st: ReleaseStatus | undefined = olds?.status;
    if (st && st.state && st.state !== "succeeded") {
        const pr: Progress | null = olds.progress ?? null;
        if (pr && pr.phase !== "done" && pr.version === inputs.version) {
            return {
                version: pr.version,
                state: "in-progress",
                reason: st.reason,
                done: pr.done,
                next: pr.phase === "rollback" ? "rollback" : (pr.steps.find((s) => !pr.done.includes(s)) ?? null),
                replaced: pr.replaced.length + (pr.outOfService?.length ?? 0),
                remaining: remainingOn(pr.launchTemplateVersion, pr.outOfService),
                surge: surgeOf(pr.group?.desired ?? group?.desiredCapacity ?? inputs.capacity.desiredCapacity),
                amiId: pr.amiId,
                launchTemplateVersion: pr.launchTemplateVersion,
            };
        }
        return { version: inputs.version, state: st.state === "in-progress" ? "failed" : st.state, reason: st.reason };
    }
    if (st) return undefined; // the state says the last run succeeded
    const t = decodeTagProgress(group?.tags[PROGRESS_TAG]);
    const lock = parseLock(group?.tags[LOCK_TAG]);
    if (t && t.v === inputs.version) {
        return {
            version: t.v,
            state: "in-progress",
            reason: `run ${t.r} was interrupted${lock ? ` (lock held by ${lock.owner})` : ""}`,
            next: t.t ? "ramp" : t.a ? "template" : "bake",
            remaining: remainingOn(t.t),
            amiId: t.a,
            launchTemplateVersion: t.t,
        };
    }
    if (fleetVersion && fleetVersion !== inputs.version && olds?.version === inputs.version) {
        return {
            version: inputs.version,
            state: "failed",
            reason: `the default launch template version v${defaultVersion} is still release ${fleetVersion}'s (the last run of ${inputs.version} rolled back or failed)`,
        };
    }
    return undefined;
}
