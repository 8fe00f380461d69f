/** Steps maintenance-on / maintenance-off: the ALB's fixed-response 503 rule while a release with breaking migrations goes out. */
import { MAINTENANCE_MARKER } from "../../ports";
import { retrying } from "../retry";
import { MAINTENANCE_TAG } from "../tags";
import { errText } from "../types";
import type { RunState } from "../run-state";

export const MAINTENANCE_HTML =
    MAINTENANCE_MARKER +
    "<!doctype html><html><head><title>Under maintenance</title></head><body><h1>We'll be right back</h1><p>The site is being updated. Please try again in a few minutes.</p></body></html>";

export async function maintenanceOn(rs: RunState) {
    rs.log(`maintenance page on (listener ${rs.i.listenerArn})`);
    rs.pageOff = false;
    // The marker first: a run killed right after adding the rule leaves the marker that makes the
    // next run look for the page (and take it off).
    await rs.c.cloud.setGroupTag(rs.group, MAINTENANCE_TAG, rs.p.runId);
    try {
        rs.p.maintenanceRuleArn = await rs.c.cloud.addMaintenanceRule(rs.i.listenerArn, MAINTENANCE_HTML);
    } catch (e) {
        // The rule may be on with its answer lost (a time-out, a reset): one look before failing,
        // so the rollback takes off a page that is on.
        const found = await rs.c.cloud.findMaintenanceRules(rs.i.listenerArn).catch(() => []);
        if (!found.length) throw e;
        rs.log(`maintenance rule ${found[0]} is on although adding it failed (${errText(e)})`);
        rs.p.maintenanceRuleArn = found[0];
    }
}

export async function maintenanceOff(rs: RunState) {
    const arn = rs.p.maintenanceRuleArn;
    if (!arn) return;
    await retrying(rs, "removing the maintenance page", () => rs.c.cloud.removeMaintenanceRule(arn));
    rs.log("maintenance page off");
    rs.p.maintenanceRuleArn = undefined;
    rs.pageOff = true;
}
