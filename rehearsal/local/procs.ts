/**
 * Process helpers for the local cloud: every long-running process (HAProxy, gunicorn) is
 * spawned in its own process group and registered with a ProcessRegistry, so that one call
 * stops them all (SIGTERM to the group, SIGKILL after a grace period), also on SIGINT/SIGTERM.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";

export interface Spawned {
    child: ChildProcess;
    pid: number;
    /** Resolves with the exit code (or the signal) when the process ends. */
    exited: Promise<number | string>;
    /** True once the process has ended. */
    readonly done: boolean;
}

/** Spawns a detached process (its own process group) with stdout+stderr appended to `logFile`. */
export function spawnGroup(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile: string }): Spawned {
    const log = fs.openSync(opts.logFile, "a");
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ["ignore", log, log] });
    fs.closeSync(log);
    if (child.pid === undefined) throw new Error(`could not start ${command}: no pid (see ${opts.logFile})`);
    let done = false;
    const exited = new Promise<number | string>((resolve) => {
        child.once("exit", (code, signal) => {
            done = true;
            resolve(code ?? signal ?? -1);
        });
        child.once("error", () => {
            done = true;
            resolve(-1);
        });
    });
    return {
        child,
        pid: child.pid,
        exited,
        get done() {
            return done;
        },
    };
}

/** Signals a whole process group; ignores a group that is already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch {
        /* already gone */
    }
}

/** SIGTERM to the group, then SIGKILL after `graceMs` if it has not exited. */
export async function stopGroup(p: Spawned, graceMs = 5000): Promise<void> {
    if (p.done) {
        signalGroup(p.pid, "SIGKILL"); // stray grandchildren of an exited leader
        return;
    }
    signalGroup(p.pid, "SIGTERM");
    const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), graceMs).unref());
    if ((await Promise.race([p.exited, timer])) === "timeout") {
        signalGroup(p.pid, "SIGKILL");
        await p.exited;
    }
    signalGroup(p.pid, "SIGKILL");
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number, timeoutMs = 500): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port });
        const finish = (ok: boolean) => {
            socket.destroy();
            resolve(ok);
        };
        socket.setTimeout(timeoutMs, () => finish(false));
        socket.once("connect", () => finish(true));
        socket.once("error", () => finish(false));
    });
}

/** Polls `probe` every `everyMs` until it returns true; rejects with `what` after `timeoutMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 100): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await probe()) return;
        if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
}

function parentOf(pid: number): number {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
        return 0;
    }
}

/** This process and its ancestors (npm, the shell that started it): never candidates. */
function selfAndAncestors(): Set<number> {
    const out = new Set<number>();
    for (let pid = process.pid; pid > 1 && !out.has(pid); pid = parentOf(pid)) out.add(pid);
    return out;
}

/**
 * Pids of live processes other than this process and its ancestors (whose arguments may name
 * what is looked for too) for which `match(pid, cmdline)` holds; zombies are already dead and
 * left out, as are processes that exit during the scan.
 */
function scanProcesses(match: (pid: number, cmdline: string) => boolean): number[] {
    const skip = selfAndAncestors();
    const pids: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry) || skip.has(Number(entry))) continue;
        const pid = Number(entry);
        try {
            if (!match(pid, fs.readFileSync(`/proc/${entry}/cmdline`, "utf8"))) continue;
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            if (!/^\d+ \(.*\) Z /.test(stat)) pids.push(pid);
        } catch {
            /* exited meanwhile */
        }
    }
    return pids;
}

/**
 * Pids of live processes whose command line contains `marker` (e.g. the run's directory),
 * other than this process and its ancestors: how the rehearsal finds daemons it started
 * indirectly (the management instance's gunicorn, started by the remote phase's restart
 * command) and proves that none is left.
 */
export function processesMentioning(marker: string): number[] {
    return scanProcesses((_pid, cmdline) => cmdline.includes(marker));
}

/**
 * The environment variable the rehearsal puts in the environment of everything it starts
 * (remote commands, their daemons, the fleet's instances), set to the run's work directory: a
 * remote command runs with relative paths after a `cd`, so its command line need not name the
 * directory, but it inherits this variable.
 */
export const RUN_MARKER_ENV = "FLEET_REHEARSAL_RUN";

/** True when the process was started with RUN_MARKER_ENV=`marker` in its environment. */
function carriesRunMarker(pid: number, marker: string): boolean {
    try {
        return fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`${RUN_MARKER_ENV}=${marker}`);
    } catch {
        return false;
    }
}

/**
 * True when the process's working directory is `dir` or inside it: the inspection runs the
 * candidate's code with a cleared environment (`env -i`, no RUN_MARKER_ENV) in its workspace
 * under the run's directory.
 */
function worksInside(pid: number, dir: string): boolean {
    try {
        const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
        return cwd === dir || cwd.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
    } catch {
        return false;
    }
}

/**
 * Pids of live processes of the run `marker` (its work directory): those whose command line
 * names it, those that carry RUN_MARKER_ENV=`marker` in their environment, and those working
 * inside it; never this process or its ancestors.
 */
export function processesOfRun(marker: string): number[] {
    return scanProcesses((pid, cmdline) => cmdline.includes(marker) || carriesRunMarker(pid, marker) || worksInside(pid, marker));
}

/** True when `pid` descends from this process. */
function isDescendant(pid: number): boolean {
    for (let p = parentOf(pid), n = 0; p > 1 && n < 64; p = parentOf(p), n++) if (p === process.pid) return true;
    return false;
}

/**
 * What the run started, found by `marker`: processes that carry the run's marker in their
 * environment (RUN_MARKER_ENV), our descendants that mention it, and the app-server and
 * load-balancer daemons that mention it (a daemonized gunicorn is re-parented to init).
 * Anything else that merely names the directory (an editor, a `tail -f` of its log) is left alone.
 */
export function startedProcesses(marker: string): number[] {
    return processesOfRun(marker).filter((pid) => {
        if (isDescendant(pid) || carriesRunMarker(pid, marker)) return true;
        try {
            return /gunicorn|haproxy/.test(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"));
        } catch {
            return false;
        }
    });
}

/** Stops (SIGTERM, then SIGKILL) what the run started, found by `marker` (see startedProcesses). */
export async function killMentioning(marker: string, graceMs = 3000): Promise<number[]> {
    const found = startedProcesses(marker);
    for (const pid of found) {
        try {
            process.kill(pid, "SIGTERM");
        } catch {
            /* gone */
        }
    }
    const deadline = Date.now() + graceMs;
    const alive = () => found.filter((pid) => processesOfRun(marker).includes(pid));
    while (alive().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (const pid of alive()) {
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            /* gone */
        }
    }
    return found;
}
