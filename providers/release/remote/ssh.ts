/**
 * Remote transport over SSH with the `ssh2` library.
 *
 *  - key authentication only (the private key is never logged or echoed);
 *  - the server's host key pinned by its SHA256 fingerprint ("SHA256:..." as `ssh-keygen -lf`
 *    prints it): any other key is refused before authentication;
 *  - one connection for the whole release, one exec channel per command;
 *  - stdout/stderr streamed line by line to RunOptions.onLine;
 *  - per-command time-out: the remote side runs the command under `timeout` (the whole process
 *    group dies), and the client closes the channel shortly after as a backstop.
 */
import { createHash } from "crypto";
import type { Client as SshClient, ClientChannel } from "ssh2";
import type { CommandResult, Remote, RunOptions, SshSettings } from "../ports";
import { RemoteTimeoutError, RemoteTransportError, timedOut, wrapCommand } from "./errors";
import { LineSplitter } from "./lines";
import { RELEASE_DEFAULTS } from "../../../settings/schema";

/** "SHA256:<base64 without padding>" of a host key blob, as OpenSSH prints it. */
export function sha256Fingerprint(keyBlob: Buffer): string {
    return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

export function normalizeFingerprint(fp: string): string {
    const trimmed = fp.trim().replace(/=+$/, "");
    return trimmed.startsWith("SHA256:") ? trimmed : `SHA256:${trimmed}`;
}

export class HostKeyMismatchError extends RemoteTransportError {
    constructor(where: string, readonly expected: string, readonly actual: string) {
        super(`SSH host key mismatch for ${where}: expected ${expected}, the server presented ${actual}; refusing to connect`);
        this.name = "HostKeyMismatchError";
    }
}

export interface SshRemoteOptions {
    /** @default 20000 */
    readyTimeoutMs?: number;
    /** @default 900 */
    defaultTimeoutS?: number;
    /** Seconds the client waits past the remote `timeout` before closing the channel. @default 15 */
    killGraceS?: number;
}

export class SshRemote implements Remote {
    private constructor(
        private readonly client: SshClient,
        private readonly where: string,
        private readonly options: SshRemoteOptions,
    ) {}

    /** Opens the connection (verifying the host key) and resolves when authenticated. */
    static connect(settings: SshSettings, options: SshRemoteOptions = {}): Promise<SshRemote> {
        // Required here, not at module scope: the Release provider's code is serialized by Pulumi.
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const { Client } = require("ssh2") as typeof import("ssh2");
        const port = settings.port ?? RELEASE_DEFAULTS.sshPort;
        const user = settings.user ?? RELEASE_DEFAULTS.sshUser;
        const where = `ssh ${user}@${settings.host}:${port}`;
        const expected = normalizeFingerprint(settings.hostKeySha256);
        const client = new Client();
        let presented: string | null = null;
        return new Promise((resolve, reject) => {
            let settled = false;
            const fail = (error: Error) => {
                if (settled) return;
                settled = true;
                client.end();
                reject(error);
            };
            client.on("ready", () => {
                if (settled) return;
                settled = true;
                client.removeAllListeners("error");
                client.on("error", () => {
                    /* reported through the running command */
                });
                resolve(new SshRemote(client, where, options));
            });
            client.on("error", (e: Error) => {
                if (presented !== null && presented !== expected) return fail(new HostKeyMismatchError(where, expected, presented));
                // ssh2's messages carry no key material; keep only the message.
                fail(new RemoteTransportError(`${where}: ${e.message}`));
            });
            client.connect({
                host: settings.host,
                port,
                username: user,
                privateKey: settings.privateKey,
                readyTimeout: options.readyTimeoutMs ?? 20000,
                keepaliveInterval: 15000,
                hostVerifier: (key: Buffer) => {
                    presented = sha256Fingerprint(key);
                    return presented === expected;
                },
            });
        });
    }

    describe(): string {
        return this.where;
    }

    run(command: string, opts: RunOptions = {}): Promise<CommandResult> {
        const started = Date.now();
        const timeoutS = opts.timeoutS ?? this.options.defaultTimeoutS ?? 900;
        return new Promise((resolve, reject) => {
            this.client.exec(wrapCommand(command, timeoutS), (err: Error | undefined, stream: ClientChannel) => {
                if (err) return reject(new RemoteTransportError(`${this.where}: ${err.message}`));
                const out = new LineSplitter((l) => opts.onLine?.(l, "stdout"));
                const errs = new LineSplitter((l) => opts.onLine?.(l, "stderr"));
                let exitCode: number | null = null;
                let signal: string | null = null;
                let backstop = false;
                const timer = setTimeout(() => {
                    backstop = true;
                    try {
                        stream.signal("KILL");
                    } catch {
                        /* ignore */
                    }
                    stream.close();
                }, (timeoutS + (this.options.killGraceS ?? 15)) * 1000);
                stream.on("data", (c: Buffer) => out.push(c));
                stream.stderr.on("data", (c: Buffer) => errs.push(c));
                stream.on("exit", (code: number | null, sig?: string) => {
                    exitCode = code;
                    signal = sig ?? null;
                });
                stream.on("close", () => {
                    clearTimeout(timer);
                    out.end();
                    errs.end();
                    if (backstop || timedOut(exitCode, Date.now() - started, timeoutS) || (exitCode === null && signal === "KILL")) {
                        return reject(new RemoteTimeoutError(this.where, timeoutS, out.text, errs.text));
                    }
                    if (exitCode === null && !signal) {
                        return reject(new RemoteTransportError(`${this.where}: the channel closed without an exit status (connection lost?)`));
                    }
                    resolve({ exitCode: exitCode ?? 128, stdout: out.text, stderr: errs.text, durationMs: Date.now() - started });
                });
            });
        });
    }

    close(): Promise<void> {
        return new Promise((resolve) => {
            this.client.once("close", () => resolve());
            this.client.end();
            setTimeout(resolve, 2000).unref();
        });
    }
}
