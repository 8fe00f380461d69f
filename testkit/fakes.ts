/** A working fake RemotePhase and input builders for the release tests. */
import type { MigrationReport, PhaseOptions, RemoteInspection, RemotePhase, RemotePhaseResult } from "../providers/release/ports";
import { RemotePhaseError } from "../providers/release/ports";
import { normalizeInputs, ReleaseInputs } from "../providers/release/inputs";
import type { SimAws } from "./sim-aws";

export const NO_MIGRATIONS: MigrationReport = { operations: [], verdict: "none" };
export const BREAKING: MigrationReport = {
    verdict: "breaking",
    operations: [
        { app: "shop", migration: "0007_rename_sku", operation: "RenameField", description: "Rename field sku on product to code", code: "RENAME_COLUMN", safety: "breaking" },
    ],
};

export class FakeRemotePhase implements RemotePhase {
    current: string | null;
    calls: string[] = [];
    migrations: MigrationReport = NO_MIGRATIONS;
    changedStaticPaths: string[] = [];
    /** Make apply fail at this step with this stderr. */
    failAt: { step: string; stderr: string } | null = null;
    /** Virtual seconds the phase takes. */
    durationS = 0;

    constructor(current: string | null = null) {
        this.current = current;
    }

    /** Make inspect fail (e.g. the version does not exist). */
    failInspect: string | null = null;

    async inspect(version: string): Promise<RemoteInspection> {
        this.calls.push(`inspect ${version}`);
        if (this.failInspect) throw new RemotePhaseError(this.failInspect, "checkout", `fatal: couldn't find remote ref ${version}`);
        return { currentVersion: this.current, commit: `c0ffee-${version}`, migrations: this.migrations };
    }

    async apply(version: string, opts: PhaseOptions): Promise<RemotePhaseResult> {
        this.calls.push(`apply ${version} ${opts.migrationPolicy}`);
        if (this.durationS) await new Promise((r) => setTimeout(r, this.durationS * 1000));
        if (this.failAt) throw new RemotePhaseError(`${this.failAt.step} failed (exit 1)`, this.failAt.step, this.failAt.stderr);
        opts.log(`checked out ${version}`);
        const previousVersion = this.current;
        this.current = version;
        return { version, commit: `c0ffee-${version}`, previousVersion, migrations: this.migrations, changedStaticPaths: this.changedStaticPaths, durationS: this.durationS };
    }

    async revert(version: string): Promise<void> {
        this.calls.push(`revert ${version}`);
        this.current = version;
    }

    async close(): Promise<void> {
        this.calls.push("close");
    }
}

export function rawArgs(sim: SimAws, over: Record<string, any> = {}) {
    return {
        version: "v1.1.0",
        baseLaunchTemplateId: sim.ltId,
        baseLaunchTemplateVersion: 1,
        autoScalingGroupName: sim.groupName,
        targetGroupArn: sim.tgArn,
        listenerArn: sim.listenerArn,
        managementInstanceId: sim.mgmtId,
        distributionId: sim.distributionId,
        region: "eu-west-1",
        capacity: { minSize: 2, maxSize: 6, desiredCapacity: 4 },
        remote: { transport: "ssh", repositoryUrl: "https://example.com/app.git", ssh: { host: "10.0.0.5", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n", hostKeySha256: "SHA256:abc" } },
        rollout: { maxSurge: 1, pollIntervalS: 10 },
        migrationPolicy: "refuse",
        keepImages: 3,
        providerVersion: "1",
        ...over,
    };
}

/** The Release's `targetGroupTimings` input as the program passes it: the (simulated) target group's own. */
export function targetGroupTimingsOf(sim: SimAws) {
    return { healthCheckIntervalS: sim.t.healthCheckIntervalS, healthyThreshold: sim.t.healthyThreshold, deregistrationDelayS: sim.t.deregistrationDelayS };
}

export function inputs(sim: SimAws, over: Record<string, any> = {}): ReleaseInputs {
    const { inputs: i, failures } = normalizeInputs(rawArgs(sim, over));
    if (failures.length) throw new Error(failures.map((f) => f.reason).join("; "));
    return i;
}
