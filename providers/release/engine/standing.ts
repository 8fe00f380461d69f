/**
 * Where a release stands when it could not finish (a rollback that was itself refused, e.g. a
 * permission the deploy role lacks): read from AWS when AWS can be read, else from the run's own
 * record, and said plainly, with the permissions to grant and what the next `pulumi up` does.
 */
import { liveInstances } from "../planner";
import type { RunState } from "./run-state";
import { LOCK_TAG, PROGRESS_TAG, parseLock } from "./tags";
import { errText } from "./types";

/** Every `service:Action` an AWS AccessDenied in `texts` names, once each. */
export function deniedPermissions(...texts: string[]): string[] {
    const out = new Set<string>();
    for (const t of texts) for (const m of t.matchAll(/not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9]+)/g)) out.add(m[1]);
    return [...out];
}

/**
 * The end state, as one sentence group: the instances by launch template version, the default
 * version, the suspended processes and the lock and progress tags; or, when the group cannot be
 * read, what this run last recorded.
 */
export async function standing(rs: RunState): Promise<string> {
    const { cloud } = rs.c;
    const p = rs.p;
    const parts: string[] = [];
    const g = await cloud.describeGroup(rs.group).catch((e) => {
        parts.push(`group ${rs.group} could not be read (${errText(e).split(":")[0]}); as this run last recorded: ` + recorded(rs));
        return null;
    });
    if (g) {
        const by = new Map<string, string[]>();
        for (const x of liveInstances(g)) by.set(String(x.launchTemplateVersion), [...(by.get(String(x.launchTemplateVersion)) ?? []), x.instanceId]);
        const tag = (v: string) => (Number(v) === p.launchTemplateVersion ? ` (${rs.i.version}, this release)` : Number(v) === p.previousLaunchTemplateVersion ? " (the previous release)" : "");
        const fleet = [...by].sort().map(([v, ids]) => `${ids.length} instance(s) on launch template v${v}${tag(v)}: ${ids.join(" ")}`);
        parts.push(`group ${rs.group}: ${fleet.join("; ") || "no instances"}; desired ${g.desiredCapacity}, min ${g.minSize}, max ${g.maxSize}`);
        parts.push(g.suspendedProcesses.length ? `processes suspended: ${[...g.suspendedProcesses].sort().join(", ")}` : "no processes suspended");
        const lock = parseLock(g.tags[LOCK_TAG]);
        if (lock) parts.push(`lock tag ${LOCK_TAG} of run ${lock.runId} (${lock.done ? "marked finished" : `until ${new Date(lock.expiresMs).toISOString()}`}) left on the group`);
        if (g.tags[PROGRESS_TAG] !== undefined) parts.push(`progress tag ${PROGRESS_TAG} left on the group`);
    }
    const d = await cloud.describeTemplateVersions(rs.i.baseLaunchTemplateId, ["$Default"]).catch(() => null);
    if (d?.[0]) parts.push(`launch template default v${d[0].version}`);
    return parts.join("; ");
}

function recorded(rs: RunState): string {
    const p = rs.p;
    const r: string[] = [];
    if (p.launchTemplateVersion) r.push(`this release's launch template v${p.launchTemplateVersion}${p.previousLaunchTemplateVersion ? ` (previous v${p.previousLaunchTemplateVersion})` : ""}`);
    r.push(p.replaced.length ? `old instances replaced: ${p.replaced.join(" ")}` : "no old instance replaced");
    if (p.outOfService?.length) r.push(`deregistered from the target group and not terminated: ${p.outOfService.join(" ")}`);
    if (p.group?.suspendedByUs.length) r.push(`processes this run suspended: ${p.group.suspendedByUs.join(", ")}`);
    r.push(`the lock tag ${LOCK_TAG} of run ${p.runId} and the progress tag may be left on the group`);
    return r.join(", ");
}

/** What to do next: the permissions to grant, and what the next `pulumi up` then does (the progress stays in phase rollback). */
export function waysForward(rs: RunState, perms: string[]): string {
    const grant = perms.length ? `grant the deploy role ${perms.join(", ")}, then ` : "";
    return `${grant}run pulumi up again: it resumes this rollback from the saved state (run ${rs.p.runId} takes its own lock back at once) and finishes it, removing whatever lock and progress tags are left`;
}
