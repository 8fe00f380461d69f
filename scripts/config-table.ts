/**
 * The README's config reference, generated from Pulumi.yaml (project settings) and
 * RELEASE_SETTINGS in config.ts (release:* settings, which Pulumi.yaml cannot declare).
 *
 *   npx ts-node --transpile-only scripts/config-table.ts           # print the table
 *   npx ts-node --transpile-only scripts/config-table.ts --write   # rewrite it in README.md
 *   npx ts-node --transpile-only scripts/config-table.ts --check   # exit 1 when README.md is stale
 *
 * The table sits between <!-- config-table:start --> and <!-- config-table:end -->.
 */
import * as fs from "fs";
import * as path from "path";
import { RELEASE_SETTINGS, SettingSpec } from "../config";

const yaml: { load(text: string): unknown } = require("js-yaml");

export const ROOT = path.resolve(__dirname, "..");
export const START = "<!-- config-table:start -->";
export const END = "<!-- config-table:end -->";

interface YamlSetting {
    type: string;
    description?: string;
    default?: unknown;
    secret?: boolean;
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
const showDefault = (d: unknown) => (d === undefined ? "" : `\`${typeof d === "string" ? d : JSON.stringify(d)}\``);

/** The markdown table (no markers). */
export function renderConfigTable(pulumiYaml = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")): string {
    const project = yaml.load(pulumiYaml) as { config: Record<string, YamlSetting> };
    const rows: string[] = [
        "| Setting | Type | Default | Description |",
        "| --- | --- | --- | --- |",
    ];
    for (const [key, s] of Object.entries(project.config)) {
        rows.push(`| \`${key}\` | ${s.type}${s.secret ? " (secret)" : ""} | ${showDefault(s.default)} | ${cell(s.description ?? "")} |`);
    }
    for (const [key, s] of Object.entries(RELEASE_SETTINGS) as [string, SettingSpec][]) {
        rows.push(`| \`release:${key}\` | ${s.type}${s.secret ? " (secret)" : ""} | ${showDefault(s.default)} | ${cell(s.description)} |`);
    }
    return [
        "Project settings are set with `pulumi config set <setting> <value>` (add `--secret` for secrets);",
        "release settings keep their `release:` prefix. Every value is validated before anything is created.",
        "",
        ...rows,
    ].join("\n");
}

/** README text with the table between the markers replaced. */
export function withTable(readme: string, table = renderConfigTable()): string {
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    if (start < 0 || end < start) throw new Error(`README.md has no ${START} ... ${END} markers`);
    return `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`;
}

/** The text between the markers, trimmed. */
export function tableInReadme(readme: string): string {
    const start = readme.indexOf(START);
    const end = readme.indexOf(END);
    if (start < 0 || end < start) throw new Error(`README.md has no ${START} ... ${END} markers`);
    return readme.slice(start + START.length, end).trim();
}

if (require.main === module) {
    const readmePath = path.join(ROOT, "README.md");
    const mode = process.argv[2];
    if (mode === "--write") {
        fs.writeFileSync(readmePath, withTable(fs.readFileSync(readmePath, "utf8")));
    } else if (mode === "--check") {
        if (tableInReadme(fs.readFileSync(readmePath, "utf8")) !== renderConfigTable()) {
            console.error("README.md's config table is stale: run npx ts-node --transpile-only scripts/config-table.ts --write");
            process.exit(1);
        }
    } else {
        console.log(renderConfigTable());
    }
}
