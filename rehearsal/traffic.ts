/**
 * Live traffic for the rehearsal: a steady stream of page visits through the load balancer, each
 * followed by a request for every hashed static asset the page references (as a browser behind
 * the CDN would: the CDN misses on a new hashed name and asks the origin). Node's http module
 * with a keep-alive agent, so connections to the load balancer are reused like a browser's.
 *
 * It records every request (kind, status, latency, the version that answered) and reports:
 * requests, non-2xx responses, static 404s, connection errors, p50/p99 latency, and which
 * version answered over time. A 503 with Retry-After is the maintenance page: counted apart, and
 * not a failure only when it was shown on purpose (the release's migration policy is
 * "maintenance" and the release put the page up: summarize's `maintenanceAllowed`); otherwise
 * it is a failed request like any other non-2xx.
 */
import * as http from "http";

export interface TrafficOptions {
    /** The load balancer: "http://127.0.0.1:8080". */
    baseUrl: string;
    /** Host header (must be in the app's ALLOWED_HOSTS; the rehearsal asks the app). @default "localhost" */
    host?: string;
    /** Pages requested. @default ["/"] */
    pages?: string[];
    /** Page visits started per second (each one then fetches the page's assets). @default 15 */
    visitsPerS?: number;
    /** STATIC_URL: asset references under it are fetched. @default "/static/" */
    staticUrl?: string;
    /** Per-request time-out. @default 10000 */
    timeoutMs?: number;
    /** Visits in flight at most (a slow backend makes the generator skip ticks, never pile up). @default 32 */
    maxInFlight?: number;
    /**
     * The maintenance page may be shown on purpose (migration policy "maintenance"): its responses
     * are not reported to onFailure as they happen. The report decides with stop()'s argument.
     * @default false
     */
    maintenanceExpected?: boolean;
}

export type RequestKind = "page" | "asset";

export interface RequestRecord {
    /** Milliseconds since the traffic started. */
    t: number;
    kind: RequestKind;
    path: string;
    /** HTTP status; 0 for a connection error or a time-out. */
    status: number;
    ms: number;
    /** The release that answered (X-Release of a 2xx page; pages only). */
    version?: string;
    /** A 503 with Retry-After: the maintenance page (a failure unless the report allows it). */
    maintenance?: boolean;
    error?: string;
}

export interface VersionBucket {
    /** Start of the bucket, seconds since the traffic started. */
    fromS: number;
    toS: number;
    /** Pages answered by each version in this bucket. */
    versions: Record<string, number>;
}

export interface TrafficReport {
    durationS: number;
    requests: number;
    pages: number;
    assets: number;
    /** Non-2xx responses, the maintenance pages included unless maintenanceAllowed. */
    non2xx: number;
    /** Maintenance pages (503 with Retry-After), whether allowed or not. */
    maintenance: number;
    /**
     * True when the maintenance page was shown on purpose (migration policy "maintenance" and the
     * release put it up): its responses are then not failures. Otherwise they count in non2xx/failed.
     */
    maintenanceAllowed: boolean;
    static404: number;
    connectionErrors: number;
    /** non2xx + connectionErrors. */
    failed: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    /** Pages answered by each version, over the whole run. */
    versions: Record<string, number>;
    /** Which version answered over time. */
    timeline: VersionBucket[];
    /** For each version, when it answered a page first and last (seconds since the traffic started). */
    versionSpans: Record<string, { firstS: number; lastS: number }>;
    /** Up to 10 failed requests, for the diagnosis. */
    failures: RequestRecord[];
}

const HASHED = /\.[0-9a-f]{12}\.[A-Za-z0-9]+$/;

/** The asset URLs a page references (href/src under STATIC_URL), hashed names only. */
export function hashedAssets(html: string, staticUrl = "/static/"): string[] {
    const out = new Set<string>();
    const re = /(?:href|src)\s*=\s*["']([^"']+)["']/g;
    for (let m = re.exec(html); m; m = re.exec(html)) {
        const url = m[1].split(/[?#]/)[0];
        if (url.startsWith(staticUrl) && HASHED.test(url)) out.add(url);
    }
    return [...out];
}

/**
 * The release that answered: the X-Release header (django_fleet's ReleaseHeaderMiddleware) of a
 * 2xx answer. A 4xx/5xx is a failure, never a version (Django's "Bad Request (400)" page is no
 * release), and the page's content is not read.
 */
export function versionOf(status: number, headers: http.IncomingHttpHeaders): string | undefined {
    if (status < 200 || status > 299) return undefined;
    const h = headers["x-release"];
    return typeof h === "string" && h ? h : undefined;
}

export function percentile(sorted: number[], p: number): number {
    if (sorted.length === 0) return 0;
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[i];
}

/**
 * Builds the report from the records (pure: tested without a server). `maintenanceAllowed`: the
 * maintenance page was shown on purpose (migration policy "maintenance", page put up by the
 * release), so its responses are not failures; by default they are.
 */
export function summarize(records: RequestRecord[], durationMs: number, bucketS = 5, maintenanceAllowed = false): TrafficReport {
    const latencies = records.filter((r) => r.status !== 0).map((r) => r.ms).sort((a, b) => a - b);
    const pages = records.filter((r) => r.kind === "page");
    const versions: Record<string, number> = {};
    const versionSpans: Record<string, { firstS: number; lastS: number }> = {};
    const buckets = new Map<number, Record<string, number>>();
    for (const r of pages) {
        if (!r.version) continue;
        versions[r.version] = (versions[r.version] ?? 0) + 1;
        const span = (versionSpans[r.version] ??= { firstS: r.t / 1000, lastS: r.t / 1000 });
        span.firstS = Math.min(span.firstS, r.t / 1000);
        span.lastS = Math.max(span.lastS, r.t / 1000);
        const b = Math.floor(r.t / 1000 / bucketS);
        const row = buckets.get(b) ?? {};
        row[r.version] = (row[r.version] ?? 0) + 1;
        buckets.set(b, row);
    }
    const nBuckets = Math.ceil(durationMs / 1000 / bucketS);
    const timeline: VersionBucket[] = [];
    for (let b = 0; b < nBuckets; b++) timeline.push({ fromS: b * bucketS, toS: (b + 1) * bucketS, versions: buckets.get(b) ?? {} });
    const failures = records.filter((r) => !(maintenanceAllowed && r.maintenance) && (r.status === 0 || r.status < 200 || r.status > 299));
    const connectionErrors = records.filter((r) => r.status === 0).length;
    const non2xx = failures.length - connectionErrors;
    return {
        durationS: Math.round(durationMs / 100) / 10,
        requests: records.length,
        pages: pages.length,
        assets: records.length - pages.length,
        non2xx,
        maintenance: records.filter((r) => r.maintenance).length,
        maintenanceAllowed,
        static404: records.filter((r) => r.kind === "asset" && r.status === 404).length,
        connectionErrors,
        failed: non2xx + connectionErrors,
        p50Ms: round1(percentile(latencies, 50)),
        p99Ms: round1(percentile(latencies, 99)),
        maxMs: round1(latencies[latencies.length - 1] ?? 0),
        versions,
        timeline,
        versionSpans,
        failures: failures.slice(0, 10),
    };
}

const round1 = (x: number) => Math.round(x * 10) / 10;

export class Traffic {
    private readonly o: Required<TrafficOptions>;
    private readonly agent: http.Agent;
    private readonly records: RequestRecord[] = [];
    private timer: NodeJS.Timeout | null = null;
    private inFlight = new Set<Promise<void>>();
    private startedAt = 0;
    private stoppedAt = 0;
    private next = 0;
    /** Called for every failed request as it happens. */
    onFailure: (r: RequestRecord) => void = () => undefined;

    constructor(opts: TrafficOptions) {
        this.o = {
            host: "localhost",
            pages: ["/"],
            visitsPerS: 15,
            staticUrl: "/static/",
            timeoutMs: 10_000,
            maxInFlight: 32,
            maintenanceExpected: false,
            ...opts,
        };
        this.agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    }

    get requestCount(): number {
        return this.records.length;
    }

    /** Pages answered so far by each version, since `sinceMs` (ms since the start). */
    versionsSince(sinceMs: number): Record<string, number> {
        const out: Record<string, number> = {};
        for (const r of this.records) if (r.kind === "page" && r.version && r.t >= sinceMs) out[r.version] = (out[r.version] ?? 0) + 1;
        return out;
    }

    elapsedMs(): number {
        return Date.now() - this.startedAt;
    }

    start(): void {
        if (this.timer) return;
        this.startedAt = Date.now();
        const every = 1000 / this.o.visitsPerS;
        this.timer = setInterval(() => {
            if (this.inFlight.size >= this.o.maxInFlight) return;
            const visit = this.visit(this.o.pages[this.next++ % this.o.pages.length]);
            this.inFlight.add(visit);
            void visit.finally(() => this.inFlight.delete(visit));
        }, every);
    }

    /**
     * Stops starting visits, waits for those in flight, closes the connections, reports.
     * `maintenanceAllowed`: see summarize (default: the maintenance page is a failure).
     */
    async stop(opts: { maintenanceAllowed?: boolean } = {}): Promise<TrafficReport> {
        if (this.timer) clearInterval(this.timer);
        this.timer = null;
        await Promise.allSettled([...this.inFlight]);
        this.stoppedAt = this.stoppedAt || Date.now();
        this.agent.destroy();
        return this.report(opts);
    }

    report(opts: { maintenanceAllowed?: boolean } = {}): TrafficReport {
        return summarize(this.records, (this.stoppedAt || Date.now()) - this.startedAt, 5, opts.maintenanceAllowed ?? false);
    }

    private async visit(page: string): Promise<void> {
        const res = await this.get("page", page);
        if (res.status !== 200) return;
        await Promise.all(hashedAssets(res.body, this.o.staticUrl).map((a) => this.get("asset", a)));
    }

    private get(kind: RequestKind, path: string): Promise<{ status: number; body: string }> {
        const t0 = Date.now();
        const rec: RequestRecord = { t: t0 - this.startedAt, kind, path, status: 0, ms: 0 };
        return new Promise((resolve) => {
            let settled = false;
            const done = (status: number, body: string, error?: string) => {
                if (settled) return;
                settled = true;
                rec.status = status;
                rec.ms = Date.now() - t0;
                if (error) rec.error = error;
                this.records.push(rec);
                if (!(this.o.maintenanceExpected && rec.maintenance) && (status === 0 || status < 200 || status > 299)) this.onFailure(rec);
                resolve({ status, body });
            };
            const req = http.get(this.o.baseUrl + path, { agent: this.agent, headers: { Host: this.o.host, "User-Agent": "rehearsal-traffic" }, timeout: this.o.timeoutMs }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => {
                    if (kind === "page") chunks.push(c);
                });
                res.on("end", () => {
                    const body = Buffer.concat(chunks).toString("utf8");
                    if (kind === "page") rec.version = versionOf(res.statusCode ?? 0, res.headers);
                    if (res.statusCode === 503 && res.headers["retry-after"] !== undefined) rec.maintenance = true;
                    done(res.statusCode ?? 0, body);
                });
                res.on("error", (e) => done(0, "", e.message));
            });
            req.on("timeout", () => req.destroy(new Error(`no answer within ${this.o.timeoutMs} ms`)));
            req.on("error", (e) => done(0, "", e.message));
        });
    }
}
