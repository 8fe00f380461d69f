/**
 * The release's deadline. Pulumi does not hand a dynamic provider the resource's customTimeouts,
 * so the Release carries them as an input, `deadlineS`, which resource.ts derives from the
 * resource's customTimeouts (Pulumi's duration grammar: "4h", "1h30m", "90s", "1.5h") and the
 * provider turns into ExecContext.deadlineMs. Pure: the Pulumi program loads it too.
 */

/** The Release's customTimeouts when the program sets none: one release may take this long. */
export const DEFAULT_RELEASE_TIMEOUT = "4h";

const UNIT_S: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };

/** Seconds in a Pulumi/Go duration ("4h", "1h30m", "90s", "2.5m"); throws naming the value otherwise. */
export function parseDurationS(text: string): number {
    const s = String(text).trim();
    const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;
    let total = 0;
    let at = 0;
    while (at < s.length) {
        re.lastIndex = at;
        const m = re.exec(s);
        if (!m) break;
        total += Number(m[1]) * UNIT_S[m[2]];
        at = re.lastIndex;
    }
    if (!s || at !== s.length || !(total > 0)) throw new Error(`customTimeouts value ${JSON.stringify(text)} is not a duration such as "4h", "1h30m" or "90s"`);
    return total;
}

/** The release's deadline in seconds from the resource's customTimeouts (update's, else create's, else the default). */
export function deadlineFromTimeouts(t: { create?: string; update?: string } | undefined, op: "create" | "update" = "update"): number {
    const text = (op === "create" ? (t?.create ?? t?.update) : (t?.update ?? t?.create)) ?? DEFAULT_RELEASE_TIMEOUT;
    return Math.round(parseDurationS(text));
}

/** The `deadlineS` input's check: a failure naming the input and its value, or null. */
export function deadlineProblem(v: unknown): string | null {
    if (v === undefined || v === null) return null;
    return typeof v === "number" && Number.isFinite(v) && v > 0 ? null : `deadlineS must be a number of seconds > 0 (the release's whole time), got ${JSON.stringify(v)}`;
}

/** When the release must be done (ms since the epoch), from the run's start and `deadlineS` (undefined: none). */
export function deadlineMs(startMs: number, deadlineS: unknown): number | undefined {
    return typeof deadlineS === "number" && deadlineS > 0 ? startMs + deadlineS * 1000 : undefined;
}
