/**
 * The fault sweep (testkit/sim-aws/sweep.ts) over a first release and a v1 -> v2 release of
 * N = 4 instances, maxSurge 1, on the simulated AWS (real SDK clients, virtual clock).
 *
 * Usage: npm run bench:faults                 (a summary and every case that left a half-state)
 *        npm run bench:faults -- --json       (one JSON object: injected, survived, halfStates, byKind, ...)
 *        npm run bench:faults -- --every 3    (every third call index only)
 */
import { sweep } from "../testkit/sim-aws/sweep";

async function main() {
    const args = process.argv.slice(2);
    const json = args.includes("--json");
    const at = args.indexOf("--every");
    const every = at >= 0 ? Number(args[at + 1]) : 1;
    if (!Number.isInteger(every) || every < 1) throw new Error(`--every must be an integer >= 1, got ${args[at + 1]}`);
    const t0 = Date.now();
    const r = await sweep({ every, progress: json ? undefined : (d, t) => d % 50 === 0 && process.stderr.write(`${d}/${t}\n`) });
    const summary = { injected: r.injected, survived: r.survived, halfStates: r.halfStates, deniedNamed: r.deniedNamed, stranded: r.stranded, byKind: r.byKind, byInvariant: r.byInvariant, wallS: Math.round((Date.now() - t0) / 1000) };
    if (json) {
        process.stdout.write(JSON.stringify({ ...summary, halfStateCases: r.cases.filter((c) => c.violations.length), ...(process.env.SWEEP_ALL ? { cases: r.cases } : {}) }) + "\n");
    } else {
        console.log(JSON.stringify(summary, null, 2));
        for (const c of r.cases.filter((x) => x.violations.length)) console.log(`${c.phase} ${c.kind} k=${c.k} ${c.command}: ${c.outcome}: ${c.violations.join(", ")} -- ${c.message.slice(0, 300)}`);
    }
}

main().then(
    () => process.exit(0),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
