/**
 * RunState.freshGroup: the fence check reuses a read of the group made a moment ago, never one
 * older than FENCE_FRESH_MS, and never one made before this run changed the group.
 */
import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { FENCE_FRESH_MS, RunState, TAG_WRITE_FRESH_MS } from "../../providers/release/engine/run-state";
import { realClock } from "../../providers/release/ports";
import { FakeRemotePhase, inputs } from "../../testkit/fakes";
import { runningFleet } from "../../testkit/world";

describe("fence check on a fresh read of the group", () => {
    let vc: VirtualClock;
    beforeEach(() => (vc = installVirtualClock()));
    afterEach(() => vc.uninstall());

    function runState() {
        const w = runningFleet(2);
        const rs = new RunState({
            cloud: w.sim.cloud(),
            remotePhase: async () => new FakeRemotePhase("v1.0.0"),
            clock: realClock,
            log: () => undefined,
            inputs: inputs(w.sim, { version: "v1.1.0" }),
            deployed: w.deployed,
            owner: "shop/prod/web-release",
        });
        const reads = () => w.sim.apiCalls((c) => c.command === "DescribeAutoScalingGroups").length;
        return { w, rs, reads };
    }

    it("reuses a read made within FENCE_FRESH_MS, reads again after it", async () => {
        const { rs, reads } = runState();
        await vc.drive(rs.c.cloud.describeGroup(rs.group));
        assert.equal(reads(), 1);
        await vc.drive(new Promise((r) => setTimeout(r, FENCE_FRESH_MS)));
        await vc.drive(rs.freshGroup());
        assert.equal(reads(), 1, "a read FENCE_FRESH_MS old is reused");
        await vc.drive(new Promise((r) => setTimeout(r, 1)));
        await vc.drive(rs.freshGroup());
        assert.equal(reads(), 2, "an older one is not");
    });

    it("a write to the group (a tag, a size, a process, a termination) makes the read stale", async () => {
        const { rs, reads } = runState();
        const writes: Array<() => Promise<unknown>> = [
            () => rs.c.cloud.setGroupTag(rs.group, "k", "v"),
            () => rs.c.cloud.deleteGroupTags(rs.group, ["k"]),
            () => rs.c.cloud.updateGroupSize(rs.group, { maxSize: 3 }),
            () => rs.c.cloud.suspendProcesses(rs.group, ["AZRebalance"]),
            () => rs.c.cloud.resumeProcesses(rs.group, ["AZRebalance"]),
        ];
        for (const [n, write] of writes.entries()) {
            const g = await vc.drive(rs.freshGroup());
            assert.equal(await vc.drive(rs.freshGroup()), g, "reused while nothing changed");
            const before = reads();
            await vc.drive(write());
            const after = await vc.drive(rs.freshGroup());
            assert.equal(reads(), before + 1, `read again after write ${n}`);
            assert.notEqual(after, g);
        }
        const g = await vc.drive(rs.freshGroup());
        const before = reads();
        await vc.drive(rs.c.cloud.terminateInstance(g.instances[0].instanceId, false));
        await vc.drive(rs.freshGroup());
        assert.equal(reads(), before + 1, "read again after a termination");
    });

    it("a read that overlaps a write to the group is not kept", async () => {
        const { rs, reads } = runState();
        const read = rs.c.cloud.describeGroup(rs.group); // answered after the write below has started
        const write = rs.c.cloud.setGroupTag(rs.group, "k", "v");
        await vc.drive(Promise.all([read, write]));
        const before = reads();
        await vc.drive(rs.freshGroup());
        assert.equal(reads(), before + 1, "read again");
    });

    it("a read that starts and ends while a write to the group is under way is not kept either", async () => {
        const { w, rs, reads } = runState();
        // A Cloud whose size change takes a while (answered when the test says).
        let finish!: () => void;
        const slow = { ...w.sim.cloud() } as any;
        const real = w.sim.cloud();
        slow.describeGroup = (n: string) => real.describeGroup(n);
        slow.updateGroupSize = async (n: string, size: any) => {
            await new Promise<void>((r) => (finish = r));
            return real.updateGroupSize(n, size);
        };
        const rs2 = new RunState({ ...rs.c, cloud: slow });
        const write = rs2.c.cloud.updateGroupSize(rs2.group, { maxSize: 3 });
        await vc.drive(rs2.c.cloud.describeGroup(rs2.group)); // during the write
        finish();
        await vc.drive(write);
        const before = reads();
        const g = await vc.drive(rs2.freshGroup());
        assert.equal(reads(), before + 1, "read again after the write");
        assert.equal(g.maxSize, 3);
    });

    it("a write to the lock tag needs a read at most TAG_WRITE_FRESH_MS old", async () => {
        const { rs, reads } = runState();
        await vc.drive(rs.c.cloud.describeGroup(rs.group));
        await vc.drive(new Promise((r) => setTimeout(r, TAG_WRITE_FRESH_MS + 1)));
        await vc.drive(rs.freshGroup());
        assert.equal(reads(), 1, "fresh enough for a step's fence check");
        await vc.drive(rs.freshGroup(TAG_WRITE_FRESH_MS));
        assert.equal(reads(), 2, "not for a write to the lock tag");
    });

    it("reads of another group are not taken for this group's", async () => {
        const { rs, reads } = runState();
        await vc.drive(rs.c.cloud.describeGroup("some-other-group").catch(() => undefined));
        const before = reads();
        await vc.drive(rs.freshGroup());
        assert.equal(reads(), before + 1);
    });
});
