/**
 * The rollback sequence after a failed forward step: drop unfilled surge, default template
 * version back, old instances back, group restored, maintenance page off, management instance
 * back, lock released. Every part is attempted; the ones that fail are named in the outcome.
 */
import { liveInstances } from "../planner";
import { LockLostError } from "./lock";
import type { Parts } from "./steps";
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
            p.phase = "done";
            const msg = `release ${rs.i.version} failed at ${failure.step}: ${failure.cause}; NOT rolled back: the deploy lock could not be taken again (${errText(e)}); the group is as this run left it`;
            rs.log(msg);
            throw new ReleaseError(msg, "failed", rs.snapshot(), failure);
        }
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
            await attempt(`replace the new instances with v${prev} ones`, () => ramp.rampTo(prev, saved, "rollback"));
        }
        await attempt("restore the group", () => ramp.restore(saved));
    }
    if (p.maintenanceRuleArn) {
        const arn = p.maintenanceRuleArn;
        await attempt("remove the maintenance page", async () => {
            await cloud.removeMaintenanceRule(arn);
            p.maintenanceRuleArn = undefined;
            rs.log("maintenance page off");
        });
    }
    if (p.done.includes("remote") || failure.step.startsWith("remote/")) {
        const back = p.remote?.previousVersion ?? rs.c.deployed?.version;
        if (back) {
            await attempt(`management instance back to ${back}`, async () => {
                const ph = await rs.remote();
                await ph.revert(back, (l) => rs.log(`  ${l}`));
            });
        }
    }
    if (lock.held || p.done.includes("lock")) await attempt("release the lock", () => lock.release());
    const outcome: Outcome = errors.length ? "failed" : "rolled-back";
    p.phase = "done";
    const where = `${failure.step}${failure.instanceId ? ` (instance ${failure.instanceId})` : ""}`;
    const msg =
        outcome === "rolled-back"
            ? `release ${rs.i.version} failed at ${where}: ${failure.cause}; rolled back: the fleet runs ${rs.c.deployed?.version ?? "what it ran before"} again`
            : `release ${rs.i.version} failed at ${where}: ${failure.cause}; ROLLBACK INCOMPLETE: ${errors.join("; ")}`;
    rs.log(msg);
    throw new ReleaseError(msg, outcome, rs.snapshot(), failure);
}
