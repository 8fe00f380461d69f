/**
 * The generic reader: turns the raw strings of one namespace into typed values, entry by entry,
 * from the schema alone (type, default, bounds, enum, secret) plus the key's check in checks.ts.
 * Problems are collected, never thrown here: rules.ts adds the cross-field ones and throws one
 * ConfigError listing them all.
 */
import { EC2_INSTANCE_TYPES, knownDbInstanceClass } from "./checks";
import { Cidr, cidrWithin, parseBoolean, parseCidr, parseEnum, parseSurge, parseWholeNumber, RFC1918, type Result } from "./grammar";
import type { Parsed, SettingSpec } from "./schema";

/** Keys "django-fleet:<name>" and "release:<name>", values as Pulumi hands them to the program. */
export type Raw = Record<string, string | undefined>;

/** One error for all bad settings; `problems` holds one line per setting. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` + problems.map((p) => `  - ${p}`).join("\n"));
        this.name = "ConfigError";
    }
}

export class Problems {
    readonly list: string[] = [];
    /** Keys whose value was refused: cross-field rules skip them (one problem per cause). */
    readonly refused = new Set<string>();
    add(text: string): void {
        this.list.push(text);
    }
    /** "<key> <value as JSON> <why>"; a secret's value is never shown. */
    bad(name: string, value: unknown, why: string, secret = false): void {
        this.refused.add(name);
        this.list.push(secret ? `${name} (secret) ${why}` : `${name} ${JSON.stringify(value)} ${why}`);
    }
}

const PRIVATE_RANGES = RFC1918.map((r) => (parseCidr(r) as { ok: Cidr }).ok);

const orError = <T>(r: Result<T>, onError: (error: string) => void): T | undefined => {
    if ("ok" in r) return r.ok;
    onError(r.error);
    return undefined;
};

/** Reads a string-valued entry's text; undefined when refused (already reported). */
function readText(name: string, spec: SettingSpec, v: string, problems: Problems): unknown {
    const bad = (why: string, shown: unknown = v) => problems.bad(name, shown, why, spec.secret);
    switch (spec.type) {
        case "integer":
            return orError(parseWholeNumber(v, spec.min, spec.max), (e) => bad(e, /^-?\d+$/.test(v) ? Number(v) : v));
        case "boolean":
            return orError(parseBoolean(v), bad);
        case "surge":
            return orError(parseSurge(v, spec.maxCount), bad);
        case "cidr": {
            const c = orError(parseCidr(v), bad);
            if (c === undefined) return undefined;
            if (c.prefix < spec.prefix.min || c.prefix > spec.prefix.max) return bad(`must have a prefix between /${spec.prefix.min} and /${spec.prefix.max}`);
            if (spec.rfc1918 && !PRIVATE_RANGES.some((r) => cidrWithin(c, r))) {
                return bad(`is not a private range: it must lie inside ${RFC1918.join(", ")} (RFC 1918)`);
            }
            return v;
        }
        case "postgresVersion": {
            const m = /^(\d{1,3})(\.\d{1,3})?$/.exec(v);
            if (!m || Number(m[1]) < spec.major.min || Number(m[1]) > spec.major.max) return bad(`must be a PostgreSQL version from ${spec.major.min} to ${spec.major.max}, like ${spec.default} or ${spec.default}.4`);
            return v;
        }
        case "instanceType":
            if (spec.rds ? !knownDbInstanceClass(v) : !EC2_INSTANCE_TYPES.has(v)) {
                return bad(spec.rds ? "is not an RDS instance class @pulumi/aws knows, like db.t4g.micro or db.m7g.large" : "is not an EC2 instance type @pulumi/aws knows, like t3.small or m7g.large");
            }
            return v;
        case "string":
            if (spec.enum) return orError(parseEnum(v, Object.keys(spec.enum)), bad);
            if (spec.length && (v.length < spec.length.min || v.length > spec.length.max)) {
                if (spec.secret) problems.bad(`${name}`, undefined, `must be ${spec.length.min} to ${spec.length.max} characters (it has ${v.length})`, true);
                else bad(`must be ${spec.length.min} to ${spec.length.max} characters`);
                return undefined;
            }
            return v;
        case "array":
            throw new Error(`readText: ${name} is an array`);
    }
}

/** An array: a JSON list of strings or a comma-separated list. */
function readList(name: string, spec: Extract<SettingSpec, { type: "array" }>, v: string, check: ((item: string) => string | null) | undefined, problems: Problems): string[] | undefined {
    let items: string[];
    if (v.startsWith("[")) {
        let parsed: unknown;
        try {
            parsed = JSON.parse(v);
        } catch {
            parsed = undefined;
        }
        if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) {
            problems.bad(name, v, "is not a list of strings");
            return undefined;
        }
        items = parsed.map((x: string) => x.trim());
    } else {
        items = v.split(",").map((x) => x.trim()).filter((x) => x !== "");
    }
    const before = problems.list.length;
    if (spec.minItems !== undefined && items.length < spec.minItems) problems.bad(name, items, `must list at least ${spec.minItems} items`);
    if (new Set(items).size !== items.length) problems.bad(name, items, "lists an item twice");
    for (const item of items) {
        const why = check?.(item);
        if (why) problems.bad(name, item, why);
    }
    return problems.list.length === before ? items : undefined;
}

/** The entry's default as a parsed value (a surge's default is written as its input form). */
function defaultValue(spec: SettingSpec): unknown {
    if (spec.type === "surge") return (parseSurge(spec.default, spec.maxCount) as { ok: unknown }).ok;
    return "default" in spec ? spec.default : undefined;
}

/**
 * Reads every entry of `table` from `raw` (keys "<ns>:<key>"; names in messages are
 * `<label><key>`). An unset entry takes its default; an empty or blank value is an error, not
 * the default. A refused value reads as its default (or unset), so one bad value is one problem.
 */
export function readTable<T extends Record<string, SettingSpec>>(
    raw: Raw,
    ns: string,
    label: string,
    table: T,
    checks: { readonly [K in keyof T]?: (value: string) => string | null },
    problems: Problems,
): Parsed<T> {
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(table) as [string, SettingSpec][]) {
        const name = label + key;
        const fallback = defaultValue(spec);
        out[key] = fallback;
        const text = raw[`${ns}:${key}`];
        if (text === undefined) {
            if (spec.required) problems.add(`${name} is required (pulumi config set ${name} <value>)`);
            continue;
        }
        const v = text.trim();
        if (v === "") {
            problems.bad(name, text, `is empty: give it a value, or remove it (pulumi config rm ${name})${fallback === undefined ? "" : ` for the default ${JSON.stringify(fallback)}`}`, spec.secret);
            continue;
        }
        const check = checks[key as keyof T];
        if (spec.type === "array") {
            out[key] = readList(name, spec, v, check, problems) ?? fallback;
            continue;
        }
        const value = readText(name, spec, v, problems);
        if (value === undefined) {
            problems.refused.add(name);
            continue;
        }
        const why = typeof value === "string" ? check?.(value) : null;
        if (why) problems.bad(name, v, why, spec.secret);
        else out[key] = value;
    }
    return out as Parsed<T>;
}
