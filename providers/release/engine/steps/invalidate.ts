/** Step invalidate: a CloudFront invalidation of the changed non-hashed static paths. */
import type { RunState } from "../run-state";
import { retrying } from "../retry";
import { errText } from "../types";

export async function invalidate(rs: RunState) {
    const { cloud } = rs.c;
    const paths = rs.p.remote?.changedStaticPaths ?? [];
    if (paths.length === 0) {
        rs.log("no changed non-hashed static file: no CloudFront invalidation");
        return;
    }
    // CloudFront accepts up to 3000 paths per invalidation; beyond that, the static prefix.
    const list = paths.length > 3000 ? [`${(rs.i.remote.staticUrl ?? "/static/").replace(/\/?$/, "/")}*`] : paths.map((p) => (p.startsWith("/") ? p : `/${p}`));
    try {
        // The caller reference makes a repeated request the same invalidation.
        const id = await retrying(rs, "CloudFront invalidation", () => cloud.createInvalidation(rs.i.distributionId, list, `release-${rs.p.runId}`));
        rs.log(`CloudFront invalidation ${id} of ${list.length} path(s)`);
        await cloud.waitForInvalidation(rs.i.distributionId, id, 1200);
        rs.log(`invalidation ${id} completed`);
    } catch (e) {
        // The fleet already runs the new version: rolling it back for a stale robots.txt would
        // do more harm than good. The release succeeds with a warning.
        rs.p.warnings.push(`CloudFront invalidation of ${list.join(", ")} failed: ${errText(e)}`);
    }
}
