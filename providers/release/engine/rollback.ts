/**
 * The rollback sequence after a failed forward step: drop unfilled surge, default template
 * version back, old instances back, group restored, maintenance page off, management instance
 * back, lock released. Every part is attempted; the ones that fail are named in the outcome.
 */
import { liveInstances, schemaAheadAfterApply } from "../planner";
import { LockLostError } from "./lock";
import type { Parts } from "./steps";
import { deniedPermissions, standing, waysForward } from "./standing";
import { ReleaseError, StepFailure, Outcome, errText } from "./types";

export async function rollback(x: Parts, failure: StepFailure): Promise<never> {
    const { rs, lock, ramp, waits } = x;
    const { cloud } = rs.c;
    const p = rs.p;
    p.phase = "rollback";
    await rs.save();
    const errors: string[] = [];
    const attempt = async (what: string, f: () => Promise<unknown>) => {
        try {
            await f();
        } catch (e) {
            if (e instanceof LockLostError) throw e; // another run owns the group now: hands off
            errors.push(`${what}: ${errText(e)}`);
            rs.log(`rollback: ${what} failed: ${errText(e)}`);
        }
    };
    rs.log("rolling back");
    if (!lock.held && p.done.includes("lock")) {
        // No rollback without the lock: another run may own the group now.
        try {
            await lock.acquire();
        } catch (e) {
            // Another run holds the lock: it owns the group now, this run hands off. Otherwise (the
            // lock could not be read or written) this rollback stays to do: the next run resumes it.
            const handOff = e instanceof ReleaseError;
            p.phase = handOff ? "done" : "rollback";
            let msg = `release ${rs.i.version} failed at ${failure.step}: ${failure.cause}; NOT rolled back: the deploy lock could not be taken again (${errText(e)}); the group is as this run left it`;
            if (!handOff) msg += `. Where it stands: ${await standing(rs)}. Next: ${waysForward(rs, deniedPermissions(failure.cause, errText(e)))}`;
            rs.log(msg);
            throw new ReleaseError(msg, "failed", rs.snapshot(), failure);
        }
    }
    if (p.kind === "release" && (p.schemaAhead || (p.done.includes("remote") && schemaAheadAfterApply(p.remote?.migrations, rs.i.migrationPolicy)))) {
        return pastNoReturn(x, failure, attempt, errors);
    }
    const prev = p.previousLaunchTemplateVersion;
    const saved0 = p.group;
    if (saved0 && p.kind !== "first") {
        // Surge slots the group could not fill (launch failure) would be filled with old-version
        // instances the moment the default goes back, only to be scaled in again: drop them first.
        await attempt("drop unfilled surge capacity", async () => {
            const g = await cloud.describeGroup(rs.group);
            const live = liveInstances(g).length;
            const want = Math.max(saved0.desired, Math.min(g.desiredCapacity, live));
            if (want < g.desiredCapacity) {
                await cloud.updateGroupSize(rs.group, { desiredCapacity: want });
                saved0.lastDesired = want;
            }
        });
    }
    if (p.launchTemplateVersion && prev) {
        await attempt(`default launch template version back to v${prev}`, async () => {
            await cloud.setDefaultLaunchTemplateVersion(rs.i.baseLaunchTemplateId, prev);
            rs.log(`launch template default back to v${prev}`);
        });
    }
    const saved = p.group;
    if (saved) {
        if (p.kind === "first") {
            await attempt("scale the group back", async () => {
                await cloud.updateGroupSize(rs.group, { minSize: saved.min, desiredCapacity: saved.desired, maxSize: saved.max });
                await waits.gone(prev);
            });
        } else if (prev) {
            // First the old instances this run took out of the target group, so the ramp back
            // counts them as serving (none stays InService outside the target group).
            await attempt("register the deregistered old instances again", () => ramp.registerOutOfService());
            await attempt(`replace the new instances with v${prev} ones`, () => ramp.rampTo(prev, saved, "rollback"));
        }
        await attempt("restore the group", () => ramp.restore(saved));
    }
    if (p.maintenanceRuleArn) {
        const arn = p.maintenanceRuleArn;
        await attempt("remove the maintenance page", async () => {
            await cloud.removeMaintenanceRule(arn);
            p.maintenanceRuleArn = undefined;
            rs.pageOff = true;
            rs.log("maintenance page off");
        });
    }
    if (p.done.includes("remote") || failure.step.startsWith("remote/")) {
        // The version the instance ran before this release: what the remote phase found, unless it
        // found this very release (a run that took over from a dead one re-ran the phase on an
        // instance the dead run had switched already): then the last released version.
        const found = p.remote?.previousVersion;
        const back = found && found !== rs.i.version ? found : rs.c.deployed?.version;
        if (back) {
            await attempt(`management instance back to ${back}`, async () => {
                const ph = await rs.remote();
                await ph.revert(back, (l) => rs.log(`  ${l}`));
            });
        }
    }
    if (lock.held || p.done.includes("lock")) await attempt("release the lock", () => lock.release());
    const outcome: Outcome = errors.length ? "failed" : "rolled-back";
    // An incomplete rollback stays to do (the resource keeps this progress): the next run resumes it.
    p.phase = errors.length ? "rollback" : "done";
    const where = `${failure.step}${failure.instanceId ? ` (instance ${failure.instanceId})` : ""}`;
    const msg =
        outcome === "rolled-back"
            ? `release ${rs.i.version} failed at ${where}: ${failure.cause}; rolled back: the fleet runs ${rs.c.deployed?.version ?? "what it ran before"} again` +
              (p.warnings.length ? ` (warnings: ${p.warnings.join("; ")})` : "")
            : `release ${rs.i.version} failed at ${where}: ${failure.cause}; ROLLBACK INCOMPLETE: ${errors.join("; ")}. ` +
              `Where it stands: ${await standing(rs)}. Next: ${waysForward(rs, deniedPermissions(failure.cause, ...errors))}`;
    rs.log(msg);
    throw new ReleaseError(msg, outcome, rs.snapshot(), failure);
}

/**
 * A failure after breaking or unknown migrations were applied: the old code cannot run on the new
 * schema, so nothing is reverted. The default template stays on the new version (what launches
 * next runs the code that matches the schema), the management instance stays on it, and the
 * maintenance page stays on; only the group's sizes and processes are restored and the lock is
 * released, so a fixed version can be released at once.
 */
async function pastNoReturn(x: Parts, failure: StepFailure, attempt: (what: string, f: () => Promise<unknown>) => Promise<void>, errors: string[]): Promise<never> {
    const { rs, lock, ramp } = x;
    const p = rs.p;
    const old = rs.c.deployed?.version ?? "the previous version";
    rs.log(`past the point of no return (${p.schemaAhead ?? p.remote?.migrations} migrations applied): the old code is not put back`);
    if (p.group) {
        const saved = p.group;
        await attempt("restore the group", () => ramp.restore(saved));
    }
    if (lock.held || p.done.includes("lock")) await attempt("release the lock", () => lock.release());
    // What could not be done here (sizes, lock) stays to do: the next run resumes this sequence.
    p.phase = errors.length ? "rollback" : "done";
    const where = `${failure.step}${failure.instanceId ? ` (instance ${failure.instanceId})` : ""}`;
    const g = await rs.c.cloud.describeGroup(rs.group).catch(() => null);
    const onNew = g ? liveInstances(g).filter((i) => i.launchTemplateVersion === String(p.launchTemplateVersion)).length : null;
    const all = g ? liveInstances(g).length : null;
    const applied = p.remote?.applied?.length ? p.remote.applied.join(", ") : `${p.schemaAhead ?? p.remote?.migrations} migrations`;
    const first = p.remote?.applied?.[0]?.split(" ")[0] ?? "<app>.<first applied migration>";
    const [app, mig] = first.split(".");
    const msg =
        `release ${rs.i.version} failed at ${where}: ${failure.cause}; NOT rolled back: past the point of no return. ` +
        `Applied: ${applied}. The database schema is now ahead of ${old}, so ${old} was not put back: ` +
        `the management instance stays on ${rs.i.version}, the launch template default stays v${p.launchTemplateVersion ?? "(none made)"}` +
        (all !== null ? ` (${onNew} of ${all} instance(s) on it)` : "") +
        (p.maintenanceRuleArn ? `, and the maintenance page (${p.maintenanceRuleArn}) stays on` : "") +
        `. Ways forward: release a fixed version (set release:version and run pulumi up), or migrate backwards by hand on ${rs.i.managementInstanceId} ` +
        `(python manage.py migrate ${app} <the migration before ${mig}>) and then release ${old} again` +
        (p.maintenanceRuleArn ? "; the page goes off when a release succeeds" : "") +
        (errors.length ? `. Also failed: ${errors.join("; ")}. Where it stands: ${await standing(rs)}. Next: ${waysForward(rs, deniedPermissions(...errors))}` : "");
    rs.log(msg);
    throw new ReleaseError(msg, "failed", rs.snapshot(), failure);
}
