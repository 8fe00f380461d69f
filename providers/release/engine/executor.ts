/**
 * The step loop: starts (or resumes) a run, runs each planned step that is not done yet, records
 * it, and hands a failure to the rollback sequence. The steps, the lock, the ramp, the waits and
 * the rollback live in their own modules (each says what it owns at its top).
 */
import { RemotePhaseError } from "../ports";
import { Deployed, liveInstances, plan, releaseVersionDescription } from "../planner";
import { DeployLock } from "./lock";
import { Ramp } from "./ramp";
import { rollback } from "./rollback";
import { RunState } from "./run-state";
import { Parts, STEPS } from "./steps";
import { AFTER_FLEET, ExecContext, ExecResult, Progress, ReleaseError, StepError, StepFailure, errText, sec } from "./types";
import { Waits } from "./waits";
import { deniedPermissions } from "./standing";
import { LOCK_TAG, PROGRESS_TAG } from "./tags";

const grantHint = (e: unknown) => {
    const perms = deniedPermissions(errText(e));
    return perms.length ? `grant the deploy role ${perms.join(", ")} so the next release removes them, ` : "";
};

function defaultRunId(): string {
    return Math.random().toString(36).slice(2, 10) + Date.now().toString(36).slice(-4);
}

export class Executor {
    private readonly rs: RunState;
    private parts!: Parts;

    constructor(ctx: ExecContext) {
        this.rs = new RunState(ctx);
    }

    snapshot(): Progress {
        return this.rs.snapshot();
    }

    async run(): Promise<ExecResult> {
        try {
            return await this.runInner();
        } finally {
            this.parts?.lock.stopHeartbeat();
            await this.rs.close();
        }
    }

    private async runInner(): Promise<ExecResult> {
        const { rs } = this;
        const { c, i } = rs;
        const g0 = await c.cloud.describeGroup(rs.group);
        const resumed = c.progress && c.progress.version === i.version && c.progress.phase !== "done" ? c.progress : null;
        const lock = new DeployLock(rs);
        const waits = new Waits(rs);
        this.parts = { rs, lock, waits, ramp: new Ramp(rs, waits, lock) };

        if (resumed) {
            rs.p = JSON.parse(JSON.stringify(resumed));
            rs.log(`resuming run ${rs.p.runId} (done: ${rs.p.done.join(", ") || "nothing"}; phase ${rs.p.phase})`);
        } else {
            // Refusals that need no inspection come first (nothing written); then the lock, so the
            // remote inspection (a checkout and install on the management instance) runs only for
            // the run that holds it; then the plan with the migrations classified.
            const pre = plan(i, c.deployed, { group: g0 });
            if (pre.refusals.length) throw new ReleaseError(`release refused: ${pre.refusals.join("; ")}`, "refused", null);
            rs.p = {
                runId: (c.newRunId ?? defaultRunId)(),
                kind: pre.kind,
                version: i.version,
                baseLaunchTemplateVersion: i.baseLaunchTemplateVersion,
                startedAt: new Date(c.clock.now()).toISOString(),
                phase: "forward",
                steps: pre.steps.map((s) => s.name),
                done: [],
                maintenance: pre.maintenance,
                replaced: [],
                warnings: [],
            };
            if (pre.kind === "none") {
                rs.p.phase = "done";
                return { outcome: "succeeded", progress: rs.snapshot(), deployed: this.deployedAfter() };
            }
            try {
                await lock.acquire();
            } catch (e) {
                if (e instanceof ReleaseError) throw e; // refused: nothing written
                // Once its tag is written (acquire records "lock" as done), the lock may be this run's
                // (e.g. its read-back was refused): the rollback sequence releases it, now or, if it
                // cannot, the next run resumes it.
                return await this.onForwardFailure(e, "lock");
            }
            const done = await this.alreadyReleased().catch((e) => {
                rs.log(`could not check whether another run already released ${i.version}: ${errText(e)}`);
                return null;
            });
            if (done) {
                // The dead run's sizes and suspended processes (inherited from its tag) are put back.
                // (Not after a first release: its sizes are the configured capacity, set by its scale-out.)
                if (rs.p.group && rs.c.deployed) await this.parts.ramp.restore(rs.p.group);
                await lock.release().catch((e) => rs.log(`lock not released: ${errText(e)}`));
                rs.p.kind = "none";
                rs.p.phase = "done";
                rs.p.launchTemplateVersion = done.launchTemplateVersion;
                rs.p.amiId = done.amiId;
                return { outcome: "succeeded", progress: rs.snapshot(), deployed: this.deployedAfter(), reason: done.reason };
            }
            let migrations;
            try {
                if (pre.kind === "release" || pre.kind === "first") {
                    try {
                        const ph = await rs.remote();
                        const insp = await ph.inspect(i.version, (l) => rs.log(`  ${l}`));
                        migrations = insp.migrations;
                    } catch (e) {
                        // No read-only database role for the inspection: the remote phase classifies (and gates) them itself.
                        if ((e as Error)?.name === "InspectionUnavailableError") rs.log(`  ${(e as Error).message}: classified by the remote phase`);
                        else throw new ReleaseError(`release refused: inspecting ${i.version} on ${i.managementInstanceId} failed: ${errText(e)}`, "refused", null);
                    }
                }
                const pl = plan(i, c.deployed, { group: g0, migrations });
                if (pl.refusals.length) throw new ReleaseError(`release refused: ${pl.refusals.join("; ")}`, "refused", null);
                rs.p.steps = pl.steps.map((s) => s.name);
                rs.p.maintenance = pl.maintenance;
                if (rs.p.maintenanceRuleArn) lock.keepMaintenanceSteps();
                rs.log(`plan: ${pl.text.split("\n")[0]} (${pl.steps.map((s) => s.name).join(" -> ")})`);
            } catch (e) {
                await lock.release().catch((e2) => rs.log(`lock not released: ${errText(e2)}`));
                throw e;
            }
        }

        if (rs.p.kind === "none") {
            rs.p.phase = "done";
            return { outcome: "succeeded", progress: rs.snapshot(), deployed: this.deployedAfter() };
        }

        if (rs.p.phase === "forward") {
            try {
                await this.forward();
            } catch (e: any) {
                // A refusal changed nothing; an interruption models a killed process (no rollback).
                if (e instanceof ReleaseError || e?.interrupted) throw e;
                return await this.onForwardFailure(e);
            }
        } else if (rs.p.phase === "rollback") {
            return await rollback(this.parts, rs.p.failure ?? { step: "resume", cause: "resumed rollback" });
        }
        rs.p.phase = "done";
        const warn = rs.p.warnings.length ? ` (warnings: ${rs.p.warnings.join("; ")})` : "";
        rs.log(`released ${i.version}: AMI ${rs.p.amiId ?? c.deployed?.amiId}, launch template v${rs.p.launchTemplateVersion ?? c.deployed?.launchTemplateVersion}, ${rs.p.replaced.length} instance(s) replaced${warn}`);
        return { outcome: "succeeded", progress: rs.snapshot(), deployed: this.deployedAfter(), reason: rs.p.warnings.join("; ") || undefined };
    }

    /**
     * Under the lock, before anything runs: the live default launch template version already is this
     * release's (its description) and the whole fleet runs it, so another run (one whose state
     * Pulumi lost, or a concurrent one that finished first) released it. Nothing to redo.
     * The same read fetches the base version, whose data the template step copies (rs.baseTemplateData).
     */
    private async alreadyReleased(): Promise<{ launchTemplateVersion: number; amiId: string; reason: string } | null> {
        const { rs } = this;
        const { cloud } = rs.c;
        const i = rs.i;
        const lt = i.baseLaunchTemplateId;
        const base = i.baseLaunchTemplateVersion;
        // One entry per version, or one per requested name (duplicates): told apart by number and
        // DefaultVersion, never by position. A failure (say the base version is gone) must not
        // cost the check: the default alone is asked, as before.
        const versions = await cloud.describeTemplateVersions(lt, ["$Default", String(base)]).catch(() => cloud.describeTemplateVersions(lt, ["$Default"]));
        rs.baseTemplateData = versions.find((v) => v.version === base)?.data ?? null;
        const d = versions.find((v) => v.isDefault);
        if (!d || d.description !== releaseVersionDescription(i.version, i.baseLaunchTemplateVersion) || d.version === rs.c.deployed?.launchTemplateVersion) return null;
        const g = await cloud.describeGroup(rs.group);
        const live = liveInstances(g);
        const want = rs.p.kind === "first" ? i.capacity.desiredCapacity : g.desiredCapacity;
        if (live.length !== want || !live.every((x) => x.launchTemplateVersion === String(d.version) && x.lifecycleState === "InService")) return null;
        const amiId = (await cloud.defaultTemplateImageId(i.baseLaunchTemplateId)) ?? "";
        const reason = `release ${i.version} was already on the fleet (launch template v${d.version}, AMI ${amiId}, made by another run): nothing redone`;
        rs.log(reason);
        return { launchTemplateVersion: d.version, amiId, reason };
    }

    private deployedAfter(): Deployed {
        const { rs } = this;
        const d = rs.c.deployed;
        return {
            version: rs.i.version,
            amiId: rs.p.amiId ?? d?.amiId ?? "",
            baseLaunchTemplateVersion: rs.i.baseLaunchTemplateVersion,
            launchTemplateVersion: rs.p.launchTemplateVersion ?? d?.launchTemplateVersion ?? 0,
            capacity: { ...rs.i.capacity },
            ...((rs.p.bakeS ?? d?.bakeS) !== undefined ? { bakeS: rs.p.bakeS ?? d?.bakeS } : {}),
        };
    }

    private async forward() {
        const { rs, parts } = this;
        const p = rs.p;
        for (const step of p.steps) {
            if (p.done.includes(step)) continue;
            // The lock is (re)acquired on every run, even when an earlier run recorded it; then
            // fenced: every step starts by checking the lock is still this run's.
            // Steps that fence themselves are not read for twice: unlock checks the lock before it
            // deletes it, the ramp on the group read it starts from (before its first write), and
            // the lock step changes nothing.
            if (!parts.lock.held) await parts.lock.acquire();
            else if (!SELF_FENCED.has(step)) await parts.lock.verify();
            const t0 = rs.c.clock.now();
            if (!AFTER_FLEET.has(step)) rs.checkDeadline(step);
            if (AFTER_FLEET.has(step)) {
                // The fleet already runs the new version: a failure here does not roll it back.
                try {
                    await STEPS[step](parts);
                } catch (e) {
                    if (step === "maintenance-off") {
                        const arn = p.maintenanceRuleArn;
                        await parts.lock.release().catch(() => undefined);
                        p.phase = "done";
                        const failure = { step, cause: `the maintenance page (listener rule ${arn}) could not be removed: ${errText(e)}; delete the rule to reopen the site` };
                        p.failure = failure;
                        throw new ReleaseError(`release ${rs.i.version} is on the fleet but ${failure.cause}`, "failed", rs.snapshot(), failure);
                    }
                    const left =
                        step === "unlock"
                            ? `; the lock tag ${LOCK_TAG} of run ${p.runId} (until ${new Date(rs.c.clock.now() + rs.i.rollout.lockTtlS * 1000).toISOString()} at the latest) and the progress tag ${PROGRESS_TAG} stay on group ${rs.group}: ` +
                              `the next release waits for the lock to expire, then takes it over; ${grantHint(e)}or remove them now: aws autoscaling delete-tags --tags ` +
                              `ResourceId=${rs.group},ResourceType=auto-scaling-group,Key=${LOCK_TAG} ResourceId=${rs.group},ResourceType=auto-scaling-group,Key=${PROGRESS_TAG}`
                            : "";
                    p.warnings.push(`${step}: ${errText(e)}${left}`);
                    rs.log(`step ${step} failed (the release stands): ${errText(e)}${left}`);
                    if (step === "unlock") parts.lock.held = false;
                }
            } else {
                await STEPS[step](parts);
            }
            p.done.push(step);
            if (step !== "unlock") rs.log(`step ${step} done in ${sec(rs.c.clock.now() - t0)} s`);
            await rs.save();
        }
    }

    private async onForwardFailure(e: any, at?: string): Promise<never> {
        const p = this.rs.p;
        const step = at ?? p.steps.find((s) => !p.done.includes(s)) ?? "unknown";
        const failure: StepFailure = {
            step: e instanceof StepError ? e.step : e instanceof RemotePhaseError ? `remote/${e.step}` : step,
            instanceId: e instanceof StepError ? e.instanceId : undefined,
            cause: e instanceof StepError ? e.cause_ : errText(e),
        };
        p.failure = failure;
        this.rs.log(`FAILED at ${failure.step}${failure.instanceId ? ` (instance ${failure.instanceId})` : ""}: ${failure.cause}`);
        return rollback(this.parts, failure);
    }
}

/** Runs one release. */
/** Steps whose own first read of the group is the fence check (or that change nothing). */
const SELF_FENCED = new Set<string>(["lock", "ramp", "unlock"]);

export async function runRelease(ctx: ExecContext): Promise<ExecResult> {
    return new Executor(ctx).run();
}
