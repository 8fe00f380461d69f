/** A simulated stack with a running fleet, for the executor and provider tests. */
import * as assert from "node:assert/strict";
import { SimAws, SimOptions } from "./sim-aws";
import { Deployed } from "../providers/release/planner";
import { SUSPENDED_PROCESSES, LOCK_TAG, PROGRESS_TAG } from "../providers/release/executor";
import { realClock, type Clock, type RemotePhase } from "../providers/release/ports";

export interface World {
    sim: SimAws;
    deployed: Deployed;
    /** The state of the group before the release, to compare with after it. */
    before: { desired: number; max: number; min: number; suspended: string[] };
}

/** A fleet of `n` healthy instances on release v1.0.0 (launch template v2 on a release AMI). */
export function runningFleet(n = 4, opts: SimOptions & { max?: number; suspended?: string[] } = {}): World {
    const sim = new SimAws(opts);
    const ami = sim.addImage({ "release:version": "v1.0.0", "release:group": sim.groupName });
    const v = sim.addTemplateVersion(ami);
    sim.seedFleet(n, { max: opts.max ?? 6, min: Math.min(2, n) });
    for (const p of opts.suspended ?? []) sim.group.suspended.add(p);
    return {
        sim,
        deployed: { version: "v1.0.0", amiId: ami, baseLaunchTemplateVersion: 1, launchTemplateVersion: v, capacity: { minSize: 2, maxSize: 6, desiredCapacity: 4 } },
        before: { desired: sim.group.desired, max: sim.group.max, min: sim.group.min, suspended: [...sim.group.suspended].sort() },
    };
}

/** The known good state every fault-matrix case ends in. */
export function expectKnownGood(w: World, opts: { version?: number; desired?: number; max?: number } = {}) {
    const { sim } = w;
    sim.advance();
    const fleet = sim.fleet();
    const versions = sim.fleetVersions();
    assert.ok(versions.length <= 1, `one template version in the fleet, got ${versions.join(", ")}`);
    if (opts.version !== undefined && fleet.length) assert.equal(versions[0], opts.version, "fleet template version");
    if (versions.length) assert.equal(sim.defaultVersion, versions[0], "default template version is the fleet's");
    for (const i of fleet) assert.equal(i.state, "InService", `${i.id} state`);
    assert.equal(sim.group.desired, opts.desired ?? w.before.desired, "desired capacity");
    assert.equal(fleet.length, sim.group.desired, "instances = desired (no leaked instance)");
    assert.equal(sim.group.max, opts.max ?? w.before.max, "max size");
    assert.deepEqual([...sim.group.suspended].sort(), w.before.suspended, "suspended processes as before");
    assert.equal(sim.group.tags.has(LOCK_TAG), false, "lock released");
    assert.equal(sim.group.tags.has(PROGRESS_TAG), false, "progress tag removed");
    assert.equal(sim.rules.size, 0, "no maintenance rule left");
}

export { SUSPENDED_PROCESSES };

/**
 * A release process that dies during its bake, at its first look at the image after CreateImage:
 * from that call on, every AWS call, sleep and remote-phase call of the run fails as a dead
 * process's would (an interruption: no rollback), and it leaves no saved state. Pass `clock` and
 * `remotePhase` to the run; after it, `bury()` lets the simulated AWS answer the next run.
 */
export function diesDuringBake(w: World, remote: RemotePhase) {
    const interrupted = () => Object.assign(new Error("process killed"), { interrupted: true });
    let killed = false;
    let created = false;
    w.sim.inject = (c) => {
        if (killed) return interrupted();
        if (c.command === "CreateImage") created = true;
        else if (created && c.command === "DescribeImages") {
            killed = true;
            return interrupted();
        }
        return undefined;
    };
    const clock: Clock = { now: () => Date.now(), sleep: (ms) => (killed ? Promise.reject(interrupted()) : realClock.sleep(ms)) };
    const dying = new Proxy(remote, { get: (t: any, k) => (typeof t[k] === "function" ? (...a: any[]) => (killed ? Promise.reject(interrupted()) : t[k](...a)) : t[k]) }) as RemotePhase;
    return {
        clock,
        remotePhase: async () => dying,
        killed: () => killed,
        bury: () => {
            w.sim.inject = null;
        },
    };
}
