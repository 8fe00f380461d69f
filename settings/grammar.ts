/**
 * One grammar per kind of value, shared by the config parser (parse.ts) and the Release's input
 * validation (providers/release/inputs.ts), so a value is accepted or refused the same way
 * wherever it enters. Each parser returns the typed value or `{ error }`, a text that follows
 * the setting's name and value in a message ("release:maxSurge \"0\" must be ...").
 */
import type { MaxSurge } from "./schema";

export type Result<T> = { readonly ok: T } | { readonly error: string };

/** Whole numbers (a duration is a whole number of seconds), within [min, max]. */
export function parseWholeNumber(text: string, min: number, max: number): Result<number> {
    if (!/^-?\d+$/.test(text)) return { error: "is not a whole number" };
    const n = Number(text);
    if (n < min || n > max) return { error: `must be between ${min} and ${max}` };
    return { ok: n };
}

export function parseBoolean(text: string): Result<boolean> {
    if (text === "true" || text === "false") return { ok: text === "true" };
    return { error: "must be true or false" };
}

export function parseEnum<T extends string>(text: string, values: readonly T[]): Result<T> {
    return (values as readonly string[]).includes(text) ? { ok: text as T } : { error: `must be one of ${values.join(", ")}` };
}

/**
 * maxSurge: a count of instances ("2" or 2, 1 to maxCount) or a percentage of the desired
 * capacity ("25%", "12.5%": above 0, at most 100).
 */
export function parseSurge(value: unknown, maxCount: number): Result<MaxSurge> {
    const error = `must be a whole number from 1 to ${maxCount} ("2") or a percentage above 0% and at most 100% ("25%", "12.5%")`;
    if (typeof value === "number") {
        return Number.isInteger(value) && value >= 1 && value <= maxCount ? { ok: { kind: "count", value } } : { error };
    }
    if (typeof value !== "string") return { error };
    const text = value.trim();
    if (/^\d+$/.test(text)) {
        const n = Number(text);
        return n >= 1 && n <= maxCount ? { ok: { kind: "count", value: n } } : { error };
    }
    const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
    if (m && Number(m[1]) > 0 && Number(m[1]) <= 100) return { ok: { kind: "percent", value: Number(m[1]) } };
    return { error };
}

/** The Release's public input form of a surge: a count as a number, a percentage as "25%". */
export function surgeInput(surge: MaxSurge): number | string {
    return surge.kind === "count" ? surge.value : `${surge.value}%`;
}

/** Instances per wave for a desired capacity: a percentage rounds up; at least 1. */
export function surgeCount(surge: MaxSurge, desired: number): number {
    return surge.kind === "count" ? surge.value : Math.max(1, Math.ceil((surge.value / 100) * desired));
}

export interface Cidr {
    /** The network address as a 32-bit number. */
    readonly ip: number;
    readonly prefix: number;
}

const dotted = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

/** An IPv4 CIDR with its host bits zero. */
export function parseCidr(value: string): Result<Cidr> {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
    if (!m) return { error: "is not an IPv4 CIDR like 203.0.113.0/24" };
    const octets = m.slice(1, 5).map(Number);
    const prefix = Number(m[5]);
    if (octets.some((o) => o > 255) || prefix > 32) return { error: "is not an IPv4 CIDR like 203.0.113.0/24" };
    const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
    const size = 2 ** (32 - prefix);
    if (ip % size !== 0) return { error: `has host bits set (did you mean ${dotted(ip - (ip % size))}/${prefix}?)` };
    return { ok: { ip, prefix } };
}

/** The RFC 1918 private ranges. */
export const RFC1918 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"] as const;

/** Whether `inner` lies wholly inside `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
    return inner.prefix >= outer.prefix && Math.floor(inner.ip / 2 ** (32 - outer.prefix)) === Math.floor(outer.ip / 2 ** (32 - outer.prefix));
}
