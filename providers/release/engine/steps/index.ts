/** The step table: one function per step name, each in its own module. */
import type { StepName } from "../../planner";
import type { DeployLock } from "../lock";
import type { Ramp } from "../ramp";
import type { RunState } from "../run-state";
import type { Waits } from "../waits";
import { bake } from "./bake";
import { capacity } from "./capacity";
import { invalidate } from "./invalidate";
import { maintenanceOff, maintenanceOn } from "./maintenance";
import { prune } from "./prune";
import { remote } from "./remote";
import { template } from "./template";

export interface Parts {
    rs: RunState;
    lock: DeployLock;
    waits: Waits;
    ramp: Ramp;
}

export const STEPS: Record<StepName, (x: Parts) => Promise<void>> = {
    // Taken before the step loop (or at its first step when resuming): nothing more to do.
    lock: async () => undefined,
    "maintenance-on": (x) => maintenanceOn(x.rs),
    remote: (x) => remote(x.rs, x.lock),
    bake: (x) => bake(x.rs),
    template: (x) => template(x.rs, x.lock),
    "scale-out": (x) => x.ramp.scaleOut(),
    ramp: (x) => x.ramp.forward(),
    capacity: (x) => capacity(x.rs, x.waits),
    "maintenance-off": (x) => maintenanceOff(x.rs),
    invalidate: (x) => invalidate(x.rs),
    prune: (x) => prune(x.rs),
    unlock: (x) => x.lock.release(),
};
