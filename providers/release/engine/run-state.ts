/**
 * One run's state: its context, its progress (the only mutable record of the release, saved
 * after every step) and the remote phase, opened on first use.
 */
import type { RemotePhase } from "../ports";
import type { ReleaseInputs } from "../planner";
import { ExecContext, Progress, StepError } from "./types";

export class RunState {
    readonly i: ReleaseInputs;
    p!: Progress;
    private phase: RemotePhase | null = null;

    constructor(readonly c: ExecContext) {
        this.i = c.inputs;
    }

    get group(): string {
        return this.i.autoScalingGroupName;
    }

    log(line: string) {
        this.c.log(`[release ${this.i.version}] ${line}`);
    }

    warn(w: string) {
        if (!this.p.warnings.includes(w)) this.p.warnings.push(w);
    }

    async save() {
        if (this.c.checkpoint) await this.c.checkpoint(this.snapshot());
    }

    snapshot(): Progress {
        return JSON.parse(JSON.stringify(this.p));
    }

    /** Past the release's deadline: no new step or wave starts (a StepError: the release rolls back). */
    checkDeadline(where: string) {
        const d = this.c.deadlineMs;
        if (d !== undefined && this.c.clock.now() > d) {
            throw new StepError(where, `the release's deadline (${new Date(d).toISOString()}) passed before ${where} could start`);
        }
    }

    async remote(): Promise<RemotePhase> {
        if (!this.phase) this.phase = await this.c.remotePhase();
        return this.phase;
    }

    async close() {
        if (this.phase) await this.phase.close().catch(() => undefined);
    }
}
