/**
 * Releases on the simulated AWS for the executor's specs (executor.spec.ts, fault-matrix.spec.ts):
 * runs `runRelease` on the world's simulated AWS under the virtual clock, with a fake remote phase,
 * and returns what it ended with (a result or an error), its log lines, the remote phase and every
 * checkpoint; `interruptAfterReplaced` kills the run (as a dead process) once that many instances
 * are replaced.
 */
import { ExecContext, ExecResult, Progress, runRelease } from "../../providers/release/executor";
import { realClock } from "../../providers/release/ports";
import { FakeRemotePhase, inputs } from "../../testkit/fakes";
import type { SimAws } from "../../testkit/sim-aws";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import type { World } from "../../testkit/world";

export interface Run {
    result?: ExecResult;
    error?: any;
    lines: string[];
    remote: FakeRemotePhase;
    checkpoints: Progress[];
}

export type ReleaseOptions = Partial<ExecContext> & { over?: Record<string, any>; remote?: FakeRemotePhase; interruptAfterReplaced?: number };

export async function releaseOn(vc: VirtualClock, w: World, opts: ReleaseOptions = {}): Promise<Run> {
    const lines: string[] = [];
    const checkpoints: Progress[] = [];
    const remote = opts.remote ?? new FakeRemotePhase(w.deployed?.version ?? null);
    const ctx: ExecContext = {
        cloud: w.sim.cloud(),
        remotePhase: async () => remote,
        clock: realClock,
        log: (l) => lines.push(l),
        inputs: inputs(w.sim, { version: "v1.1.0", ...(opts.over ?? {}) }),
        deployed: w.deployed,
        owner: "shop/prod/web-release",
        ...opts,
        checkpoint: async (p) => {
            checkpoints.push(p);
            if (opts.checkpoint) await opts.checkpoint(p);
            if (opts.interruptAfterReplaced !== undefined && p.replaced.length >= opts.interruptAfterReplaced) {
                throw Object.assign(new Error("process killed"), { interrupted: true });
            }
        },
    };
    try {
        return { result: await vc.drive(runRelease(ctx)), lines, remote, checkpoints };
    } catch (error) {
        return { error, lines, remote, checkpoints };
    }
}

/**
 * For a describe block: a fresh virtual clock around each of its tests (`vc`), and `release` on it.
 */
export function virtualClockReleases(): { readonly vc: VirtualClock; release: (w: World, opts?: ReleaseOptions) => Promise<Run> } {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());
    return {
        get vc() {
            return vc;
        },
        release: (w, opts) => releaseOn(vc, w, opts),
    };
}

/** The calls of one command that reached the simulated AWS (throttled ones left out). */
export const calls = (sim: SimAws, command: string) => sim.apiCalls((c) => c.command === command);
