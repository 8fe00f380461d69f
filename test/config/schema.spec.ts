/**
 * settings/schema.ts is the single source of every setting's default, bound and enum: the
 * Release's input defaults, the components' defaults and the one maxSurge grammar are checked
 * against it here (the README table and Pulumi.yaml in pulumi-yaml.spec.ts).
 */
import * as assert from "assert";
import { ConfigError, describe as describeSetting, parseConfig, PROJECT_DEFAULTS, PROJECT_SETTINGS, RELEASE_DEFAULTS, RELEASE_SETTINGS } from "../../config";
import { DEFAULT_ROLLOUT, normalizeInputs, resolveSurge } from "../../providers/release/inputs";
import { SimAws } from "../../testkit/sim-aws";
import { rawArgs } from "../../testkit/fakes";

// plainHttpOrigin: a minimal stack without a certificate must opt in to plain HTTP to the origin.
const BASE = { "django-fleet:repositoryUrl": "https://github.com/example-org/mysite.git", "django-fleet:plainHttpOrigin": "true" };

describe("settings schema: one source", () => {
    it("the Release applies the release:* settings' defaults when a caller omits them (rollout, migrationPolicy, keepImages)", () => {
        const raw: Record<string, unknown> = rawArgs(new SimAws());
        delete raw.rollout;
        delete raw.migrationPolicy;
        delete raw.keepImages;
        const { inputs, failures } = normalizeInputs(raw);
        assert.deepStrictEqual(failures, []);
        assert.strictEqual(inputs.rollout.maxSurge, RELEASE_DEFAULTS.maxSurge);
        assert.strictEqual(inputs.rollout.bakeTimeoutS, RELEASE_DEFAULTS.bakeTimeout);
        assert.strictEqual(inputs.rollout.healthyTimeoutS, RELEASE_DEFAULTS.healthyTimeout);
        assert.strictEqual(inputs.rollout.drainTimeoutS, RELEASE_DEFAULTS.drainTimeout);
        assert.strictEqual(inputs.migrationPolicy, RELEASE_DEFAULTS.migrationPolicy);
        assert.strictEqual(inputs.keepImages, RELEASE_DEFAULTS.keepImages);
        assert.deepStrictEqual(
            { bakeTimeoutS: DEFAULT_ROLLOUT.bakeTimeoutS, keepImages: inputs.keepImages },
            { bakeTimeoutS: 3600, keepImages: 3 },
            "the values chosen where config.ts and the planner disagreed",
        );
    });

    it("the Release applies the capacity settings' defaults for an omitted capacity member", () => {
        const { inputs } = normalizeInputs(rawArgs(new SimAws(), { capacity: {} }));
        assert.deepStrictEqual(inputs.capacity, { minSize: PROJECT_DEFAULTS.minSize, maxSize: PROJECT_DEFAULTS.maxSize, desiredCapacity: PROJECT_DEFAULTS.desiredCapacity });
    });

    it("the stack program and the Release accept and refuse the same maxSurge values", () => {
        const accepted = (v: string) => {
            let config: boolean;
            try {
                parseConfig({ ...BASE, "release:maxSurge": v }, "t");
                config = true;
            } catch (e) {
                assert.ok(e instanceof ConfigError);
                config = false;
            }
            const release = !normalizeInputs(rawArgs(new SimAws(), { rollout: { maxSurge: v } })).failures.some((f) => f.property === "rollout.maxSurge");
            assert.strictEqual(config, release, `maxSurge ${JSON.stringify(v)}: config ${config ? "accepts" : "refuses"} it, the Release ${release ? "accepts" : "refuses"} it`);
            return config;
        };
        for (const v of ["1", "2", "1000", "25%", "12.5%", "100%", "0.5%"]) assert.ok(accepted(v), v);
        for (const v of ["0", "-1", "1001", "1.5", "0%", "150%", "100.5%", "25 %", "%", "abc", "1e3"]) assert.ok(!accepted(v), v);
        assert.strictEqual(resolveSurge("12.5%", 16), 2);
        assert.strictEqual(resolveSurge("12.5%", 17), 3, "a percentage rounds up");
    });

    it("descriptions state each bound and enum from the entry's numbers", () => {
        assert.match(describeSetting(PROJECT_SETTINGS.availabilityZoneCount), /From 2 to 6\.$/);
        assert.match(describeSetting(PROJECT_SETTINGS.vpcCidr), /Prefix \/16 to \/24, inside an RFC 1918 private range/);
        assert.match(describeSetting(PROJECT_SETTINGS.adminCidr), /Prefix \/8 to \/32\.$/);
        assert.strictEqual(describeSetting(RELEASE_SETTINGS.migrationPolicy), "Breaking or unknown migrations: refuse, maintenance (maintenance page during the release) or allow.");
        assert.match(describeSetting(PROJECT_SETTINGS.dbPassword), /16 to 128 characters\.$/);
        assert.match(describeSetting(PROJECT_SETTINGS.dbEngineVersion), /Majors 13 to 18\.$/);
        // No hand-written bound left in a description: "(2 to 6)", "(1-35)", ">= 2" and the like come from describe().
        for (const [key, spec] of [...Object.entries(PROJECT_SETTINGS), ...Object.entries(RELEASE_SETTINGS)]) {
            assert.ok(!/\b\d+ ?(to|-) ?\d+\b|>= ?\d/.test(spec.description), `${key}'s description restates a bound: ${spec.description}`);
        }
    });
});
