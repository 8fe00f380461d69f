/**
 * One run's state: its context, its progress (the only mutable record of the release, saved
 * after every step) and the remote phase, opened on first use.
 */
import type { Cloud, GroupState, ImageState, LaunchTemplateData, RemotePhase } from "../ports";
import type { ReleaseInputs } from "../inputs";
import { ExecContext, Progress, StepError } from "./types";

/**
 * How old a read of the group may be and still serve as a step's fence check: the check then
 * says the lock was this run's at most this long before the step's first write (a read is never
 * atomic with the writes it guards). Reads older than this are repeated.
 */
export const FENCE_FRESH_MS = 5000;
/** The same before a write to the lock tag itself (acquire, release): about one API round trip. */
export const TAG_WRITE_FRESH_MS = 1000;

/** The Cloud calls that change what DescribeAutoScalingGroups answers. */
const GROUP_WRITES = new Set<PropertyKey>(["setGroupTag", "deleteGroupTag", "deleteGroupTags", "updateGroupSize", "suspendProcesses", "resumeProcesses", "terminateInstance"] satisfies (keyof Cloud)[]);

export class RunState {
    readonly i: ReleaseInputs;
    readonly c: ExecContext;
    p!: Progress;
    /**
     * The base launch template version's data as this run read it (with the live default, under the
     * lock): the template step copies its data instead of reading it again. Versions are
     * immutable, so it stays exact; kept in memory only (a resumed run reads it anew).
     */
    baseTemplateData: LaunchTemplateData | null = null;
    private phase: RemotePhase | null = null;
    /**
     * The group's release images as the bake's last look listed them (its image available): the
     * prune step works from this list instead of listing again. Only this run creates release
     * images of the group while it holds the lock.
     */
    groupImages: ImageState[] | null = null;
    /** This run knows no maintenance page is on: it took the page off, or looked and found none. */
    pageOff = false;
    /** The last DescribeAutoScalingGroups answer of this run, and when it arrived. */
    private lastGroupRead: { g: GroupState; at: number } | null = null;
    /** Writes to the group under way, and a count bumped when one starts or ends: a read overlapping one is not kept. */
    private writesInFlight = 0;
    private writeEpoch = 0;

    constructor(c: ExecContext) {
        this.i = c.inputs;
        // Every read of the group is noted: a step's fence check reuses one made a moment ago.
        const describeGroup = async (name: string) => {
            const idle = this.writesInFlight === 0;
            const epoch = this.writeEpoch;
            const g = await c.cloud.describeGroup(name);
            if (name === this.i.autoScalingGroupName && idle && epoch === this.writeEpoch) this.lastGroupRead = { g, at: c.clock.now() };
            return g;
        };
        const cloud = new Proxy(c.cloud, {
            get: (target, key) => {
                if (key === "describeGroup") return describeGroup;
                const v = (target as any)[key];
                if (typeof v !== "function") return v;
                if (!GROUP_WRITES.has(key)) return v.bind(target);
                // A write to the group makes the noted read stale.
                return async (...args: unknown[]) => {
                    this.writesInFlight++;
                    this.writeEpoch++;
                    this.lastGroupRead = null;
                    try {
                        return await v.apply(target, args);
                    } finally {
                        this.writesInFlight--;
                        this.writeEpoch++;
                        this.lastGroupRead = null;
                    }
                };
            },
        }) as Cloud;
        this.c = { ...c, cloud };
    }

    /** The group as read at most `maxAgeMs` ago (and since this run last wrote to it), or a new read. */
    async freshGroup(maxAgeMs: number = FENCE_FRESH_MS): Promise<GroupState> {
        const r = this.lastGroupRead;
        if (r && this.c.clock.now() - r.at <= maxAgeMs) return r.g;
        return this.c.cloud.describeGroup(this.group);
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
