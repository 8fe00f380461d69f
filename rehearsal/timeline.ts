/**
 * What a release's progress lines say, as they come: the steps and waves with their times, the
 * timeline of the report, and whether the release put the maintenance page up. One per release.
 */
import type { StepTiming, TimelineEntry } from "./options";

export class ReleaseTimeline {
    readonly steps: StepTiming[] = [];
    readonly entries: TimelineEntry[] = [];
    /** The release put the maintenance page up (executor step maintenance-on). */
    maintenancePageUp = false;
    private readonly startMs: number;
    private lastStepAt = 0;

    constructor(startMs = Date.now()) {
        this.startMs = startMs;
    }

    /** Seconds since the release started, to a tenth. */
    at(nowMs = Date.now()): number {
        return Math.round((nowMs - this.startMs) / 100) / 10;
    }

    /** One progress line of the executor ("[release ...] " prefix allowed). */
    add(l: string, nowMs = Date.now()): void {
        const line = l.replace(/^\[release [^\]]+\] /, "");
        const a = this.at(nowMs);
        const stepDone = /^step (\S+) done in (\d+) s/.exec(line);
        const wave = /^(\S+) wave (\d+)\/(\d+) done/.exec(line);
        if (/^maintenance page on \(/.test(line)) this.maintenancePageUp = true;
        if (stepDone) {
            this.steps.push({ step: stepDone[1], atS: a, durationS: Math.round((a - this.lastStepAt) * 10) / 10 });
            this.lastStepAt = a;
        } else if (wave) {
            const previousWave = this.steps.filter((s) => / wave /.test(s.step)).pop()?.atS ?? this.lastStepAt;
            this.steps.push({ step: `${wave[1]} wave ${wave[2]}/${wave[3]}`, atS: a, durationS: Math.round((a - previousWave) * 10) / 10 });
        }
        if (!line.startsWith("      ")) this.entries.push({ atS: a, line: line.replace(/^\s+/, (s) => s.slice(0, 2)) });
    }
}
