import { installVirtualClock } from "../testkit/sim-aws/clock";
import { SimAws } from "../testkit/sim-aws";
import { rawArgs } from "../testkit/fakes";
import { runRelease } from "../providers/release/executor";
import { normalizeInputs } from "../providers/release/planner";
import { realClock } from "../providers/release/ports";
const TIMINGS = { bootS: 60, healthCheckIntervalS: 30, healthyThreshold: 3, deregistrationDelayS: 30, amiCreationS: 300 } as any;
const instantRemote = () => ({
    inspect: async (version: string) => ({ currentVersion: "v1.0.0", commit: `c-${version}`, migrations: { operations: [], verdict: "none" } }),
    apply: async (version: string) => ({ version, commit: `c-${version}`, previousVersion: "v1.0.0", migrations: { operations: [], verdict: "none" }, changedStaticPaths: [], durationS: 0 }),
    revert: async () => undefined, close: async () => undefined,
}) as any;
async function main() {
  const n = Number(process.argv[2] ?? 2), maxSurge: any = process.argv[3] ?? 2;
  const vc = installVirtualClock();
  const sim = new SimAws({ timings: TIMINGS });
  const ami = sim.addImage({ "release:version": "v1.0.0", "release:group": sim.groupName });
  sim.addTemplateVersion(ami);
  sim.seedFleet(n, { max: n, min: 1 });
  const { inputs } = normalizeInputs(rawArgs(sim, { capacity: { minSize: 1, maxSize: n, desiredCapacity: n }, remote: { transport: "ssm", repositoryUrl: "https://example.com/app.git" }, rollout: { maxSurge: isNaN(Number(maxSurge)) ? maxSurge : Number(maxSurge) } }));
  const t0 = Date.now();
  const lines: string[] = [];
  const cloud = sim.cloud();
  const r = await vc.drive(runRelease({ cloud, remotePhase: async () => instantRemote(), clock: realClock, log: (l: string) => lines.push(`${((Date.now()-t0)/1000).toFixed(0)} LOG ${l}`), inputs,
      deployed: { version: "v1.0.0", amiId: ami, baseLaunchTemplateVersion: 1, launchTemplateVersion: 2, capacity: inputs.capacity, bakeS: TIMINGS.amiCreationS } as any, owner: "trace" }));
  vc.uninstall();
  console.log(r.outcome, sim.apiCalls().length);
  for (const c of sim.apiCalls() as any[]) lines.push(`${((c.t - t0)/1000).toFixed(0)} CALL ${c.command}`);
  console.log(lines.join("\n"));
}
main();
