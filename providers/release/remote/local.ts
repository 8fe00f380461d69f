/**
 * Remote transport that runs commands on this machine with bash (the rehearsal, the tests,
 * and a management instance that runs the release itself).
 *
 * Each command runs in its own process group (a time-out kills the whole tree, and a Ctrl-C of
 * the terminal does not reach it). close() therefore stops what is still running itself: SIGTERM
 * to each command's group, SIGKILL after a short grace, and waits until the groups are empty;
 * after close(), run() rejects.
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
    /** How long close() waits after SIGTERM before it SIGKILLs a command's process group. @default 2000 */
    closeGraceMs?: number;
}

/** Signals a whole process group; false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
    try {
        process.kill(-pgid, signal);
        return true;
    } catch {
        return false;
    }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class LocalRemote implements Remote {
    /** Process-group ids of the commands still running (each command leads its own group). */
    private readonly running = new Set<number>();
    private closing: Promise<void> | null = null;

    constructor(private readonly options: LocalRemoteOptions = {}) {}

    describe(): string {
        return `local ${this.options.cwd ?? process.cwd()}`;
    }

    /** Process-group ids of the commands running now (for tests and diagnostics). */
    get runningGroups(): number[] {
        return [...this.running];
    }

    run(command: string, opts: RunOptions = {}): Promise<CommandResult> {
        if (this.closing) return Promise.reject(new Error(`${this.describe()} is closed: not running another command`));
        const started = Date.now();
        const timeoutS = opts.timeoutS ?? this.options.defaultTimeoutS ?? 900;
        return new Promise((resolve, reject) => {
            const child = spawn("bash", ["-c", command], {
                cwd: this.options.cwd,
                env: { ...process.env, ...this.options.env },
                detached: true, // own process group: a time-out kills the whole tree
                stdio: ["ignore", "pipe", "pipe"],
            });
            const pgid = child.pid;
            if (pgid !== undefined) this.running.add(pgid);
            const out = new LineSplitter((l) => opts.onLine?.(l, "stdout"));
            const err = new LineSplitter((l) => opts.onLine?.(l, "stderr"));
            let timedOut = false;
            const timer = setTimeout(() => {
                timedOut = true;
                if (pgid !== undefined) signalGroup(pgid, "SIGKILL");
            }, timeoutS * 1000);
            child.stdout.on("data", (c: Buffer) => out.push(c));
            child.stderr.on("data", (c: Buffer) => err.push(c));
            child.on("error", (e) => {
                clearTimeout(timer);
                if (pgid !== undefined) this.running.delete(pgid);
                reject(e);
            });
            child.on("close", (code, signal) => {
                clearTimeout(timer);
                if (pgid !== undefined) this.running.delete(pgid);
                out.end();
                err.end();
                if (timedOut) return reject(new RemoteTimeoutError(this.describe(), timeoutS, out.text, err.text));
                if (this.closing) return reject(new Error(`${this.describe()} was closed while the command ran (stopped)`));
                resolve({ exitCode: code ?? (signal ? 128 : 1), stdout: out.text, stderr: err.text, durationMs: Date.now() - started });
            });
        });
    }

    /**
     * Stops every command still running (SIGTERM to its process group, SIGKILL after the grace
     * period) and waits until their groups are empty. Idempotent; later run() calls reject.
     */
    close(): Promise<void> {
        if (!this.closing) this.closing = this.stopAll();
        return this.closing;
    }

    private async stopAll(): Promise<void> {
        const groups = [...this.running];
        if (groups.length === 0) return;
        for (const g of groups) signalGroup(g, "SIGTERM");
        const graceEnd = Date.now() + (this.options.closeGraceMs ?? 2000);
        const alive = () => groups.filter((g) => signalGroup(g, 0));
        while (alive().length > 0 && Date.now() < graceEnd) await delay(50);
        for (const g of groups) signalGroup(g, "SIGKILL"); // what ignored SIGTERM, and stray members
        // A SIGKILLed group empties as soon as its members are reaped (ours by node, orphans by init).
        const deadline = Date.now() + 5000;
        while (alive().length > 0 && Date.now() < deadline) await delay(50);
    }
}
