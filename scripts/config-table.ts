/**
 * Generates, from settings/schema.ts, the README's config table and Pulumi.yaml's `config:`
 * block (the project settings; Pulumi.yaml cannot declare release:* keys).
 *
 *   npx ts-node --transpile-only scripts/config-table.ts           # print the table
 *   npx ts-node --transpile-only scripts/config-table.ts --write   # rewrite both files
 *   npx ts-node --transpile-only scripts/config-table.ts --check   # exit 1 when either is stale
 *
 * The table sits between <!-- config-table:start --> and <!-- config-table:end -->; the
 * `config:` block is the last thing in Pulumi.yaml. test/config/schema.spec.ts checks both.
 */
import * as fs from "fs";
import * as path from "path";
import { describe, pulumiType, PROJECT_SETTINGS, RELEASE_SETTINGS, type SettingSpec } from "../config";

export const ROOT = path.resolve(__dirname, "..");
export const START = "<!-- config-table:start -->";
export const END = "<!-- config-table:end -->";
const README = path.join(ROOT, "README.md");
const PULUMI_YAML = path.join(ROOT, "Pulumi.yaml");

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const defaultOf = (s: SettingSpec): unknown => ("default" in s ? s.default : undefined);
const showDefault = (d: unknown) => (d === undefined ? "" : `\`${typeof d === "string" ? d : JSON.stringify(d)}\``);

/** The markdown table (no markers). */
export function renderConfigTable(): string {
    const rows: string[] = [
        "| Setting | Type | Default | Description |",
        "| --- | --- | --- | --- |",
    ];
    const tables: [string, Record<string, SettingSpec>][] = [["", PROJECT_SETTINGS], ["release:", RELEASE_SETTINGS]];
    for (const [prefix, table] of tables) {
        for (const [key, s] of Object.entries(table)) {
            rows.push(`| \`${prefix}${key}\` | ${pulumiType(s)}${s.secret ? " (secret)" : ""} | ${showDefault(defaultOf(s))} | ${cell(describe(s))} |`);
        }
    }
    return [
        "Project settings are set with `pulumi config set <setting> <value>` (add `--secret` for secrets);",
        "release settings keep their `release:` prefix. Every value is validated before anything is created;",
        "an empty value is an error, not the default. Generated from settings/schema.ts by scripts/config-table.ts.",
        "",
        ...rows,
    ].join("\n");
}

/** Pulumi.yaml's `config:` block (project settings), as text. */
export function renderPulumiConfig(): string {
    const lines = ["config:"];
    for (const [key, s] of Object.entries(PROJECT_SETTINGS) as [string, SettingSpec][]) {
        lines.push(`  ${key}:`, `    type: ${pulumiType(s)}`);
        if (s.type === "array") lines.push("    items:", "      type: string");
        lines.push(`    description: ${JSON.stringify(describe(s))}`);
        const d = defaultOf(s);
        if (d !== undefined) lines.push(`    default: ${JSON.stringify(d)}`);
        if (s.secret) lines.push("    secret: true");
    }
    return lines.join("\n") + "\n";
}

function between(readme: string): [number, number] {
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    if (start < 0 || end < start) throw new Error(`README.md has no ${START} ... ${END} markers`);
    return [start, end];
}

/** README text with the table between the markers replaced. */
export function withTable(readme: string, table = renderConfigTable()): string {
    const [start, end] = between(readme);
    return `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`;
}

/** The text between the markers, trimmed. */
export function tableInReadme(readme: string): string {
    const [start, end] = between(readme);
    return readme.slice(start + START.length, end).trim();
}

/** Pulumi.yaml's text from its `config:` line to the end. */
export function configBlockIn(pulumiYaml: string): string {
    const at = pulumiYaml.search(/^config:$/m);
    if (at < 0) throw new Error("Pulumi.yaml has no top-level config: block");
    return pulumiYaml.slice(at);
}

export function withPulumiConfig(pulumiYaml: string, block = renderPulumiConfig()): string {
    return pulumiYaml.slice(0, pulumiYaml.length - configBlockIn(pulumiYaml).length) + block;
}

if (require.main === module) {
    const mode = process.argv[2];
    const readme = fs.readFileSync(README, "utf8");
    const pulumiYaml = fs.readFileSync(PULUMI_YAML, "utf8");
    if (mode === "--write") {
        fs.writeFileSync(README, withTable(readme));
        fs.writeFileSync(PULUMI_YAML, withPulumiConfig(pulumiYaml));
    } else if (mode === "--check") {
        const stale = [
            tableInReadme(readme) !== renderConfigTable() ? "README.md's config table" : "",
            configBlockIn(pulumiYaml) !== renderPulumiConfig() ? "Pulumi.yaml's config: block" : "",
        ].filter(Boolean);
        if (stale.length) {
            console.error(`${stale.join(" and ")} differ from settings/schema.ts: run npx ts-node --transpile-only scripts/config-table.ts --write`);
            process.exit(1);
        }
    } else {
        console.log(renderConfigTable());
    }
}
