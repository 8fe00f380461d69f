/**
 * The tags a release writes on the group: the deploy lock ("<owner>;<run>;<expiry ISO>"), the
 * progress a killed run leaves for the next one (compact JSON, at most 256 characters), and the
 * maintenance marker (the run that turns the page on: "<run>"), which stays while a page may be on.
 */
import type { Progress } from "./types";

export const LOCK_TAG = "release:lock";
export const PROGRESS_TAG = "release:progress";
/**
 * Written before a run turns the maintenance page on, removed with the lock once the page is off:
 * a new run looks for a page an earlier one left on (DescribeRules) only when this tag, a lock or
 * a progress tag is on the group.
 */
export const MAINTENANCE_TAG = "release:maintenance";

export interface LockValue {
    owner: string;
    runId: string;
    expiresMs: number;
    /** Written by a run that finished but could not remove its tags: nothing to inherit. */
    done: boolean;
}

export function parseLock(v: string | undefined): LockValue | null {
    if (!v) return null;
    const [owner, runId, exp, flag] = v.split(";");
    const expiresMs = Date.parse(exp ?? "");
    if (!owner || !runId || Number.isNaN(expiresMs)) return null;
    return { owner, runId, expiresMs, done: flag === "done" };
}

export function formatLock(owner: string, runId: string, expiresMs: number, done = false): string {
    return `${owner.slice(0, 120)};${runId};${new Date(expiresMs).toISOString()}${done ? ";done" : ""}`;
}

export interface TagProgress {
    r: string;
    v: string;
    b: number;
    a?: string;
    t?: number;
    p?: number;
    d?: number;
    x?: number;
    n?: number;
    s?: string;
    /** Progress.schemaAhead: migrations applied past the point of no return ("breaking", "unknown"). */
    m?: string;
}

export function encodeTagProgress(p: Progress): string {
    const t: TagProgress = { r: p.runId, v: p.version, b: p.baseLaunchTemplateVersion };
    if (p.amiId) t.a = p.amiId;
    if (p.launchTemplateVersion) t.t = p.launchTemplateVersion;
    if (p.previousLaunchTemplateVersion) t.p = p.previousLaunchTemplateVersion;
    if (p.schemaAhead) t.m = p.schemaAhead;
    if (p.group) {
        t.d = p.group.desired;
        t.x = p.group.max;
        t.n = p.group.min;
        t.s = p.group.suspendedByUs.map((s) => s.slice(0, 2)).join(",");
    }
    return JSON.stringify(t).slice(0, 256);
}

export function decodeTagProgress(v: string | undefined): TagProgress | null {
    if (!v) return null;
    try {
        const t = JSON.parse(v);
        return t && typeof t.r === "string" ? t : null;
    } catch {
        return null;
    }
}

export const PROC_BY_PREFIX: Record<string, string> = { AZ: "AZRebalance", Al: "AlarmNotification", Sc: "ScheduledActions" };
