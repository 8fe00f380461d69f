/** The pure planner: input validation, surge resolution and the plan text `pulumi preview --diff` shows. */
import * as assert from "node:assert/strict";
import { normalizeInputs, resolveSurge, isValidVersion } from "../../providers/release/inputs";
import { Deployed, LiveView, plan } from "../../providers/release/planner";
import type { GroupState } from "../../providers/release/ports";
import { BREAKING } from "../../testkit/fakes";

const raw = (over: Record<string, any> = {}) => ({
    version: "v1.4.0",
    baseLaunchTemplateId: "lt-0abc",
    baseLaunchTemplateVersion: 1,
    autoScalingGroupName: "web",
    targetGroupArn: "arn:tg",
    listenerArn: "arn:listener",
    managementInstanceId: "i-0mgmt",
    distributionId: "E123",
    region: "eu-west-1",
    capacity: { minSize: 2, maxSize: 6, desiredCapacity: 4 },
    remote: { transport: "ssm", repositoryUrl: "https://example.com/app.git" },
    rollout: { maxSurge: 1 },
    keepImages: 5,
    ...over,
});
const inputs = (over: Record<string, any> = {}) => {
    const r = normalizeInputs(raw(over));
    assert.deepEqual(r.failures, []);
    return r.inputs;
};
const deployed: Deployed = { version: "v1.3.0", amiId: "ami-0old", baseLaunchTemplateVersion: 1, launchTemplateVersion: 7, capacity: { minSize: 2, maxSize: 6, desiredCapacity: 4 } };

function group(n: number, over: Partial<GroupState> = {}): GroupState {
    return {
        name: "web",
        minSize: 2,
        maxSize: 6,
        desiredCapacity: n,
        instances: Array.from({ length: n }, (_, k) => ({ instanceId: `i-${k}`, lifecycleState: "InService", healthStatus: "Healthy", launchTemplateVersion: "7", protectedFromScaleIn: false })),
        suspendedProcesses: [],
        tags: {},
        launchTemplate: { id: "lt-0abc", version: "$Default" },
        ...over,
    };
}
const live = (n: number, extra: Partial<LiveView> = {}): LiveView => ({
    group: group(n),
    template: { id: "lt-0abc", defaultVersion: 7, latestVersion: 7 },
    timings: { deregistrationDelayS: 30, healthCheckIntervalS: 30, healthyThreshold: 3 },
    migrations: { operations: [], verdict: "none" },
    ...extra,
});

describe("release planner", () => {
    describe("plan text", () => {
        it("normal release: remote phase, bake, template vN -> vN+1, waves, estimate", () => {
            const p = plan(inputs(), deployed, live(4));
            assert.equal(p.kind, "release");
            assert.equal(
                p.text,
                [
                    "release v1.3.0 -> v1.4.0, estimated 20 min",
                    "  1. deploy lock on web (tag release:lock, ttl 1800 s)",
                    "  2. remote phase v1.3.0 -> v1.4.0 on i-0mgmt: checkout, install, no pending migrations, migrate, collectstatic, restart, health check",
                    "  3. bake AMI from i-0mgmt",
                    "  4. launch template lt-0abc v7 -> v8 (base v1, new ImageId), made default",
                    "  5. ramp 4 instances in 4 waves of 1 (desired 4 -> 5 -> 6 while a batch drains -> 4; AZRebalance, AlarmNotification, ScheduledActions suspended)",
                    "  6. CloudFront E123: invalidate the changed non-hashed static paths the remote phase reports",
                    "  7. keep the last 5 release AMIs",
                    "  8. release the deploy lock, record history",
                ].join("\n"),
            );
            // 180 remote + 300 bake + 4 x (60 + 90) + 30 (the last drain; the others overlap the next boot) + 60 invalidation
            assert.equal(p.estimateS, 180 + 300 + 4 * 150 + 30 + 60);
        });

        it("first release: scale out from 0 to the configured capacity, no ramp", () => {
            const p = plan(inputs(), null, { ...live(0), group: group(0) });
            assert.equal(p.kind, "first");
            assert.match(p.text, /^first release of v1\.4\.0/);
            assert.match(p.text, /scale group web from 0 to min 2 \/ desired 4 \/ max 6 on the release AMI \(no ramp: no old instances\)/);
            assert.ok(!p.steps.some((s) => s.name === "ramp"));
        });

        it("first preview of a new stack (no live state): a plan from the inputs with a note", () => {
            const p = plan(inputs(), null, { note: "some inputs are known only after the stack's resources exist" });
            assert.equal(p.kind, "first");
            assert.match(p.text, /note: some inputs are known only after/);
        });

        it("base template changed, version unchanged: template from the new base + current AMI, ramp, no bake", () => {
            const p = plan(inputs({ version: "v1.3.0", baseLaunchTemplateVersion: 2 }), deployed, live(4));
            assert.equal(p.kind, "template");
            assert.ok(!p.steps.some((s) => s.name === "bake" || s.name === "remote"));
            assert.match(p.text, /launch template lt-0abc v7 -> v8 \(base v1 -> v2, AMI ami-0old kept, no re-bake\), made default/);
            assert.match(p.text, /ramp 4 instances in 4 waves of 1/);
        });

        it("capacity change alone: applied without a ramp", () => {
            const p = plan(inputs({ version: "v1.3.0", capacity: { minSize: 2, maxSize: 8, desiredCapacity: 6 } }), deployed, live(4));
            assert.equal(p.kind, "capacity");
            assert.deepEqual(p.steps.map((s) => s.name), ["lock", "capacity", "unlock"]);
            assert.match(p.text, /capacity min\/desired\/max 2\/4\/6 -> 2\/6\/8/);
        });

        it("nothing changed: no steps", () => {
            const p = plan(inputs({ version: "v1.3.0" }), deployed, live(4));
            assert.equal(p.kind, "none");
            assert.deepEqual(p.steps, []);
            assert.equal(p.text, "no change: v1.3.0 is released");
        });

        it("maxSurge 25% of 10: waves of 3", () => {
            const p = plan(inputs({ rollout: { maxSurge: "25%" } }), deployed, live(10));
            assert.match(p.text, /ramp 10 instances in 4 waves of 3 \(desired 10 -> 13 -> 16 while a batch drains -> 10/);
        });

        it("breaking migrations, policy refuse: refused, naming the migration and the way out", () => {
            const p = plan(inputs(), deployed, live(4, { migrations: BREAKING }));
            assert.equal(p.refusals.length, 1);
            assert.match(p.refusals[0], /migrationPolicy is "refuse": breaking: shop\.0007_rename_sku: RenameField \(Rename field sku on product to code\) \[RENAME_COLUMN\]; set migrationPolicy/);
            assert.match(p.text, /REFUSED:/);
        });

        it("breaking and unknown operations mixed: each under its own heading with its code", () => {
            const migrations = {
                verdict: "breaking" as const,
                operations: [
                    ...BREAKING.operations,
                    { app: "shop", migration: "0008_fill", operation: "RunPython", description: "Raw Python operation", code: null, safety: "unknown" as const },
                    { app: "shop", migration: "0008_fill", operation: "AddField", description: "Add field note to product", code: null, safety: "safe" as const },
                ],
            };
            const p = plan(inputs(), deployed, live(4, { migrations }));
            assert.equal(p.refusals.length, 1);
            assert.match(
                p.refusals[0],
                /"refuse": breaking: shop\.0007_rename_sku: RenameField \(Rename field sku on product to code\) \[RENAME_COLUMN\]; unknown: shop\.0008_fill: RunPython \(Raw Python operation\) \[UNKNOWN\]; set migrationPolicy/,
            );
            assert.doesNotMatch(p.refusals[0], /AddField/);
        });

        it("breaking migrations, policy maintenance: maintenance page on before the remote phase, off after the ramp", () => {
            const p = plan(inputs({ migrationPolicy: "maintenance" }), deployed, live(4, { migrations: BREAKING }));
            assert.deepEqual(p.refusals, []);
            const names = p.steps.map((s) => s.name);
            assert.deepEqual(names, ["lock", "maintenance-on", "remote", "bake", "template", "ramp", "maintenance-off", "invalidate", "prune", "unlock"]);
            assert.match(p.text, /1 migration operation\(s\), breaking \(policy maintenance\)/);
        });

        it("breaking migrations, policy allow: ramped with the old version serving, no maintenance page", () => {
            const p = plan(inputs({ migrationPolicy: "allow" }), deployed, live(4, { migrations: BREAKING }));
            assert.deepEqual(p.refusals, []);
            assert.equal(p.maintenance, false);
            assert.match(p.text, /breaking \(policy allow\)/);
        });

        it("Standby instances are refused by name", () => {
            const g = group(3);
            g.instances[2].lifecycleState = "Standby";
            const p = plan(inputs(), deployed, { ...live(3), group: g });
            assert.match(p.refusals[0], /instances i-2 of group web are in Standby/);
        });

        it("desired capacity 0: nothing to ramp", () => {
            const p = plan(inputs(), deployed, { ...live(0), group: group(0) });
            assert.equal(p.kind, "release");
            assert.match(p.text, /no instance to replace \(desired capacity 0\)/);
        });
    });

    describe("inputs", () => {
        it("rejects a bad version with the setting and the value", () => {
            for (const v of ["v1.0 ; rm -rf /", "", "-x", "a..b", "x".repeat(101), "v1.0/", "feature/login", "v1+hotfix"]) {
                const r = normalizeInputs(raw({ version: v }));
                assert.equal(r.failures[0]?.property, "version", v);
                assert.match(r.failures[0].reason, /is not a git tag, branch or sha/);
            }
            for (const v of ["v1.4.0", "main", "feature-login", "3f2a9c1", "release-2024.01_hotfix"]) assert.ok(isValidVersion(v), v);
        });

        it("collects every invalid setting at once", () => {
            const r = normalizeInputs(
                raw({ capacity: { minSize: 5, maxSize: 2, desiredCapacity: 1 }, rollout: { maxSurge: "150%", healthyTimeoutS: -1 }, migrationPolicy: "yolo", keepImages: 0, region: "" }),
            );
            const props = r.failures.map((f) => f.property);
            for (const p of ["capacity", "rollout.maxSurge", "rollout.healthyTimeoutS", "migrationPolicy", "keepImages", "region"]) assert.ok(props.includes(p), p);
            assert.ok(r.failures.some((f) => f.reason === "capacity.minSize (5) should be <= capacity.maxSize (2)"));
        });

        it("accepts unknown values during a first preview", () => {
            const U = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
            const r = normalizeInputs(raw({ autoScalingGroupName: U, baseLaunchTemplateVersion: U }), (v) => v === U);
            assert.deepEqual(r.failures, []);
        });

        it("resolves maxSurge counts and percentages", () => {
            assert.equal(resolveSurge(1, 4), 1);
            assert.equal(resolveSurge(2, 4), 2);
            assert.equal(resolveSurge("25%", 4), 1);
            assert.equal(resolveSurge("25%", 10), 3);
            assert.equal(resolveSurge("25%", 50), 13);
            assert.equal(resolveSurge("25%", 0), 1);
        });
    });
});
