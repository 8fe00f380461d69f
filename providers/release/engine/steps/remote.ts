/** Step remote: the remote phase on the management instance (checkout, install, migrate, collectstatic, switch, restart, health). */
import { schemaAheadAfterApply } from "../../planner";
import type { DeployLock } from "../lock";
import type { RunState } from "../run-state";

export async function remote(rs: RunState, lock: DeployLock) {
    const i = rs.i;
    rs.log(`remote phase on ${i.managementInstanceId}`);
    const ph = await rs.remote();
    const r = await ph.apply(i.version, { migrationPolicy: i.migrationPolicy, log: (l) => rs.log(`  ${l}`) });
    rs.p.remote = {
        commit: r.commit,
        previousVersion: r.previousVersion,
        changedStaticPaths: r.changedStaticPaths,
        migrations: r.migrations.verdict,
        applied: r.migrations.operations.map((o) => `${o.app}.${o.migration} ${o.operation}${o.code ? ` (${o.code})` : ""}`),
    };
    if (schemaAheadAfterApply(r.migrations.verdict, i.migrationPolicy)) {
        // Past the point of no return: said on the group at once (one call, in such releases only),
        // so a run that takes over from this one if it dies never puts the old code back.
        rs.p.schemaAhead = r.migrations.verdict;
        await rs.save();
        await lock.writeProgress();
    }
}
