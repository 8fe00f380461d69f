/**
 * The `Release` resource: a Pulumi dynamic resource whose `version` input changing makes
 * `pulumi up` release that version to the fleet.
 *
 *   check   validates the inputs (each failure names the setting and the value) and computes the
 *           human-readable `plan` input from the live cloud (DescribeAutoScalingGroups,
 *           DescribeLaunchTemplates, DescribeLaunchTemplateVersions; DescribeTargetGroups and its
 *           attributes unless the `targetGroupTimings` input gives them) and the
 *           remote phase's migration inspection, so `pulumi preview --diff` shows it; breaking
 *           migrations under policy "refuse" and Standby instances fail the check (nothing changes
 *           in the cloud). Pulumi passes check() the old *inputs*, not the state: an unfinished
 *           earlier run is read from the group's progress tag (a killed run) or from the default
 *           template version's description (a release that rolled back), or from status/progress
 *           when a caller passes them; the plan then starts "resume release ..." / "retry release ...".
 *   diff    a change when the version, base template version, capacity or a setting changed, or
 *           when the last run did not succeed (a re-run resumes or retries it); the ASG name and
 *           the launch template id replace the resource (a new group gets a first release).
 *           Not a change by themselves: `deadlineS` and `targetGroupTimings` (a new health-check
 *           setting of the target group starts no release; the next release uses it).
 *           Base template version: the stack passes the Pulumi template's `latestVersion`, which a
 *           `pulumi refresh` reads back from AWS as the release's own last version. A version the
 *           Release created (`templateVersionsCreated` in the state, or recognised by check() from
 *           its VersionDescription "release <version> (base vN)" and passed on as
 *           `baseIsReleaseVersion`) is not a base change: the base stays the one the fleet was
 *           released on. A newer version Pulumi created is a change (ramp without re-baking).
 *   create  the first release (bake, template version, scale the group from 0 to its capacity).
 *   update  a release (lock, remote phase, bake, template version, ramp, invalidation, unlock),
 *           a template-only change (ramp without re-baking) or a capacity-only change.
 *           A failure rejects with `{ message, id, properties }` (partial state): the status, the
 *           step reached and the fleet it left are kept, so the next `pulumi up` resumes.
 *   read    `pulumi refresh`: the live default template version, capacity, versions in the
 *           fleet and the lock holder, in `live`.
 *   delete  removes nothing the fleet uses: keeps the last `keepImages` release AMIs and the ones
 *           in use, deregisters the older ones with their snapshots, drops a stale lock of ours.
 *
 * Capacity ownership: see planner.ts (the Release owns min and desired; Pulumi creates the group
 * at 0 and ignores them). What the resource state holds and how an earlier run is read back from
 * it: state.ts.
 *
 * Where it runs: Pulumi's dynamic-provider host loads this module through hosted.ts (the small
 * closure Pulumi serializes), so this is ordinary TypeScript: classes, Sets and Errors behave as
 * they do in the tests. Tests construct it with `deps` (simulated AWS, fake remote phase, clock).
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Clock, Cloud, RemotePhase } from "./ports";
import { realClock } from "./ports";
import { AwsCloud } from "./aws/cloud";
import { ReleaseInputs, normalizeInputs } from "./inputs";
import { Deployed, LiveView, RELEASE_VERSION_DESCRIPTION, liveInstances, ownTemplateVersions, plan, resolveBase } from "./planner";
import { deadlineMs, deadlineProblem } from "./engine/deadline";
import { ReleaseError, pruneImages, runRelease, LOCK_TAG, PROGRESS_TAG, parseLock } from "./executor";
import { HistoryEntry, clean, deployedAfterFailure, ownVersions, redactRemote, outputsWriter, unfinishedRun } from "./state";
// Imported at module scope so the closure serializer captures the remote phase by value: a
// relative `require("./remote")` inside a method would run in Pulumi's provider host, which
// cannot resolve the program's relative (TypeScript) paths.
import { createRemotePhase } from "./remote";
import { Redactor } from "./redact";

/** The engine's marker for a value not known during preview (pulumi/sdk/nodejs/runtime/rpc). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** How the plan shows a value the engine does not know yet (a new stack's first preview). */
export const UNKNOWN_TEXT = "(known after the stack's resources exist)";

/** The plan text without the engine's placeholder: an unknown id or version reads as UNKNOWN_TEXT. */
export function readableUnknowns(text: string): string {
    return text.split(`v${UNKNOWN}`).join(`version ${UNKNOWN_TEXT}`).split(UNKNOWN).join(UNKNOWN_TEXT);
}

/** Injected in tests; the serialized provider uses the defaults (AWS SDK, remote phase, real clock). */
export interface ProviderDeps {
    cloud?: (inputs: ReleaseInputs) => Cloud;
    remotePhase?: (inputs: ReleaseInputs) => Promise<RemotePhase>;
    clock?: Clock;
    log?: (line: string) => void;
}

function isUnknown(v: unknown): boolean {
    return v === UNKNOWN;
}

function hasUnknown(v: unknown): boolean {
    if (isUnknown(v)) return true;
    if (v && typeof v === "object") return Object.values(v as object).some(hasUnknown);
    return false;
}

/** The dynamic provider's implementation. `deps` are for tests only: the host constructs `new ReleaseProvider()`. */
export class ReleaseProvider implements pulumi.dynamic.ResourceProvider {
    constructor(private readonly deps: ProviderDeps = {}) {}

    private cloudFor(i: ReleaseInputs): Cloud {
        return this.deps.cloud ? this.deps.cloud(i) : new AwsCloud({ region: i.region });
    }

    private remoteFor(i: ReleaseInputs): Promise<RemotePhase> {
        if (this.deps.remotePhase) return this.deps.remotePhase(i);
        // The transport connects on first use.
        return createRemotePhase({
            ...i.remote,
            instanceId: i.remote.instanceId ?? i.managementInstanceId,
            region: i.remote.region ?? i.region,
        });
    }

    private log(line: string) {
        (this.deps.log ?? console.log)(line);
    }

    async check(olds: any, news: any): Promise<pulumi.dynamic.CheckResult> {
        const { inputs, failures } = normalizeInputs(news, isUnknown);
        const late = isUnknown(news.deadlineS) ? null : deadlineProblem(news.deadlineS);
        if (late) failures.push({ property: "deadlineS", reason: late });
        if (failures.length) return { inputs: news, failures };
        // Pulumi passes check() the old *inputs*: the state (deployed, status, progress, history) is
        // there only when a caller passes the outputs. What the inputs do not say, the cloud does:
        // the group's lock/progress tags (a killed run) and the VersionDescription of the template
        // versions (the ones a release created say "release <version> (base vN)").
        const hadOld = olds && olds.version !== undefined;
        const stateDeployed: Deployed | null = olds?.deployed && olds.deployed.version ? { ...olds.deployed } : null;
        let deployed: Deployed | null = stateDeployed ?? (hadOld
            ? {
                  version: olds.version,
                  amiId: "(current)",
                  baseLaunchTemplateVersion: Number(olds.baseLaunchTemplateVersion),
                  launchTemplateVersion: 0,
                  capacity: normalizeInputs(olds).inputs.capacity,
              }
            : null);
        const own = ownTemplateVersions(olds);
        const requested = inputs.baseLaunchTemplateVersion;
        const live: LiveView = {};
        let fleetVersion: string | null = null;
        let defaultVersion: number | null = null;
        // The target group's timings unknown (its health check is being changed) only mean the run reads them.
        const unknownInputs = hasUnknown({ ...news, targetGroupTimings: undefined });
        if (unknownInputs) {
            live.note = "some inputs are known only after the stack's resources exist: plan without the live state";
        } else {
            try {
                const cloud = this.cloudFor(inputs);
                live.group = await cloud.describeGroup(inputs.autoScalingGroupName);
                live.template = await cloud.describeLaunchTemplate(inputs.baseLaunchTemplateId);
                if (deployed && !stateDeployed) deployed.launchTemplateVersion = live.template.defaultVersion;
                live.timings = inputs.targetGroupTimings ?? (await cloud.describeTargetGroup(inputs.targetGroupArn));
                if (deployed) {
                    const ask = [...new Set([String(requested), String(deployed.baseLaunchTemplateVersion), "$Default"])].filter((v) => v === "$Default" || /^\d+$/.test(v));
                    const versions = await cloud.describeTemplateVersions(inputs.baseLaunchTemplateId, ask).catch(() => []);
                    for (const v of versions) {
                        const m = RELEASE_VERSION_DESCRIPTION.exec(v.description ?? "");
                        if (!m) continue;
                        if (!own.includes(v.version)) own.push(v.version);
                        // Old inputs that recorded one of our versions as the base (an earlier refresh): the real base.
                        if (!stateDeployed && v.version === deployed.baseLaunchTemplateVersion) deployed.baseLaunchTemplateVersion = Number(m[2]);
                        if (v.isDefault) {
                            fleetVersion = m[1];
                            defaultVersion = v.version;
                        }
                    }
                }
            } catch (e: any) {
                live.note = `live state not read (${e?.name ?? "Error"}: ${e?.message ?? e}): plan from the inputs only`;
            }
        }
        const out: any = { ...news };
        delete out.baseIsReleaseVersion;
        // 1. A base version the Release created (pulumi refresh read latestVersion back) is no base change.
        const rb = resolveBase(requested, own, deployed, hadOld ? Number(olds.baseLaunchTemplateVersion) : undefined);
        if (rb.own) {
            live.ownBase = { requested, effective: rb.base };
            inputs.baseLaunchTemplateVersion = rb.base;
            out.baseIsReleaseVersion = requested; // tells diff() and update(), which may not see it in the state
        }
        // 2. An earlier run that did not finish: the plan says what the re-run does.
        live.unfinished = unfinishedRun(olds, inputs, live.group, hadOld ? fleetVersion : null, defaultVersion);
        if (!live.unfinished && hadOld && !stateDeployed && !olds.status && !fleetVersion && live.group && defaultVersion === null) {
            // Old inputs but an empty group whose default is no release's version: the first release
            // did not finish (the re-run is a first release again).
            const g = live.group;
            if (g.desiredCapacity === 0 && liveInstances(g).length === 0 && inputs.capacity.desiredCapacity > 0 && live.template && !own.includes(live.template.defaultVersion)) {
                live.unfinished = { version: inputs.version, state: "failed", reason: `group ${g.name} is still empty: the first release of ${olds.version} did not finish` };
                deployed = null;
            }
        }
        if (live.unfinished && live.unfinished.state !== "in-progress" && deployed && stateDeployed === null && fleetVersion && fleetVersion !== inputs.version) {
            deployed = { ...deployed, version: fleetVersion };
        }
        if (!unknownInputs && (!deployed || deployed.version !== inputs.version) && !(live.unfinished?.state === "in-progress")) {
            let phase: RemotePhase | undefined;
            try {
                phase = await this.remoteFor(inputs);
                live.migrations = (await phase.inspect(inputs.version)).migrations;
            } catch (e: any) {
                live.note = `${live.note ? live.note + "; " : ""}migrations not inspected (${Redactor.forInputs(news).redact(String(e?.message ?? e))}): classified during the release`;
            } finally {
                await phase?.close().catch(() => undefined);
            }
        }
        const p = plan(inputs, deployed, live);
        out.plan = readableUnknowns(p.text);
        if (p.refusals.length) {
            return {
                inputs: out,
                failures: p.refusals.map((r) => ({ property: r.startsWith("instances") ? "autoScalingGroupName" : "migrationPolicy", reason: r })),
            };
        }
        return { inputs: out };
    }

    async diff(_id: string, olds: any, news: any): Promise<pulumi.dynamic.DiffResult> {
        const replaces = ["autoScalingGroupName", "baseLaunchTemplateId"].filter((k) => olds[k] !== news[k]);
        const changed: string[] = [];
        const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
        const ignore = new Set(["plan", "status", "amiId", "launchTemplateVersion", "previousLaunchTemplateVersion", "replacedInstanceIds", "history", "deployed", "progress", "live", "__provider", "remote", "baseIsReleaseVersion", "templateVersionsCreated", "baseLaunchTemplateVersion", "deadlineS", "targetGroupTimings"]);
        for (const k of keys) {
            if (ignore.has(k) || !(k in news)) continue;
            if (JSON.stringify(olds[k]) !== JSON.stringify(news[k])) changed.push(k);
        }
        // The base template version: one the Release created itself (pulumi refresh reads the Pulumi
        // template's latestVersion back as the release's last version) is not a change.
        if ("baseLaunchTemplateVersion" in news && news.baseLaunchTemplateVersion !== UNKNOWN) {
            const d: Deployed | null = olds.deployed ?? null;
            const rb = resolveBase(Number(news.baseLaunchTemplateVersion), ownVersions(olds, news), d, Number(olds.baseLaunchTemplateVersion));
            const was = rb.own ? (d?.baseLaunchTemplateVersion ?? Number(olds.baseLaunchTemplateVersion)) : Number(olds.baseLaunchTemplateVersion);
            if (rb.base !== was) changed.push("baseLaunchTemplateVersion");
        } else if (JSON.stringify(olds.baseLaunchTemplateVersion) !== JSON.stringify(news.baseLaunchTemplateVersion)) {
            changed.push("baseLaunchTemplateVersion");
        }
        // The stored remote settings are redacted: compare without the private key.
        if (JSON.stringify(redactRemote(olds.remote)) !== JSON.stringify(redactRemote(news.remote))) changed.push("remote");
        const d: Deployed | null = olds.deployed ?? null;
        if (d && news.version !== UNKNOWN && d.version !== news.version && !changed.includes("version")) changed.push("version");
        const unfinished = olds.status && olds.status.state !== "succeeded";
        if (unfinished && !changed.includes("status")) changed.push("status");
        return { changes: changed.length > 0 || replaces.length > 0, replaces, deleteBeforeReplace: false };
    }

    async create(news: any): Promise<pulumi.dynamic.CreateResult> {
        const inputs = this.inputsOf(news);
        const id = `${inputs.autoScalingGroupName}/release`;
        const outs = await this.release(id, inputs, news, null);
        return { id, outs };
    }

    async update(id: string, olds: any, news: any): Promise<pulumi.dynamic.UpdateResult> {
        const inputs = this.inputsOf(news);
        const outs = await this.release(id, inputs, news, olds);
        return { outs };
    }

    async read(id: string, props: any): Promise<pulumi.dynamic.ReadResult> {
        if (!props || !props.autoScalingGroupName) return { id, props };
        try {
            const inputs = this.inputsOf(props);
            const cloud = this.cloudFor(inputs);
            const g = await cloud.describeGroup(inputs.autoScalingGroupName);
            const lt = await cloud.describeLaunchTemplate(inputs.baseLaunchTemplateId);
            const lock = parseLock(g.tags[LOCK_TAG]);
            const live = {
                defaultLaunchTemplateVersion: lt.defaultVersion,
                latestLaunchTemplateVersion: lt.latestVersion,
                minSize: g.minSize,
                maxSize: g.maxSize,
                desiredCapacity: g.desiredCapacity,
                instances: g.instances.length,
                versionsInFleet: [...new Set(g.instances.map((x) => x.launchTemplateVersion ?? "?"))].sort(),
                suspendedProcesses: g.suspendedProcesses,
                lockHolder: lock ? `${lock.owner} (run ${lock.runId}, until ${new Date(lock.expiresMs).toISOString()})` : null,
                readAt: new Date().toISOString(),
            };
            return { id, props: clean({ ...props, live }) };
        } catch (e: any) {
            this.log(`release read: live state not refreshed: ${e?.message ?? e}`);
            return { id, props };
        }
    }

    async delete(_id: string, props: any): Promise<void> {
        try {
            const inputs = this.inputsOf(props);
            const cloud = this.cloudFor(inputs);
            const inUse = [props.deployed?.amiId, ...(props.history ?? []).filter((h: HistoryEntry) => h.outcome === "succeeded").slice(-2).map((h: HistoryEntry) => h.amiId)];
            const removed = await pruneImages(cloud, inputs.autoScalingGroupName, inputs.keepImages, inUse);
            if (removed.length) this.log(`release: deregistered old release AMIs ${removed.join(", ")}`);
            const g = await cloud.describeGroup(inputs.autoScalingGroupName).catch(() => null);
            const lock = parseLock(g?.tags[LOCK_TAG]);
            if (g && lock && lock.owner === props.lockOwner && lock.expiresMs < Date.now()) {
                await cloud.deleteGroupTags(inputs.autoScalingGroupName, [LOCK_TAG, PROGRESS_TAG]);
            }
        } catch (e: any) {
            // The group or the template may already be gone (stack destroy): nothing of ours to keep.
            this.log(`release delete: ${e?.message ?? e} (nothing removed from the fleet)`);
        }
    }

    // -----------------------------------------------------------------------------------

    private inputsOf(raw: any): ReleaseInputs {
        const { inputs, failures } = normalizeInputs(raw);
        if (failures.length) throw new Error(`invalid Release inputs: ${failures.map((f) => f.reason).join("; ")}`);
        return inputs;
    }

    private async release(id: string, inputs: ReleaseInputs, news: any, olds: any | null): Promise<any> {
        const clock = this.deps.clock ?? realClock;
        const red = Redactor.forInputs(news); // secrets out of status, history and log lines
        const deployed: Deployed | null = olds?.deployed ?? null;
        const history: HistoryEntry[] = olds?.history ?? [];
        const cloud = this.cloudFor(inputs);
        const owner = String(news.lockOwner ?? `release/${inputs.autoScalingGroupName}`);
        const own = ownVersions(olds, news);
        const rb = resolveBase(inputs.baseLaunchTemplateVersion, own, deployed, olds ? Number(olds.baseLaunchTemplateVersion) : undefined);
        if (rb.own && rb.base !== inputs.baseLaunchTemplateVersion) {
            this.log(`release: base launch template v${inputs.baseLaunchTemplateVersion} is a version this Release created: the base stays v${rb.base}`);
            inputs = { ...inputs, baseLaunchTemplateVersion: rb.base };
        }
        const outputs = outputsWriter(news, olds, own, red);
        try {
            const r = await runRelease({
                cloud,
                remotePhase: () => this.remoteFor(inputs),
                clock,
                log: (l) => this.log(red.redact(l)),
                inputs,
                deployed,
                owner,
                progress: olds?.progress ?? null,
                deadlineMs: deadlineMs(clock.now(), news.deadlineS),
            });
            const now = new Date(clock.now()).toISOString();
            const kindChanged = r.progress.kind !== "none";
            const h = kindChanged
                ? [
                      ...history,
                      {
                          version: inputs.version,
                          amiId: r.deployed.amiId || null,
                          launchTemplateVersion: r.deployed.launchTemplateVersion || null,
                          startedAt: r.progress.startedAt,
                          finishedAt: now,
                          outcome: "succeeded" as const,
                          reason: red.redact(r.reason) ?? null,
                      },
                  ]
                : history;
            const prev = kindChanged ? (r.progress.previousLaunchTemplateVersion ?? deployed?.launchTemplateVersion ?? null) : undefined;
            return outputs({ state: "succeeded", reason: red.redact(r.reason) ?? null, at: now }, r.deployed, r.progress, h, prev);
        } catch (e: any) {
            if (e instanceof ReleaseError) e.message = red.redact(e.message);
            if (e instanceof ReleaseError && e.progress) {
                const now = new Date(clock.now()).toISOString();
                const state = e.outcome === "rolled-back" ? "rolled-back" : "failed";
                const h = [
                    ...history,
                    {
                        version: inputs.version,
                        amiId: e.progress.amiId ?? null,
                        launchTemplateVersion: e.progress.launchTemplateVersion ?? null,
                        startedAt: e.progress.startedAt,
                        finishedAt: now,
                        outcome: state as "rolled-back" | "failed",
                        reason: e.message,
                    },
                ];
                // A failure after the fleet step (the maintenance page could not be removed) leaves the
                // fleet on the new release: record it as deployed so the next run does not redo it.
                const onFleet = e.progress.done.some((s) => s === "ramp" || s === "scale-out");
                const now_deployed = deployedAfterFailure(inputs, deployed, e.progress, onFleet);
                const props = outputs({ state, reason: e.message, at: now }, now_deployed, e.progress, h, onFleet ? e.progress.previousLaunchTemplateVersion : undefined);
                throw new ReleaseFailed(e.message, id, { ...props, __provider: news.__provider });
            }
            if ((e as any)?.interrupted) throw e;
            if (e instanceof ReleaseError) throw new Error(e.message); // refused: nothing changed
            throw e;
        }
    }
}

/**
 * A failed create/update with partial state: the dynamic-provider host (cmd/dynamic-provider)
 * turns an error carrying `id` and `properties` into ErrorResourceInitFailed, so Pulumi saves
 * these properties and the next `pulumi up` diffs against them (and resumes or retries).
 */
export class ReleaseFailed extends Error {
    readonly reasons: string[];
    constructor(
        message: string,
        readonly id: string,
        readonly properties: Record<string, unknown>,
    ) {
        super(message);
        this.name = "ReleaseFailed";
        this.reasons = [message];
    }
}
