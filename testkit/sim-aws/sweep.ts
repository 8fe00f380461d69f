/**
 * The fault sweep: for every AWS call k of a release on the simulated AWS, inject in turn
 *   transient    one transient error on call k (ScalingActivityInProgress for Auto Scaling, a 503
 *                for the others: what the SDK or the adapter must absorb)
 *   denied       a permanent AccessDenied for call k's action, from call k on
 *   kill-resume  the process killed right after call k, then a run resumed from its last saved
 *                progress (or, with none saved, a new run once the lock expired)
 *   kill-fresh   the process killed right after call k, then a new run with no saved state once
 *                the lock expired
 *   concurrent   a second run of the stack started at call k
 * and check the invariants afterwards (see `check`). Used by bench/faults.ts (the full sweep)
 * and test/release/sweep.spec.ts (a sample).
 */
import { installVirtualClock, VirtualClock } from "./clock";
import { SimAws } from "./index";
import { awsError } from "./service";
import { ExecContext, ExecResult, LOCK_TAG, PROGRESS_TAG, Progress, runRelease } from "../../providers/release/executor";
import { parseLock } from "../../providers/release/engine/tags";
import { normalizeInputs } from "../../providers/release/inputs";
import { Deployed } from "../../providers/release/planner";
import { Clock, realClock } from "../../providers/release/ports";
import { FakeRemotePhase, rawArgs } from "../fakes";

export const FAULT_KINDS = ["transient", "denied", "kill-resume", "kill-fresh", "concurrent"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
/** first: 0 -> N; update: v1 -> v2 of N; rollback: v1 -> v2 whose instances never get healthy (the release rolls back). */
export const PHASES = ["first", "update", "rollback"] as const;
export type Phase = (typeof PHASES)[number];

export interface CaseResult {
    phase: Phase;
    kind: FaultKind;
    k: number;
    command: string;
    outcome: string;
    message: string;
    violations: string[];
    /** Denials only: the end state could not be reached by this run; the message and the next run were checked instead. */
    stranded?: boolean;
}

export interface SweepResult {
    injected: number;
    survived: number;
    halfStates: number;
    /** Permanent denials whose final message names the missing permission (service:Action), of all denials. */
    deniedNamed: { named: number; of: number };
    /**
     * Permanent denials of a call the run needed to finish or undo: the run ended saying where it
     * stands (checked against the end state) and naming the permission, and the next run, with the
     * permission granted, finished or restored (checked with every invariant).
     */
    stranded: number;
    byKind: Record<string, { injected: number; survived: number; halfStates: number }>;
    byInvariant: Record<string, number>;
    cases: CaseResult[];
}

const N = 4;
const OWNER = "shop/prod/web-release";
const VERSION = "v1.1.0";

interface World {
    sim: SimAws;
    deployed: Deployed | null;
    before: { desired: number; min: number; max: number; suspended: string[]; defaultVersion: number };
    remote: FakeRemotePhase;
    /**
     * The AMIs and template versions of this release that existed when a run completed a rollback:
     * a later run is a new attempt (a retry), which makes its own; duplicates are counted within an attempt.
     */
    attemptBase: { amis: number; versions: number };
}

function world(phase: Phase): World {
    const sim = new SimAws();
    if (phase === "update" || phase === "rollback") {
        const ami = sim.addImage({ "release:version": "v1.0.0", "release:group": sim.groupName });
        const v = sim.addTemplateVersion(ami);
        sim.seedFleet(N, { max: 6, min: 2 });
        if (phase === "rollback") sim.nextImageFaults = { neverHealthy: true };
        return {
            sim,
            deployed: { version: "v1.0.0", amiId: ami, baseLaunchTemplateVersion: 1, launchTemplateVersion: v, capacity: { minSize: 2, maxSize: 6, desiredCapacity: N } },
            before: { desired: N, min: 2, max: 6, suspended: [], defaultVersion: v },
            remote: new FakeRemotePhase("v1.0.0"),
            attemptBase: { amis: 0, versions: 0 },
        };
    }
    return { sim, deployed: null, before: { desired: 0, min: 0, max: 4, suspended: [], defaultVersion: 1 }, remote: new FakeRemotePhase(null), attemptBase: { amis: 0, versions: 0 } };
}

const releaseAmis = (sim: SimAws) => [...sim.images.values()].filter((im) => !im.deregistered && im.tags["release:version"] === VERSION).length;
const releaseTemplateVersions = (sim: SimAws) => [...sim.templates].filter(([, t]) => t.description === `release ${VERSION} (base v1)`).map(([n]) => n);

function ctx(w: World, over: Partial<ExecContext> = {}): ExecContext {
    const { inputs, failures } = normalizeInputs(rawArgs(w.sim, { version: VERSION, capacity: { minSize: 2, maxSize: 6, desiredCapacity: N }, rollout: { maxSurge: 1 } }));
    if (failures.length) throw new Error(failures.map((f) => f.reason).join("; "));
    const log = (l: string) => {
        if (process.env.SWEEP_LOG) console.log(l);
        if (/; rolled back: the fleet runs/.test(l)) w.attemptBase = { amis: releaseAmis(w.sim), versions: releaseTemplateVersions(w.sim).length };
    };
    return { cloud: w.sim.cloud(), remotePhase: async () => w.remote, clock: realClock, log, inputs, deployed: w.deployed, owner: OWNER, ...over };
}

interface Settled {
    result?: ExecResult;
    error?: any;
}
const settle = (p: Promise<ExecResult>): Promise<Settled> => p.then((result) => ({ result }), (error) => ({ error }));
const interrupted = () => Object.assign(new Error("process killed"), { interrupted: true });

/** The calls an unfaulted release of `phase` makes (the k range). */
export async function referenceCalls(phase: Phase): Promise<string[]> {
    const vc = installVirtualClock();
    try {
        const w = world(phase);
        const r = await vc.drive(settle(runRelease(ctx(w))));
        const outcome = r.result?.outcome ?? r.error?.outcome;
        const want = phase === "rollback" ? "rolled-back" : "succeeded";
        if (outcome !== want) throw new Error(`reference ${phase} release: ${outcome} (${r.error?.message ?? ""}), want ${want}`);
        return w.sim.calls.map((c) => c.command);
    } finally {
        vc.uninstall();
    }
}

/** One injected fault and whatever runs follow it; resolves with the final outcome. */
async function runCase(vc: VirtualClock, w: World, kind: FaultKind, k: number): Promise<Settled> {
    const sim = w.sim;
    if (kind === "transient") {
        sim.inject = (c, i) => (i === k ? (c.service === "autoscaling" ? awsError("ScalingActivityInProgressFault", "Scaling activity is in progress") : awsError("ServiceUnavailable", "simulated", 503)) : undefined);
        return vc.drive(settle(runRelease(ctx(w))));
    }
    if (kind === "denied") {
        let cmd: string | null = null;
        sim.inject = (c, i) => {
            if (i === k) cmd = c.command;
            return cmd && c.command === cmd ? awsError("AccessDenied", `User: arn:aws:sts::123456789012:assumed-role/deploy is not authorized to perform: ${c.service}:${c.command}`, 403) : undefined;
        };
        return vc.drive(settle(runRelease(ctx(w))));
    }
    if (kind === "concurrent") {
        let second: Promise<Settled> | null = null;
        sim.inject = (_c, i) => {
            if (i === k && !second) second = settle(runRelease(ctx(w, { newRunId: () => "second01" })));
            return undefined;
        };
        const a = await vc.drive(settle(runRelease(ctx(w, { newRunId: () => "first001" }))));
        const b: Settled | null = second ? await vc.drive(second as Promise<Settled>) : null;
        sim.inject = null;
        // The outcome that describes the end state: the run that changed the fleet last.
        if (!b) return a;
        const changed = (s: Settled) => (s.result ? s.result.outcome : s.error?.outcome) !== "refused";
        return changed(b) ? b : a;
    }
    // A kill right after call k: every later call and sleep of that run fails as a dead process would.
    let killed = false;
    let saved: Progress | null = null;
    sim.inject = (_c, i) => {
        if (killed) return interrupted();
        if (i === k) killed = true;
        return undefined;
    };
    const dyingClock: Clock = { now: () => Date.now(), sleep: (ms) => (killed ? Promise.reject(interrupted()) : realClock.sleep(ms)) };
    const first = await vc.drive(
        settle(
            runRelease(
                ctx(w, {
                    clock: dyingClock,
                    checkpoint: (p) => {
                        if (killed) throw interrupted();
                        saved = p;
                    },
                }),
            ),
        ),
    );
    sim.inject = null;
    if (!killed) return first; // finished before call k
    const ttlMs = 1800_000;
    if (kind === "kill-resume" && saved) {
        const r = await vc.drive(settle(runRelease(ctx(w, { progress: saved }))));
        if (r.error?.outcome !== "refused") return r;
    }
    await vc.advance(ttlMs + 1000);
    return vc.drive(settle(runRelease(ctx(w, { progress: null }))));
}

/** The invariants; returns the names of those violated. */
export function check(w: World, end: Settled): string[] {
    const sim = w.sim;
    const v: string[] = [];
    sim.advance();
    const fleet = sim.fleet();
    const versions = sim.fleetVersions();
    const outcome = end.result ? end.result.outcome : (end.error?.outcome ?? "error");
    const newVersions = releaseTemplateVersions(sim);
    if (versions.length > 1) v.push("fleet-uniform");
    const fleetV = versions[0];
    if (fleetV !== undefined && fleetV !== w.before.defaultVersion && !newVersions.includes(fleetV)) v.push("fleet-old-or-new");
    if (fleetV !== undefined && sim.defaultVersion !== fleetV) v.push("default-matches-fleet");
    for (const i of fleet) {
        const t = sim.targets.get(i.id);
        if (i.state === "InService" && !(t && t.deregisteredAt === undefined)) {
            v.push("in-service-outside-target-group");
            break;
        }
    }
    const succeeded = outcome === "succeeded";
    const want = succeeded ? { desired: N, min: 2, max: 6 } : { desired: w.before.desired, min: w.before.min, max: w.before.max };
    if (sim.group.desired !== want.desired || sim.group.min !== want.min || sim.group.max !== want.max) v.push("sizes-as-found-or-promised");
    if ([...sim.group.suspended].sort().join() !== w.before.suspended.join()) v.push("suspended-as-found");
    const lock = parseLock(sim.group.tags.get(LOCK_TAG));
    if (sim.group.tags.has(LOCK_TAG) && !lock?.done) v.push("no-lock-left");
    if (sim.group.tags.has(PROGRESS_TAG) && !lock?.done) v.push("no-progress-tag-left");
    if (releaseAmis(sim) - w.attemptBase.amis > 1) v.push("no-duplicate-ami");
    if (newVersions.length - w.attemptBase.versions > 1) v.push("no-duplicate-template-version");
    if (succeeded && (fleetV === undefined ? N > 0 : !newVersions.includes(fleetV))) v.push("outcome-true");
    if ((outcome === "rolled-back" || outcome === "refused") && fleetV !== undefined && fleetV !== w.before.defaultVersion) v.push("outcome-true");
    if (outcome === "rolled-back" && fleet.length !== w.before.desired) v.push("outcome-true");
    // The management instance runs what the fleet runs: the release's version after a success,
    // the last release's after a rollback or a refusal (a refusal changes nothing).
    const mgmt = w.remote.current;
    if (succeeded && mgmt !== VERSION) v.push("management-matches-fleet");
    if ((outcome === "rolled-back" || outcome === "refused") && w.deployed && mgmt !== w.deployed.version) v.push("management-matches-fleet");
    return [...new Set(v)];
}

const outcomeOf = (end: Settled): string => (end.result ? end.result.outcome : (end.error?.outcome ?? "error"));
const messageOf = (end: Settled): string => (end.error ? String(end.error.message ?? end.error) : (end.result?.reason ?? ""));
const NAMES_PERMISSION = /not authorized to perform: [\w-]+:\w+/;
/** What a release finished on the new version may leave when the steps after the fleet were refused (each must be named). */
const AFTER_FLEET_LEFTOVERS = new Set(["no-lock-left", "no-progress-tag-left", "suspended-as-found"]);

/** Live instances (not leaving) by launch template version, as the simulated group holds them. */
function fleetByVersion(sim: SimAws): Map<number, number> {
    const m = new Map<number, number>();
    for (const i of sim.fleet()) if (!/^(Terminat|Detach)/.test(i.state)) m.set(i.ltVersion, (m.get(i.ltVersion) ?? 0) + 1);
    return m;
}

/**
 * What the final message of a permanent denial must say, checked against the end state right
 * after the run (before the group converges): it names the permission; a run that could not
 * finish or undo says where it stands (instances by version, suspended processes, lock and
 * progress tags, as they are) and what the next run does; a release that stands names what it left.
 */
export function toldViolations(w: World, end: Settled): string[] {
    const sim = w.sim;
    sim.advance();
    const v: string[] = [];
    const outcome = outcomeOf(end);
    const msg = messageOf(end);
    if ((outcome !== "succeeded" || msg) && !NAMES_PERMISSION.test(msg)) v.push("message-names-permission");
    const lockLeft = sim.group.tags.has(LOCK_TAG) && !parseLock(sim.group.tags.get(LOCK_TAG))?.done;
    if (outcome === "succeeded") {
        for (const proc of sim.group.suspended) if (!w.before.suspended.includes(proc) && !msg.includes(proc)) v.push("message-names-leftover");
        if (lockLeft && !msg.includes(LOCK_TAG)) v.push("message-names-leftover");
        return [...new Set(v)];
    }
    if (!/ROLLBACK INCOMPLETE|NOT rolled back/.test(msg)) return v; // a refusal or a complete rollback: the invariants say the rest
    const m = /Where it stands: (.*?)\. Next: (.*)$/s.exec(msg);
    if (!m) return [...v, "message-says-where-it-stands"];
    const [, stands, next] = m;
    if (!/pulumi up/.test(next) || (NAMES_PERMISSION.test(msg) && !/grant the deploy role [\w-]+:\w+/.test(next))) v.push("message-says-next-step");
    if (/could not be read/.test(stands)) {
        if (!/as this run last recorded/.test(stands) || (lockLeft && !stands.includes(LOCK_TAG))) v.push("message-true-to-end-state");
        return v;
    }
    const said = new Map<number, number>();
    for (const x of stands.matchAll(/(\d+) instance\(s\) on launch template v(\d+)/g)) said.set(Number(x[2]), Number(x[1]));
    const is = fleetByVersion(sim);
    if ([...is].some(([ver, n]) => said.get(ver) !== n) || [...said].some(([ver, n]) => is.get(ver) !== n)) v.push("message-true-fleet");
    const susp = /processes suspended: ([\w, ]+)/.exec(stands)?.[1].split(", ").sort().join() ?? "";
    if (susp !== [...sim.group.suspended].sort().join()) v.push("message-true-suspended");
    if (sim.group.tags.has(LOCK_TAG) !== stands.includes(`lock tag ${LOCK_TAG}`) || sim.group.tags.has(PROGRESS_TAG) !== stands.includes(`progress tag ${PROGRESS_TAG}`)) v.push("message-true-tags");
    const dv = /launch template default v(\d+)/.exec(stands);
    if (dv && Number(dv[1]) !== sim.defaultVersion) v.push("message-true-default-version");
    return v;
}

export async function sweep(opts: { kinds?: FaultKind[]; phases?: Phase[]; every?: number; offset?: number; progress?: (done: number, total: number) => void } = {}): Promise<SweepResult> {
    const kinds = opts.kinds ?? [...FAULT_KINDS];
    const phases = opts.phases ?? [...PHASES];
    const every = Math.max(1, opts.every ?? 1);
    const cases: CaseResult[] = [];
    const plan: { phase: Phase; kind: FaultKind; k: number; command: string }[] = [];
    for (const phase of phases) {
        const calls = await referenceCalls(phase);
        for (let k = opts.offset ?? 0; k < calls.length; k += every) for (const kind of kinds) plan.push({ phase, kind, k, command: calls[k] });
    }
    for (const [n, c] of plan.entries()) {
        const vc = installVirtualClock();
        try {
            const w = world(c.phase);
            const end = await runCase(vc, w, c.kind, c.k);
            const told = c.kind === "denied" ? toldViolations(w, end) : [];
            w.sim.inject = null;
            await vc.advance(900_000); // let the group converge (boots, drains) before looking
            let violations = check(w, end);
            let stranded = false;
            if (c.kind === "denied" && violations.length) {
                // The run was refused a call it needed to finish or to undo: it could not reach an
                // end state, so it must have said where it stands (told) and left what the next run
                // needs. A release that stands may leave only what the steps after the fleet would
                // have removed (each named); otherwise the next `pulumi up`, with the permission
                // granted and the progress the resource kept, must finish or restore the fleet.
                stranded = true;
                if (outcomeOf(end) === "succeeded") {
                    violations = violations.filter((x) => !AFTER_FLEET_LEFTOVERS.has(x));
                } else {
                    const kept = end.error?.progress && end.error.progress.phase !== "done" ? end.error.progress : null;
                    const next = await vc.drive(settle(runRelease(ctx(w, { progress: kept }))));
                    await vc.advance(900_000);
                    violations = check(w, next).map((x) => `after the next run: ${x}`);
                    if (violations.length) violations.push(`next run: ${outcomeOf(next)}: ${messageOf(next).slice(0, 300)}`);
                }
            }
            violations = [...told, ...violations];
            cases.push({ ...c, outcome: outcomeOf(end), message: messageOf(end), violations, ...(stranded ? { stranded } : {}) });
        } finally {
            vc.uninstall();
        }
        opts.progress?.(n + 1, plan.length);
    }
    const byKind: SweepResult["byKind"] = {};
    const byInvariant: Record<string, number> = {};
    for (const c of cases) {
        const b = (byKind[c.kind] ??= { injected: 0, survived: 0, halfStates: 0 });
        b.injected++;
        if (c.violations.length) b.halfStates++;
        else b.survived++;
        for (const x of c.violations) byInvariant[x] = (byInvariant[x] ?? 0) + 1;
    }
    const denials = cases.filter((c) => c.kind === "denied" && c.outcome !== "succeeded" || (c.kind === "denied" && /AccessDenied/.test(c.message)));
    const named = denials.filter((c) => /not authorized to perform: \w+:\w+/.test(c.message));
    return {
        injected: cases.length,
        survived: cases.filter((c) => !c.violations.length).length,
        halfStates: cases.filter((c) => c.violations.length).length,
        deniedNamed: { named: named.length, of: denials.length },
        stranded: cases.filter((c) => c.stranded && !c.violations.length).length,
        byKind,
        byInvariant,
        cases,
    };
}
