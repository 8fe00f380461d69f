/** Step capacity: a capacity change alone (no new version), applied and waited for. */
import type { RunState } from "../run-state";
import type { Waits } from "../waits";

export async function capacity(rs: RunState, waits: Waits) {
    const c = rs.i.capacity;
    rs.log(`capacity min ${c.minSize} / desired ${c.desiredCapacity} / max ${c.maxSize}`);
    await rs.c.cloud.updateGroupSize(rs.group, { minSize: c.minSize, maxSize: c.maxSize, desiredCapacity: c.desiredCapacity });
    await waits.settled("capacity");
}
