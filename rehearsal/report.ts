/**
 * The rehearsal's report as text (the default) — `--json` prints the RehearsalResult itself.
 */
import { formatDiagnosis } from "./diagnosis";
import type { RehearsalResult } from "./rehearsal";

const STEP_LABELS: Record<string, string> = {
    lock: "inspect + deploy lock",
    remote: "remote phase",
    bake: "bake image",
    template: "launch template version",
    ramp: "ramp (all waves)",
    "maintenance-on": "maintenance page on",
    "maintenance-off": "maintenance page off",
    invalidate: "CDN invalidation",
    prune: "prune old images",
    capacity: "capacity",
    "scale-out": "scale out",
};

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

export function formatReport(r: RehearsalResult, lbUrl?: string): string {
    const t = r.traffic;
    const out: string[] = [];
    out.push("");
    out.push(`Rehearsal ${r.from} -> ${r.to}: ${r.instances} instance(s), maxSurge ${r.maxSurge}, ${r.database === "sqlite" ? "SQLite" : "PostgreSQL"}${lbUrl ? `, HAProxy ${lbUrl}` : ""}`);
    out.push(`Set-up: the fleet came up at ${r.from} in ${r.setupS} s (a first release through the same executor)`);
    out.push("");
    out.push("Timeline (seconds since the release started)");
    for (const s of r.steps) {
        const label = / wave /.test(s.step) ? `  ${s.step}` : STEP_LABELS[s.step] ?? s.step;
        out.push(`  ${lpad(s.atS.toFixed(1), 6)}  ${pad(label, 26)} ${lpad(s.durationS.toFixed(1), 5)} s`);
    }
    out.push(`  ${lpad(r.release.durationS.toFixed(1), 6)}  release ${r.release.outcome}${r.release.reason ? `: ${r.release.reason}` : ""}`);
    if (r.diagnosis?.length) out.push(formatDiagnosis(r.diagnosis));
    out.push("");
    out.push(`Traffic through the load balancer (${t.durationS} s, Host: ${r.host}; each page, then every hashed asset it references)`);
    out.push(`  requests            ${t.requests} (${t.pages} pages, ${t.assets} assets)`);
    out.push(`  non-2xx             ${t.non2xx}`);
    if (t.maintenance) {
        const why = t.maintenanceAllowed ? `on purpose: migration policy "maintenance"` : "counted as failed: the release did not put the maintenance page up on purpose";
        out.push(`  maintenance page    ${t.maintenance} (503 with Retry-After, ${why})`);
    }
    out.push(`  static 404s         ${t.static404}`);
    out.push(`  connection errors   ${t.connectionErrors}`);
    out.push(`  latency p50 / p99   ${t.p50Ms} ms / ${t.p99Ms} ms (max ${t.maxMs} ms)`);
    out.push(`  version answering   (pages per ${t.timeline[0] ? t.timeline[0].toS - t.timeline[0].fromS : 5} s; the traffic started ${r.trafficLeadS} s before the release)`);
    for (const b of t.timeline) {
        const v = Object.entries(b.versions)
            .sort(([a], [b2]) => a.localeCompare(b2))
            .map(([k, n]) => `${k} ${lpad(n, 3)}`)
            .join("   ");
        out.push(`    ${lpad(`${b.fromS}-${b.toS} s`, 11)}   ${v || "-"}`);
    }
    if (t.pages > 0 && Object.keys(t.versions).length === 0) {
        out.push(`  no 2xx page carried an X-Release header: add django_fleet's ReleaseHeaderMiddleware (django_fleet.configure(globals()) does)`);
    }
    for (const f of t.failures) out.push(`  FAILED ${f.kind} ${f.path} at ${(f.t / 1000).toFixed(1)} s: ${f.status || f.error}`);
    if (t.failures.some((f) => f.status === 400)) {
        out.push(`  400 Bad Request: does the app allow Host ${r.host} (ALLOWED_HOSTS)? Read ALLOWED_HOSTS from the environment (django_fleet.configure) or pass --host`);
    }
    out.push("");
    out.push(`Fleet after the release: ${r.fleet.map((f) => `${f.instanceId} :${f.port} ${f.status === 200 ? f.version ?? "(no X-Release)" : `HTTP ${f.status}`}`).join(", ") || "(no instance InService)"}`);
    out.push(verdict(r));
    return out.join("\n");
}

export function verdict(r: RehearsalResult): string {
    const expected = r.release.outcome === "succeeded" ? r.to : r.from;
    const fleetOk = r.fleet.length === r.instances && r.fleet.every((f) => f.version === expected);
    const traffic = `${r.traffic.failed} failed request(s) of ${r.traffic.requests}, ${r.traffic.static404} static 404(s)`;
    const fleet = fleetOk ? `every instance serves ${expected}` : `the fleet is NOT uniformly on ${expected}`;
    return `${r.ok ? "OK" : "NOT OK"}: release ${r.release.outcome}; ${traffic}; ${fleet}`;
}
