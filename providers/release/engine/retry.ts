/**
 * Bounded retries inside the engine, for steps that must not give up at the first error (the
 * unlock, the steps after the fleet runs the new version). Transient AWS errors are retried
 * first by the adapter; this covers what is left (e.g. a DeleteTags that failed 10 times).
 */
import type { RunState } from "./run-state";
import { errText, isDenied } from "./types";

/** Attempts and the first delay: 1 s, 2 s, 4 s, 8 s between five attempts (15 s at most). */
export const ENGINE_RETRY = { attempts: 5, firstDelayMs: 1000 };

export async function retrying<T>(rs: RunState, what: string, f: () => Promise<T>, attempts = ENGINE_RETRY.attempts): Promise<T> {
    let delay = ENGINE_RETRY.firstDelayMs;
    for (let k = 1; ; k++) {
        try {
            return await f();
        } catch (e) {
            if (k >= attempts || isDenied(e)) throw e;
            rs.log(`${what} failed (attempt ${k} of ${attempts}, again in ${delay / 1000} s): ${errText(e)}`);
            await rs.c.clock.sleep(delay);
            delay *= 2;
        }
    }
}
