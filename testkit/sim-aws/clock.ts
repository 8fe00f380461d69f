/**
 * The virtual clock of the simulated-cloud tests and the benchmark: @sinonjs/fake-timers fakes
 * Date, setTimeout and friends, so the executor's Clock (realClock), the SDK's retry backoff and
 * its waiters all run on virtual time; `drive` advances it from timer to timer until a promise
 * settles. A release of hours of simulated time runs in milliseconds.
 */
import { loadSharedConfigFiles } from "@smithy/core/config";
import * as FakeTimers from "@sinonjs/fake-timers";

/** The real setTimeout, captured before any fake clock is installed. */
const realSetTimeout = globalThis.setTimeout;

let sharedFilesRead: Promise<unknown> | undefined;

/**
 * The SDK reads its shared files (~/.aws/config and ~/.aws/credentials) once per process, with
 * real I/O, and answers from a cache afterwards (every client of the process shares it: one
 * @smithy/core, a devDependency so that it stays one copy). `drive` awaits this read before it
 * runs any virtual time: while the read is pending, a timer that is always due (a test's sampler)
 * would move the clock a virtual second per turn of the event loop, and the release would start
 * that late (164 virtual seconds in test/release/pipeline.spec.ts on a loaded machine). The SDK's
 * own loader, whatever the environment says: it reads both files into that cache.
 */
function sdkSharedFilesRead(): Promise<unknown> {
    sharedFilesRead ??= loadSharedConfigFiles().catch(() => undefined);
    return sharedFilesRead;
}

export const EPOCH = Date.UTC(2026, 0, 5, 9, 0, 0);

export interface VirtualClock {
    clock: FakeTimers.InstalledClock;
    /** Advances virtual time timer by timer until `p` settles; rejects if nothing is left to run. */
    drive<T>(p: Promise<T>, maxVirtualS?: number): Promise<T>;
    /** Advances virtual time by `ms` (running whatever is due). */
    advance(ms: number): Promise<void>;
    uninstall(): void;
}

export function installVirtualClock(now = EPOCH): VirtualClock {
    const clock = FakeTimers.install({
        now,
        toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
        loopLimit: 1_000_000,
        shouldClearNativeTimers: true,
    } as any);
    return {
        clock,
        async drive<T>(p: Promise<T>, maxVirtualS = 7 * 86400): Promise<T> {
            let settled = false;
            const watched = p.then(
                (v) => {
                    settled = true;
                    return v;
                },
                (e) => {
                    settled = true;
                    throw e;
                },
            );
            watched.catch(() => undefined);
            await sdkSharedFilesRead();
            const limit = clock.now + maxVirtualS * 1000;
            let idle = 0;
            while (!settled) {
                if (clock.countTimers() === 0) {
                    // Pending real I/O or microtasks: give them real time before declaring a stall.
                    await new Promise<void>((r) => (idle < 20 ? setImmediate(r) : realSetTimeout(r, 2)));
                    if (++idle > 2000) throw new Error("virtual clock: no timer left and the promise is still pending");
                    continue;
                }
                idle = 0;
                await clock.nextAsync();
                if (clock.now > limit) throw new Error(`virtual clock: still pending after ${maxVirtualS} virtual seconds`);
            }
            return watched;
        },
        async advance(ms: number) {
            await clock.tickAsync(ms);
        },
        uninstall() {
            clock.uninstall();
        },
    };
}
