// `npm test`: `tsc --noEmit` and every spec file (mocha --parallel, the slowest files first:
// spec-files.js), side by side instead of one after the other. tsc runs at the lowest CPU
// priority, so on a 2-core machine it takes the time the specs leave idle (their waits on health
// checks, drains and child processes) rather than time from them. Its output is printed after
// mocha's; npm test fails when either fails, and a tsc failure is the last line.
// Extra arguments go to mocha (`npm test -- --grep x`).
//
// The specs' temporary directories (PostgreSQL clusters, sshd, git repositories, venvs, the
// rehearsal's instances: os.tmpdir(), Python's tempfile, mktemp) go under a directory of their own
// on /dev/shm when it is a tmpfs with room, removed at the end: they create and delete tens of
// thousands of files, and on this machine's ext4 /tmp the kernel's search for free inodes cost
// about a quarter of the run's system time (README's Tests section). A TMPDIR set by the caller is
// kept as it is.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const { ordered } = require("./spec-files");

const ROOT = path.join(__dirname, "..", "..");
/** Spec files run at once. Measured on the 2-core machine: see README's Tests section. */
const JOBS = 4;

/** The children running, for a signal to reach them (and the run to end with its clean-up). */
const children = [];

function run(cmd, args, opts) {
    const child = spawn(cmd, args, { cwd: ROOT, ...opts });
    children.push(child);
    const exited = new Promise((resolve) => {
        child.on("error", (e) => resolve({ code: 1, error: e }));
        child.on("exit", (code, signal) => resolve({ code: code ?? 1, signal }));
    });
    return { child, exited };
}

/** Bytes free that /dev/shm must have for the specs' files (a run uses a few hundred MB). */
const SHM_MIN_FREE = 2 * 1024 ** 3;
/** TMPFS_MAGIC, statfs(2). */
const TMPFS_MAGIC = 0x01021994;

/** A fresh directory for the run's temporary files on /dev/shm, or null to keep TMPDIR (or /tmp). */
function shmTmpDir() {
    if (process.env.TMPDIR) return null;
    try {
        const st = fs.statfsSync("/dev/shm");
        if (st.type !== TMPFS_MAGIC || st.bavail * st.bsize < SHM_MIN_FREE) return null;
        const dir = fs.mkdtempSync("/dev/shm/django-fleet-test-");
        // As /tmp: the inspection account (nobody) and the release accounts make files here too.
        fs.chmodSync(dir, 0o1777);
        return dir;
    } catch {
        return null;
    }
}

/** `nice -n 19` (coreutils) when there is one: every thread of tsc at the lowest priority. */
const NICE = ["/usr/bin/nice", "/bin/nice"].find((p) => fs.existsSync(p));

async function main() {
    const tmp = shmTmpDir();
    if (tmp) process.env.TMPDIR = tmp;
    // Ctrl-C or a kill: the children get the signal (a terminal sends it to them too). An
    // interrupted worker runs no after() hook, so once they have exited, what the specs started
    // (PostgreSQL, sshd, gunicorn, HAProxy, moto: every process that names the temporary
    // directory or has it as TMPDIR) is stopped, then the directory is removed.
    for (const sig of ["SIGINT", "SIGTERM"]) {
        process.on(sig, () => {
            if (interrupted) return;
            interrupted = sig;
            for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(sig);
            process.exitCode = 128 + (sig === "SIGINT" ? 2 : 15);
        });
    }
    try {
        await runAll();
    } finally {
        if (tmp && interrupted) await stopProcessesUnder(tmp);
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/** The signal that interrupted the run, if one did. */
let interrupted = null;

/** Every process whose command line names `dir`, or that inherited it as TMPDIR: SIGTERM, then SIGKILL to those left after 5 s. */
async function stopProcessesUnder(dir) {
    const under = () =>
        fs.readdirSync("/proc").filter((pid) => {
            if (!/^\d+$/.test(pid) || Number(pid) === process.pid) return false;
            try {
                return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir) || fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`TMPDIR=${dir}`);
            } catch {
                return false;
            }
        });
    const signal = (pids, sig) => pids.forEach((pid) => {
        try {
            process.kill(Number(pid), sig);
        } catch {
            /* gone already */
        }
    });
    signal(under(), "SIGTERM");
    for (let i = 0; i < 50 && under().length; i++) await new Promise((r) => setTimeout(r, 100));
    signal(under(), "SIGKILL");
}

async function runAll() {
    const tscOut = [];
    const tscArgs = [process.execPath, require.resolve("typescript/bin/tsc"), "--noEmit"];
    const [cmd, ...args] = NICE ? [NICE, "-n", "19", ...tscArgs] : tscArgs;
    const tsc = run(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    tsc.child.stdout.on("data", (d) => tscOut.push(d));
    tsc.child.stderr.on("data", (d) => tscOut.push(d));
    const mochaBin = require.resolve("mocha/bin/mocha.js");
    const mocha = run(process.execPath, [mochaBin, "--parallel", "--jobs", String(JOBS), ...ordered(ROOT), ...process.argv.slice(2)], { stdio: "inherit" });
    const [m, t] = await Promise.all([mocha.exited, tsc.exited]);
    if (interrupted) {
        process.stdout.write(`interrupted (${interrupted})\n`);
        return;
    }
    if (t.code !== 0) {
        process.stdout.write(Buffer.concat(tscOut).toString());
        process.stdout.write(`tsc --noEmit failed (exit ${t.code}${t.error ? `: ${t.error.message}` : ""})\n`);
    }
    if (process.exitCode === undefined) process.exitCode = m.code !== 0 ? m.code : t.code;
}

main().catch((e) => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exitCode = 1;
});
