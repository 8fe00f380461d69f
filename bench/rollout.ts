/**
 * Rollout benchmark: the release executor against the simulated AWS (real SDK clients, virtual
 * clock) for fleets of N = 2, 4, 10, 50 and maxSurge 1, 2, 25 %, with realistic timings:
 * boot 60 s, health-check interval 30 s, healthy threshold 3, deregistration delay 30 s,
 * AMI creation 5 min.
 *
 *   makespan   simulated seconds from the start of the release to its end
 *   bound      the physical bound: waves x (boot + healthy x interval + drain) + bake
 *   ratio      makespan / bound (goal <= 1.05)
 *   API calls  successful AWS API calls of the whole release divided by the replaced instances
 *              (goal <= 10); includes the fixed per-release calls (lock, bake, template, ...)
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
import { SimAws } from "../testkit/sim-aws";
import { rawArgs } from "../testkit/fakes";
import { runRelease } from "../providers/release/executor";
import { normalizeInputs, resolveSurge } from "../providers/release/planner";
import { realClock } from "../providers/release/ports";
import type { RemotePhase } from "../providers/release/ports";

const TIMINGS = { bootS: 60, healthCheckIntervalS: 30, healthyThreshold: 3, deregistrationDelayS: 30, amiCreationS: 300 };

interface Row {
    n: number;
    maxSurge: number | string;
    waves: number;
    makespanS: number;
    boundS: number;
    ratio: number;
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

async function one(n: number, maxSurge: number | string): Promise<Row> {
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
                deployed: { version: "v1.0.0", amiId: ami, baseLaunchTemplateVersion: 1, launchTemplateVersion: 2, capacity: inputs.capacity },
                owner: "bench/rollout",
            }),
        );
        if (r.outcome !== "succeeded" || r.progress.replaced.length !== n) throw new Error(`release did not replace ${n} instances: ${r.outcome}`);
        const makespanS = (Date.now() - t0) / 1000;
        const s = resolveSurge(maxSurge, n);
        const waves = Math.ceil(n / s);
        const waveS = TIMINGS.bootS + TIMINGS.healthyThreshold * TIMINGS.healthCheckIntervalS + TIMINGS.deregistrationDelayS;
        const boundS = waves * waveS + TIMINGS.amiCreationS;
        const serialS = n * waveS + TIMINGS.amiCreationS;
        return {
            n,
            maxSurge,
            waves,
            makespanS: Math.round(makespanS),
            boundS,
            ratio: Math.round((makespanS / boundS) * 1000) / 1000,
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
    for (const n of [2, 4, 10, 50]) for (const s of [1, 2, "25%"] as const) rows.push(await one(n, s));
    // The split: least squares of calls = fixed + perWave x waves + perInstance x n over all rows.
    const fit = leastSquares(rows.map((r) => [1, r.waves, r.n]), rows.map((r) => r.apiCalls));
    const fixed = Math.round(fit[0] * 10) / 10;
    for (const r of rows) {
        r.fixedCalls = fixed;
        r.marginalCallsPerInstance = Math.round(((r.apiCalls - fixed) / r.n) * 10) / 10;
    }
    if (json) {
        console.log(
            JSON.stringify(
                rows.map(({ n, maxSurge, makespanS, boundS, ratio, apiCallsPerInstance, serialS, waves, apiCalls, fixedCalls, marginalCallsPerInstance, byCommand }) => ({
                    n, maxSurge, makespanS, boundS, ratio, apiCallsPerInstance, serialS, waves, apiCalls, fixedCalls, marginalCallsPerInstance, byCommand,
                })),
            ),
        );
        return;
    }
    const out = [
        "| N | maxSurge | waves | makespan (s) | bound (s) | ratio | API calls | API calls / replaced instance | fixed per release | marginal / instance | seed serial (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...rows.map(
            (r) =>
                `| ${r.n} | ${r.maxSurge} | ${r.waves} | ${r.makespanS} | ${r.boundS} | ${r.ratio.toFixed(3)} | ${r.apiCalls} | ${r.apiCallsPerInstance.toFixed(1)} | ${r.fixedCalls} | ${r.marginalCallsPerInstance?.toFixed(1)} | ${r.serialS} |`,
        ),
    ];
    console.log(out.join("\n"));
    console.log(`\nAPI calls fit over all rows: ${fit[0].toFixed(1)} per release + ${fit[1].toFixed(2)} per wave + ${fit[2].toFixed(2)} per replaced instance.`);
    console.log(`\nTimings: boot ${TIMINGS.bootS} s, health check every ${TIMINGS.healthCheckIntervalS} s x ${TIMINGS.healthyThreshold}, deregistration delay ${TIMINGS.deregistrationDelayS} s, AMI ${TIMINGS.amiCreationS} s; remote phase not counted (instant fake).`);
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
