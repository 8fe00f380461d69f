/**
 * Remote transport that runs commands on this machine with bash (the rehearsal, the tests,
 * and a management instance that runs the release itself).
 */
import { spawn } from "child_process";
import type { CommandResult, Remote, RunOptions } from "../ports";
import { RemoteTimeoutError } from "./errors";
import { LineSplitter } from "./lines";

export interface LocalRemoteOptions {
    /** Working directory of every command. @default process.cwd() */
    cwd?: string;
    /** Extra environment variables. */
    env?: Record<string, string>;
    /** @default 900 */
    defaultTimeoutS?: number;
}

export class LocalRemote implements Remote {
    constructor(private readonly options: LocalRemoteOptions = {}) {}

    describe(): string {
        return `local ${this.options.cwd ?? process.cwd()}`;
    }

    run(command: string, opts: RunOptions = {}): Promise<CommandResult> {
        const started = Date.now();
        const timeoutS = opts.timeoutS ?? this.options.defaultTimeoutS ?? 900;
        return new Promise((resolve, reject) => {
            const child = spawn("bash", ["-c", command], {
                cwd: this.options.cwd,
                env: { ...process.env, ...this.options.env },
                detached: true, // own process group: a time-out kills the whole tree
                stdio: ["ignore", "pipe", "pipe"],
            });
            const out = new LineSplitter((l) => opts.onLine?.(l, "stdout"));
            const err = new LineSplitter((l) => opts.onLine?.(l, "stderr"));
            let timedOut = false;
            const timer = setTimeout(() => {
                timedOut = true;
                try {
                    process.kill(-child.pid!, "SIGKILL");
                } catch {
                    /* already gone */
                }
            }, timeoutS * 1000);
            child.stdout.on("data", (c: Buffer) => out.push(c));
            child.stderr.on("data", (c: Buffer) => err.push(c));
            child.on("error", (e) => {
                clearTimeout(timer);
                reject(e);
            });
            child.on("close", (code, signal) => {
                clearTimeout(timer);
                out.end();
                err.end();
                if (timedOut) return reject(new RemoteTimeoutError(this.describe(), timeoutS, out.text, err.text));
                resolve({ exitCode: code ?? (signal ? 128 : 1), stdout: out.text, stderr: err.text, durationMs: Date.now() - started });
            });
        });
    }

    async close(): Promise<void> {}
}
