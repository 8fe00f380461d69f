/**
 * Rollout benchmark: the release executor against the simulated AWS (real SDK clients, virtual
 * clock) for fleets of N = 2, 4, 10, 50 and maxSurge 1, 2, 25 %, with realistic timings:
 * boot 60 s, health-check interval 30 s, healthy threshold 3, deregistration delay 30 s,
 * AMI creation 5 min.
 *
 *   makespan   simulated seconds from the start of the release to its end
 *   bound      the unpipelined bound: waves x (boot + healthy x interval + drain) + bake
 *   pipelinedBoundS  the pipelined bound: waves x (boot + healthy x interval) + drain + bake (each
 *              wave's replacements boot while the previous batch drains)
 *   ratio      makespan / pipelined bound (goal <= 1.03)
 *   irMakespanS  EC2 Instance Refresh on the same fleet and timings (testkit/sim-aws/instance-refresh.ts),
 *              at the same extra capacity (MinHealthyPercentage 100, MaxHealthyPercentage =
 *              100 x (N + surge) / N), instance warmup = the stack's health-check grace period (300 s:
 *              AWS's documented default warmup), plus the same bake
 *   vsIR       makespan / irMakespanS (goal <= 0.8 for N >= 4)
 *   irTunedMakespanS / vsIRTuned  the same with the warmup tuned to the target group's own
 *              healthy span (healthy x interval): the fastest warmup that never counts an instance
 *              the load balancer does not yet route to
 *   healthCheck  the target group's interval x healthy threshold ("30x3" the seed's, "10x3" faster)
 *   API calls  successful AWS API calls of the whole release divided by the replaced instances
 *              (goal <= 10); includes the fixed per-release calls (lock, bake, template, ...).
 *              Each row is a release after the first: the state says how long the last bake took
 *              (a first release looks at its image 3 more times). The Release gets the target
 *              group's timings as the program passes them (targetGroupTimings), so it reads none. The remote phase takes no time
 *              here, so the fence checks of the remote and bake steps reuse the lock's read-back;
 *              on AWS each is a read of its own (2 more calls).
 *   fixed / marginal  the split: a least-squares fit over all rows of
 *              calls = fixed + perWave x waves + perInstance x N; "fixed" is the per-release part,
 *              "marginal" = (calls - fixed) / N the calls each replaced instance adds (its waves included)
 *   serial     the seed's procedure (x+1, one instance at a time): N x (boot + healthy x interval
 *              + drain) + bake
 *
 * Usage: npm run bench:rollout            (a Markdown table)
 *        npm run bench:rollout -- --json  (one JSON array, one object per row)
 */
import { installVirtualClock } from "../testkit/sim-aws/clock";
import { simulateInstanceRefresh } from "../testkit/sim-aws/instance-refresh";
import { SimAws } from "../testkit/sim-aws";
import { rawArgs, targetGroupTimingsOf } from "../testkit/fakes";
import { runRelease } from "../providers/release/executor";
import { normalizeInputs, resolveSurge } from "../providers/release/inputs";
import { realClock } from "../providers/release/ports";
import type { RemotePhase } from "../providers/release/ports";

const TIMINGS = { bootS: 60, healthCheckIntervalS: 30, healthyThreshold: 3, deregistrationDelayS: 30, amiCreationS: 300 };
/** A faster health check than the seed's 30 s x 3 (settings healthCheckInterval 10, healthyThreshold 3). */
const FAST = { ...TIMINGS, healthCheckIntervalS: 10 };
/** The stack's health-check grace period (settings/schema.ts), Instance Refresh's default warmup. */
const GRACE_S = 300;
type Timings = typeof TIMINGS;

interface Row {
    n: number;
    maxSurge: number | string;
    healthCheck: string;
    waves: number;
    makespanS: number;
    boundS: number;
    pipelinedBoundS: number;
    ratio: number;
    irMakespanS: number;
    vsIR: number;
    irTunedMakespanS: number;
    vsIRTuned: number;
    apiCallsPerInstance: number;
    serialS: number;
    apiCalls: number;
    /** Filled after all rows: fixedCalls from the fit, marginalCallsPerInstance = (apiCalls - fixedCalls) / n. */
    fixedCalls?: number;
    marginalCallsPerInstance?: number;
    /** Calls per command, for the curious (--json only). */
    byCommand: Record<string, number>;
}

const instantRemote = (): RemotePhase => ({
    inspect: async (version) => ({ currentVersion: "v1.0.0", commit: `c-${version}`, migrations: { operations: [], verdict: "none" } }),
    apply: async (version) => ({ version, commit: `c-${version}`, previousVersion: "v1.0.0", migrations: { operations: [], verdict: "none" }, changedStaticPaths: [], durationS: 0 }),
    revert: async () => undefined,
    close: async () => undefined,
});

const r3 = (x: number) => Math.round(x * 1000) / 1000;

async function one(n: number, maxSurge: number | string, TIMINGS: Timings): Promise<Row> {
    const vc = installVirtualClock();
    try {
        const sim = new SimAws({ timings: TIMINGS });
        const ami = sim.addImage({ "release:version": "v1.0.0", "release:group": sim.groupName });
        sim.addTemplateVersion(ami);
        sim.seedFleet(n, { max: n, min: 1 });
        const { inputs, failures } = normalizeInputs(rawArgs(sim, {
            capacity: { minSize: 1, maxSize: n, desiredCapacity: n },
            remote: { transport: "ssm", repositoryUrl: "https://example.com/app.git" },
            rollout: { maxSurge },
            // As the program passes them: the target group's own (no read of it during the release).
            targetGroupTimings: targetGroupTimingsOf(sim),
        }));
        if (failures.length) throw new Error(failures.map((f) => f.reason).join("; "));
        const t0 = Date.now();
        const r = await vc.drive(
            runRelease({
                cloud: sim.cloud(),
                remotePhase: async () => instantRemote(),
                clock: realClock,
                log: () => undefined,
                inputs,
                // A release after the first: the state records how long the last bake took.
                deployed: { version: "v1.0.0", amiId: ami, baseLaunchTemplateVersion: 1, launchTemplateVersion: 2, capacity: inputs.capacity, bakeS: TIMINGS.amiCreationS },
                owner: "bench/rollout",
            }),
        );
        if (r.outcome !== "succeeded" || r.progress.replaced.length !== n) throw new Error(`release did not replace ${n} instances: ${r.outcome}`);
        const makespanS = (Date.now() - t0) / 1000;
        const s = resolveSurge(maxSurge, n);
        const waves = Math.ceil(n / s);
        const healthyS = TIMINGS.healthyThreshold * TIMINGS.healthCheckIntervalS;
        const waveS = TIMINGS.bootS + healthyS + TIMINGS.deregistrationDelayS;
        const boundS = waves * waveS + TIMINGS.amiCreationS;
        const pipelinedBoundS = waves * (TIMINGS.bootS + healthyS) + TIMINGS.deregistrationDelayS + TIMINGS.amiCreationS;
        const serialS = n * waveS + TIMINGS.amiCreationS;
        // Instance Refresh at the same extra capacity: MaxHealthyPercentage allows N + surge.
        const prefs = { minHealthyPercentage: 100, maxHealthyPercentage: Math.min(200, Math.ceil((100 * (n + s)) / n)) };
        const ir = simulateInstanceRefresh(n, TIMINGS, { ...prefs, instanceWarmupS: GRACE_S });
        const irTuned = simulateInstanceRefresh(n, TIMINGS, { ...prefs, instanceWarmupS: healthyS });
        if (ir.maxCounted !== n + s || ir.minLbHealthy < n) throw new Error(`instance refresh model at N=${n}: ${JSON.stringify(ir)}`);
        const irMakespanS = ir.makespanS + TIMINGS.amiCreationS;
        const irTunedMakespanS = irTuned.makespanS + TIMINGS.amiCreationS;
        return {
            n,
            maxSurge,
            healthCheck: `${TIMINGS.healthCheckIntervalS}x${TIMINGS.healthyThreshold}`,
            waves,
            makespanS: Math.round(makespanS),
            boundS,
            pipelinedBoundS,
            ratio: r3(makespanS / pipelinedBoundS),
            irMakespanS,
            vsIR: r3(makespanS / irMakespanS),
            irTunedMakespanS,
            vsIRTuned: r3(makespanS / irTunedMakespanS),
            apiCallsPerInstance: Math.round((sim.apiCalls().length / n) * 10) / 10,
            serialS,
            apiCalls: sim.apiCalls().length,
            byCommand: sim.apiCalls().reduce((a, c) => ((a[c.command] = (a[c.command] ?? 0) + 1), a), {} as Record<string, number>),
        };
    } finally {
        vc.uninstall();
    }
}

/** Least squares: the coefficients b minimising |X b - y| (normal equations, Gauss-Jordan). */
function leastSquares(x: number[][], y: number[]): number[] {
    const k = x[0].length;
    const a = Array.from({ length: k }, (_, i) => [...Array.from({ length: k }, (_, j) => x.reduce((s, r) => s + r[i] * r[j], 0)), x.reduce((s, r, n) => s + r[i] * y[n], 0)]);
    for (let c = 0; c < k; c++) {
        const p = a.reduce((best, r, i) => (i >= c && Math.abs(r[c]) > Math.abs(a[best][c]) ? i : best), c);
        [a[c], a[p]] = [a[p], a[c]];
        for (let i = 0; i < k; i++) {
            if (i === c) continue;
            const f = a[i][c] / a[c][c];
            for (let j = c; j <= k; j++) a[i][j] -= f * a[c][j];
        }
    }
    return a.map((r, i) => r[k] / r[i]);
}

async function main() {
    const json = process.argv.includes("--json");
    const rows: Row[] = [];
    for (const n of [2, 4, 10, 50]) for (const s of [1, 2, "25%"] as const) rows.push(await one(n, s, TIMINGS));
    // The split: least squares of calls = fixed + perWave x waves + perInstance x n over the seed-timing rows.
    const fit = leastSquares(rows.map((r) => [1, r.waves, r.n]), rows.map((r) => r.apiCalls));
    const fixed = Math.round(fit[0] * 10) / 10;
    for (const r of rows) {
        r.fixedCalls = fixed;
        r.marginalCallsPerInstance = Math.round(((r.apiCalls - fixed) / r.n) * 10) / 10;
    }
    // The health-check timing as a setting: the same fleets with a 10 s x 3 check.
    const fast: Row[] = [];
    for (const n of [4, 10, 50]) for (const s of [1, "25%"] as const) fast.push(await one(n, s, FAST));
    if (json) {
        console.log(
            JSON.stringify(
                [...rows, ...fast].map(({ byCommand, ...r }) => ({ ...r, byCommand })),
            ),
        );
        return;
    }
    const out = [
        "| N | maxSurge | waves | makespan (s) | pipelined bound (s) | ratio | Instance Refresh (s) | vsIR | IR, tuned warmup (s) | vsIRTuned | API calls | fixed per release | marginal / instance | unpipelined bound (s) | seed serial (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...rows.map(
            (r) =>
                `| ${r.n} | ${r.maxSurge} | ${r.waves} | ${r.makespanS} | ${r.pipelinedBoundS} | ${r.ratio.toFixed(3)} | ${r.irMakespanS} | ${r.vsIR.toFixed(3)} | ${r.irTunedMakespanS} | ${r.vsIRTuned.toFixed(3)} | ${r.apiCalls} | ${r.fixedCalls} | ${r.marginalCallsPerInstance?.toFixed(1)} | ${r.boundS} | ${r.serialS} |`,
        ),
    ];
    console.log(out.join("\n"));
    console.log(`\nAPI calls fit over all rows: ${fit[0].toFixed(1)} per release + ${fit[1].toFixed(2)} per wave + ${fit[2].toFixed(2)} per replaced instance.`);
    console.log(`\nTimings: boot ${TIMINGS.bootS} s, health check every ${TIMINGS.healthCheckIntervalS} s x ${TIMINGS.healthyThreshold}, deregistration delay ${TIMINGS.deregistrationDelayS} s, AMI ${TIMINGS.amiCreationS} s; remote phase not counted (instant fake).`);
    console.log("\nHealth-check timing (healthCheckInterval x healthyThreshold): makespan (s)\n");
    console.log("| N | maxSurge | 30 s x 3 | 10 s x 3 | saved |\n|---:|---:|---:|---:|---:|");
    for (const f of fast) {
        const seed = rows.find((r) => r.n === f.n && r.maxSurge === f.maxSurge)!;
        console.log(`| ${f.n} | ${f.maxSurge} | ${seed.makespanS} | ${f.makespanS} | ${seed.makespanS - f.makespanS} |`);
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
