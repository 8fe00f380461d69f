/**
 * A sample of the fault sweep (bench/faults.ts runs all of it): faults injected at AWS call k of
 * a first release, of a v1 -> v2 release and of a v1 -> v2 release that rolls back (N = 4, maxSurge 1) on the simulated AWS, and the
 * invariants checked after each (testkit/sim-aws/sweep.ts).
 */
import * as assert from "node:assert/strict";
import { referenceCalls, sweep, FaultKind, Phase } from "../../testkit/sim-aws/sweep";

describe("fault sweep (a sample; the full sweep is npm run bench:faults)", function () {
    this.timeout(120_000);

    it("a kill right after CreateImage, then a resume: the run finds its image, no second AMI", async () => {
        const calls = await referenceCalls("update");
        const k = calls.indexOf("CreateImage");
        assert.ok(k > 0);
        const r = await sweep({ kinds: ["kill-resume"], phases: ["update"], offset: k, every: 1000 });
        assert.equal(r.injected, 1);
        assert.deepEqual(r.cases[0].violations, [], JSON.stringify(r.cases[0]));
    });

    it("a kill right after a wave's SetDesiredCapacity or a decrementing terminate, then a resume: the sizes restored are the ones found", async () => {
        const calls = await referenceCalls("update");
        const ks = [calls.indexOf("SetDesiredCapacity"), calls.lastIndexOf("TerminateInstanceInAutoScalingGroup")];
        for (const k of ks) {
            const r = await sweep({ kinds: ["kill-resume"], phases: ["update"], offset: k, every: 1000 });
            assert.deepEqual(r.cases[0].violations, [], `${calls[k]} (k=${k}): ${JSON.stringify(r.cases[0])}`);
        }
    });

    it("transient errors, kills and concurrent runs at every 5th call: no half-state", async () => {
        const kinds: FaultKind[] = ["transient", "kill-resume", "kill-fresh", "concurrent"];
        const r = await sweep({ kinds, every: 5, offset: 2 });
        assert.ok(r.injected >= 60, `${r.injected} injected`);
        const bad = r.cases.filter((c) => c.violations.length).map((c) => `${c.phase} ${c.kind} k=${c.k} ${c.command}: ${c.violations.join(", ")}`);
        assert.deepEqual(bad, []);
    });

    it("a denial of what the rollback itself needs: the run says where it stands (true to the group), names the permission, and the next run with it granted restores", async () => {
        // One of each class: a read of the ramp's waits, a deregistration, a terminate (all needed to
        // replace the new instances again), the rollback's own resume of the processes it suspended,
        // and the group read the lock release needs.
        const cases: [Phase, string, "first" | "last"][] = [
            ["update", "DescribeTargetHealth", "first"],
            ["update", "DeregisterTargets", "first"],
            ["update", "TerminateInstanceInAutoScalingGroup", "first"],
            ["rollback", "ResumeProcesses", "last"],
            ["rollback", "DescribeAutoScalingGroups", "last"],
        ];
        let stranded = 0;
        for (const [phase, command, which] of cases) {
            const calls = await referenceCalls(phase);
            const k = which === "first" ? calls.indexOf(command) : calls.lastIndexOf(command);
            assert.ok(k >= 0, `${phase}: no ${command}`);
            const r = await sweep({ kinds: ["denied"], phases: [phase], offset: k, every: 1000 });
            const c = r.cases[0];
            assert.deepEqual(c.violations, [], `${phase} ${command} (k=${k}): ${JSON.stringify(c)}`);
            if (c.stranded) {
                stranded++;
                assert.match(c.message, /Where it stands: .*Next: grant the deploy role [\w-]+:\w+, then run pulumi up again/s);
            }
        }
        assert.ok(stranded >= 4, `${stranded} of ${cases.length} stranded`);
    });

    it("every permanent denial ends with a message naming the missing permission", async () => {
        const r = await sweep({ kinds: ["denied"], every: 4, offset: 1 });
        assert.equal(r.halfStates, 0, JSON.stringify(r.cases.filter((c) => c.violations.length).map((c) => [c.phase, c.k, c.command, c.violations])));
        const unnamed = r.cases.filter((c) => c.outcome !== "succeeded" || c.message).filter((c) => !/not authorized to perform: \w+:\w+/.test(c.message));
        assert.deepEqual(unnamed.map((c) => `${c.phase} k=${c.k} ${c.command}: ${c.outcome}: ${c.message.slice(0, 200)}`), []);
    });
});
