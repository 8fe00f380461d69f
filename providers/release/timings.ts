/**
 * The Release's `targetGroupTimings` input: the target group's health-check interval, healthy
 * threshold and deregistration delay as the program that created the target group knows them
 * (components/loadBalancer.ts passes the target group's own outputs), so that a release need not
 * read them (DescribeTargetGroups, DescribeTargetGroupAttributes). Without it a release reads
 * the target group, as before.
 *
 * What trusting it may cost when it is stale (the target group changed outside Pulumi): the
 * interval and threshold only schedule looks (a wrong value costs time, the waits still end on
 * the target group's own states); the delay bounds the drain wait, so a target still draining
 * past it makes the run read the target group's own delay (engine/waits.ts). Changing it alone is
 * no change for diff(): a new health-check setting starts no release.
 *
 * Bounds: the stack settings that configure each member (settings/schema.ts; ELB's own).
 */
import { PROJECT_SETTINGS } from "../../settings/schema";
import type { TargetGroupTimings } from "./ports";

/**
 * Each member: the stack setting it comes from, that setting's bounds, and its unit. (Plain
 * numbers copied at load: the functions below never capture the whole settings table.)
 */
const member = <K extends "healthCheckInterval" | "healthyThreshold" | "deregistrationDelay">(setting: K, unit: string) => ({
    setting,
    min: PROJECT_SETTINGS[setting].min,
    max: PROJECT_SETTINGS[setting].max,
    unit,
});
const TIMING_SETTINGS: Record<keyof TargetGroupTimings, { setting: string; min: number; max: number; unit: string }> = {
    healthCheckIntervalS: member("healthCheckInterval", "seconds"),
    healthyThreshold: member("healthyThreshold", "checks"),
    deregistrationDelayS: member("deregistrationDelay", "seconds"),
};

const q = (v: unknown) => JSON.stringify(v);

/**
 * The input, validated: undefined when absent or not known yet (a preview before the target group
 * exists: the run reads the target group then); each bad member reported through `fail`, naming it
 * and its value.
 */
export function parseTargetGroupTimings(
    raw: unknown,
    isUnknown: (v: unknown) => boolean,
    fail: (property: string, reason: string) => void,
): TargetGroupTimings | undefined {
    if (raw === undefined || raw === null || isUnknown(raw)) return undefined;
    const names = Object.keys(TIMING_SETTINGS).join(", ");
    if (typeof raw !== "object" || Array.isArray(raw)) {
        fail("targetGroupTimings", `targetGroupTimings must be an object { ${names} }, got ${q(raw)}`);
        return undefined;
    }
    const r = raw as Record<string, unknown>;
    let ok = true;
    for (const k of Object.keys(r)) {
        if (!(k in TIMING_SETTINGS)) {
            fail(`targetGroupTimings.${k}`, `targetGroupTimings has no member ${q(k)} (it takes ${names}), got ${q(r[k])}`);
            ok = false;
        }
    }
    if (Object.values(r).some(isUnknown)) return undefined;
    for (const [k, { setting, min, max, unit }] of Object.entries(TIMING_SETTINGS)) {
        const v = r[k];
        if (!(typeof v === "number" && Number.isInteger(v) && v >= min && v <= max)) {
            fail(`targetGroupTimings.${k}`, `targetGroupTimings.${k} (the target group's ${setting}) must be a whole number of ${unit} from ${min} to ${max}, got ${q(v)}`);
            ok = false;
        }
    }
    if (!ok) return undefined;
    return { healthCheckIntervalS: r.healthCheckIntervalS as number, healthyThreshold: r.healthyThreshold as number, deregistrationDelayS: r.deregistrationDelayS as number };
}
