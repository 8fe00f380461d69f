/**
 * What every simulated service (auto-scaling.ts, load-balancer.ts, images.ts,
 * launch-templates.ts, cloudfront.ts) shares: the timings of the simulated world, the one
 * sequence its ids come from, AWS's error shape and a service's table of command handlers.
 */

export interface SimTimings {
    bootS: number;
    healthCheckIntervalS: number;
    healthyThreshold: number;
    unhealthyThreshold: number;
    deregistrationDelayS: number;
    amiCreationS: number;
    gracePeriodS: number;
    invalidationS: number;
}

export const DEFAULT_TIMINGS: SimTimings = {
    bootS: 60,
    healthCheckIntervalS: 30,
    healthyThreshold: 3,
    unhealthyThreshold: 2,
    deregistrationDelayS: 30,
    amiCreationS: 300,
    gracePeriodS: 300,
    invalidationS: 60,
};

export function awsError(name: string, message: string, status = 400): Error {
    const e: any = new Error(message);
    e.name = name;
    e.$fault = status >= 500 ? "server" : "client";
    e.$metadata = { httpStatusCode: status };
    return e;
}

/** The ids of every resource the simulator makes (instances, images, snapshots, rules, ...), from one sequence. */
export class IdSequence {
    private seq = 0;

    next(prefix: string) {
        this.seq++;
        return `${prefix}-${this.seq.toString(16).padStart(17, "0")}`;
    }
}

/** A service's commands by name ("DescribeImages"): each takes the request's input and returns its output. */
export type Handlers = Record<string, (input: any) => any>;
