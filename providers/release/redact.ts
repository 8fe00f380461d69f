/**
 * Redaction of the secret values a release knows, before text reaches the resource's state
 * (status.reason, history[].reason, plan) or a log line.
 *
 * What is secret:
 *  - every string in the inputs under a key that names a secret (password, secret, token,
 *    privateKey, credential, passphrase; e.g. remote.ssh.privateKey), at any depth;
 *  - the values listed in the `secretValues` input (the stack passes e.g. the database password,
 *    as a Pulumi secret);
 *  - for a multi-line value (a PEM/OpenSSH key), each of its lines of 16 characters or more too,
 *    so a key printed in part is still caught;
 *  - the password of any URL userinfo (`scheme://user:password@host`), known or not.
 * Each occurrence becomes `[redacted]`. Values shorter than 6 characters are not redacted (they
 * would blank ordinary words); the config refuses secrets that short.
 */

export const REDACTED = "[redacted]";
const SECRET_KEY = /(password|passwd|secret|token|private.?key|credential|passphrase)/i;
const MIN_LENGTH = 6;
const MIN_LINE = 16;

/** Every secret string found in `value` (an inputs object), by key name and `secretValues`. */
export function secretValuesOf(value: unknown): string[] {
    const out: string[] = [];
    const walk = (v: unknown, secret: boolean) => {
        if (typeof v === "string") {
            if (secret) out.push(v);
        } else if (Array.isArray(v)) {
            for (const x of v) walk(x, secret);
        } else if (v && typeof v === "object") {
            for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, secret || SECRET_KEY.test(k));
        }
    };
    walk(value, false);
    return out;
}

export class Redactor {
    private readonly needles: string[];

    constructor(secrets: readonly (string | null | undefined)[]) {
        const all = new Set<string>();
        for (const s of secrets) {
            if (typeof s !== "string") continue;
            const t = s.trim();
            if (t.length >= MIN_LENGTH) all.add(t);
            if (s !== t && s.length >= MIN_LENGTH) all.add(s);
            for (const line of s.split(/\r?\n/)) if (line.trim().length >= MIN_LINE) all.add(line.trim());
        }
        // Longest first, so a whole key goes before its lines.
        this.needles = [...all].sort((a, b) => b.length - a.length);
    }

    /** The Redactor for a Release's raw inputs. */
    static forInputs(inputs: unknown): Redactor {
        return new Redactor(secretValuesOf(inputs));
    }

    redact(text: string): string;
    redact(text: string | null | undefined): string | null | undefined;
    redact(text: string | null | undefined): string | null | undefined {
        if (typeof text !== "string" || !text) return text;
        let out = text;
        for (const n of this.needles) if (out.includes(n)) out = out.split(n).join(REDACTED);
        return out.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:@/]*):[^\s@/]+@/gi, `$1:${REDACTED}@`);
    }

    /** A copy of a release's progress with its failure cause and warnings redacted. */
    redactProgress<P extends { failure?: { cause: string }; warnings?: string[] }>(p: P): P {
        return {
            ...p,
            ...(p.failure ? { failure: { ...p.failure, cause: this.redact(p.failure.cause) } } : {}),
            ...(p.warnings ? { warnings: p.warnings.map((w) => this.redact(w)) } : {}),
        };
    }
}
