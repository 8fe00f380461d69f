import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { describe as describeSetting, PROJECT, PROJECT_SETTINGS, pulumiType, RELEASE_SETTINGS, type SettingSpec } from "../../config";
import { configBlockIn, renderConfigTable, renderPulumiConfig, tableInReadme } from "../../scripts/config-table";
import { ROOT } from "../support/pulumi-mocks";

const yaml: { load(text: string): any } = require("js-yaml");
const load = (file: string) => yaml.load(fs.readFileSync(path.join(ROOT, file), "utf8"));

describe("config: Pulumi.yaml, stack files and the README table", () => {
    const project = load("Pulumi.yaml");

    it("names the project django-fleet on the nodejs runtime", () => {
        assert.strictEqual(project.name, PROJECT);
        assert.strictEqual(project.runtime.name ?? project.runtime, "nodejs");
    });

    it("declares every project setting with the type, description (bounds included), default and secrecy of settings/schema.ts", () => {
        assert.deepStrictEqual(Object.keys(project.config), Object.keys(PROJECT_SETTINGS));
        for (const [key, spec] of Object.entries(PROJECT_SETTINGS) as [string, SettingSpec][]) {
            const declared = project.config[key];
            assert.strictEqual(declared.type, pulumiType(spec), `${key}: type`);
            assert.strictEqual(declared.description, describeSetting(spec), `${key}: description`);
            assert.deepStrictEqual(declared.default, "default" in spec ? spec.default : undefined, `${key}: default`);
            assert.strictEqual(declared.secret ?? false, spec.secret ?? false, `${key}: secret`);
            if (spec.type === "array") assert.deepStrictEqual(declared.items, { type: "string" }, `${key}: items`);
        }
    });

    it("its config: block is the text scripts/config-table.ts generates from the schema", () => {
        const text = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
        assert.strictEqual(configBlockIn(text), renderPulumiConfig(), "Pulumi.yaml is stale: run npx ts-node --transpile-only scripts/config-table.ts --write");
    });

    it("declares no release:* key (Pulumi refuses types outside the project namespace) and says why", () => {
        assert.ok(Object.keys(project.config).every((k) => !k.includes(":")));
        const text = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
        assert.match(text, /not namespaced by the project and should not define a type/);
        assert.match(text, /RELEASE_SETTINGS in settings\/schema\.ts/);
    });

    it("gives every release setting a type and a description", () => {
        for (const [key, spec] of Object.entries(RELEASE_SETTINGS) as [string, SettingSpec][]) {
            assert.ok(["string", "integer", "boolean"].includes(pulumiType(spec)), key);
            assert.ok(spec.description.length > 10, key);
        }
    });

    for (const stack of ["prod", "staging"]) {
        it(`Pulumi.${stack}.yaml sets only known keys and keeps secrets out of plain text`, () => {
            const config = load(`Pulumi.${stack}.yaml`).config as Record<string, unknown>;
            for (const key of Object.keys(config)) {
                const [ns, name] = key.split(":");
                if (ns === PROJECT) assert.ok(name in PROJECT_SETTINGS, key);
                else if (ns === "release") assert.ok(name in RELEASE_SETTINGS, key);
                else assert.strictEqual(ns, "aws", key);
            }
            for (const secretKey of ["django-fleet:dbPassword", "release:sshPrivateKey"]) {
                const v = config[secretKey];
                assert.ok(v === undefined || (typeof v === "object" && v !== null && "secure" in v), `${secretKey} must be set with --secret`);
            }
        });
    }

    it("README's config table (between the markers) is what scripts/config-table.ts generates", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        assert.strictEqual(tableInReadme(readme), renderConfigTable(),
            "README.md is stale: run npx ts-node --transpile-only scripts/config-table.ts --write");
    });

    it("the table has a row per project and release setting", () => {
        const rows = renderConfigTable().split("\n").filter((l) => l.startsWith("| `"));
        assert.strictEqual(rows.length, Object.keys(PROJECT_SETTINGS).length + Object.keys(RELEASE_SETTINGS).length);
        assert.ok(rows.some((r) => r.startsWith("| `release:version` |")));
        assert.ok(rows.some((r) => r.startsWith(`| \`minSize\` | integer | \`${PROJECT_SETTINGS.minSize.default}\` | `) && r.includes(`From ${PROJECT_SETTINGS.minSize.min} to ${PROJECT_SETTINGS.minSize.max}.`)));
        assert.ok(rows.some((r) => r.startsWith(`| \`release:keepImages\` | integer | \`${RELEASE_SETTINGS.keepImages.default}\` |`)));
        assert.ok(rows.some((r) => r.startsWith("| `dbPassword` | string (secret) |")));
    });
});
