/**
 * Small stateless helpers of the rehearsal: asking one instance what it serves, the executor's
 * clock sized for a local fleet, and the outcome prefix of an error message.
 */
import * as http from "http";
import type { Clock } from "../providers/release/ports";
import { versionOf } from "./traffic";

/** "release refused: X" -> "X": the outcome is shown next to the reason, once. */
export function stripOutcome(message: string): string {
    return message.replace(/^release (refused|failed|rolled[- ]back|error): /, "");
}

/** One GET with a Host header: the status and the release that answered (X-Release), if any. */
export function get(url: string, host: string): Promise<{ status: number; version: string | null }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { headers: { Host: host }, agent: false, timeout: 5000 }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, version: versionOf(res.statusCode ?? 0, res.headers) ?? null }));
        });
        req.on("timeout", () => req.destroy(new Error("timed out")));
        req.on("error", reject);
    });
}

/**
 * The executor's waits are sized for EC2 (e.g. a wave is first polled 60 s + interval x
 * threshold after launch); a local instance boots in about a second. Every sleep of the
 * executor is followed by a re-check of what it waits for (target health, draining, the image,
 * the lock read-back), so waking it at least every `capMs` only makes it look sooner.
 */
export function pollingClock(capMs = 250): Clock {
    return { now: () => Date.now(), sleep: (ms) => sleep(Math.max(0, Math.min(ms, capMs))) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
