/** Step template: a launch template version with the release's AMI (idempotent per run), made the default. */
import { releaseVersionDescription } from "../../planner";
import type { DeployLock } from "../lock";
import type { RunState } from "../run-state";
import { StepError } from "../types";

/** The ClientToken of a run's launch template version: "release-<run>-b<base>-<ami>" (ASCII, <= 128). */
export function templateVersionToken(runId: string, baseVersion: number, imageId: string): string {
    return `release-${runId}-b${baseVersion}-${imageId}`.replace(/[^\x21-\x7e]/g, "_").slice(0, 128);
}

export async function template(rs: RunState, lock: DeployLock) {
    const { cloud } = rs.c;
    const i = rs.i;
    const p = rs.p;
    const ami = p.amiId ?? rs.c.deployed?.amiId;
    if (!ami) throw new StepError("template", "no AMI: neither this release nor the previous one baked one");
    if (!p.launchTemplateVersion) {
        // Roll back to what the fleet was released on, not to whatever the default is now (a
        // dead run may have switched it to its own version before dying). The live default is
        // read only when neither this run nor the last release says (one call fewer).
        p.previousLaunchTemplateVersion =
            p.previousLaunchTemplateVersion ?? (rs.c.deployed?.launchTemplateVersion || (await cloud.describeLaunchTemplate(i.baseLaunchTemplateId)).defaultVersion);
        if (p.takenOver) {
            // A dead run may have made this very version (same description, same AMI) and died before recording it.
            // Read now, not reused from the run's first read: a version made since then must be seen.
            const desc = releaseVersionDescription(i.version, i.baseLaunchTemplateVersion);
            const found = (await cloud.describeTemplateVersions(i.baseLaunchTemplateId, ["$Latest", "$Default"])).find(
                (v) => v.description === desc && v.imageId === ami && v.version !== rs.c.deployed?.launchTemplateVersion,
            );
            if (found) {
                rs.log(`launch template v${found.version} of the dead run ${p.takenOver} is reused`);
                p.launchTemplateVersion = found.version;
                // The dead run made it the default already: the version to roll back to is the last
                // release's, or else the Pulumi-managed base.
                if (p.previousLaunchTemplateVersion === found.version) p.previousLaunchTemplateVersion = rs.c.deployed?.launchTemplateVersion ?? i.baseLaunchTemplateVersion;
            }
        }
    }
    if (!p.launchTemplateVersion) {
        // The idempotency token names this run's request: a repeat (an SDK retry whose response
        // was lost, or this run resumed before it saved the version) gets the same version back.
        p.launchTemplateVersion = await cloud.createLaunchTemplateVersion(
            i.baseLaunchTemplateId,
            i.baseLaunchTemplateVersion,
            ami,
            releaseVersionDescription(i.version, i.baseLaunchTemplateVersion),
            templateVersionToken(p.runId, i.baseLaunchTemplateVersion, ami),
            // The base version's data as this run read it under the lock (immutable); else the adapter reads it.
            rs.baseTemplateData ?? undefined,
        );
        await rs.save();
    }
    await cloud.setDefaultLaunchTemplateVersion(i.baseLaunchTemplateId, p.launchTemplateVersion!);
    // The ramp's first act writes the progress tag with the saved sizes (and this version):
    // written here only when no ramp follows at once (one call fewer per release).
    const next = p.steps[p.steps.indexOf("template") + 1];
    if (!(next === "ramp" && !p.group)) await lock.writeProgress();
    rs.log(`launch template ${i.baseLaunchTemplateId} v${p.previousLaunchTemplateVersion} -> v${p.launchTemplateVersion} (default)`);
}
