/** Step remote: the remote phase on the management instance (checkout, install, migrate, collectstatic, switch, restart, health). */
import type { RunState } from "../run-state";

export async function remote(rs: RunState) {
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
}
