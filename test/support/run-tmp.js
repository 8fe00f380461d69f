// The temporary directory of one `npm test` run (run-tests.js): the specs' PostgreSQL clusters,
// sshd, git repositories, venvs and the rehearsal's instances (os.tmpdir(), Python's tempfile,
// mktemp: whatever inherits TMPDIR) go there instead of /tmp. They create and delete tens of
// thousands of files, and on this machine's ext4 /tmp the kernel's search for free inodes was
// most of the system time PostgreSQL and git spent (README's Tests section); on a tmpfs it is
// not. Used only when /dev/shm is a tmpfs, not mounted noexec (the specs run scripts they write
// there), with 2 GiB free, and the caller set no TMPDIR; otherwise the run uses TMPDIR or /tmp as
// before. Processes that do not inherit TMPDIR (SSH sessions to the test sshd, `env -i`) and paths
// written out as /tmp still use /tmp.
"use strict";
const fs = require("fs");
const path = require("path");

const SHM = "/dev/shm";
/** The directories' names: the runner's pid, so that one left by a killed run can be told apart. */
const PREFIX = "django-fleet-test-";
/** Bytes free that /dev/shm must have (a run uses a few hundred MB). */
const SHM_MIN_FREE = 2 * 1024 ** 3;
/** TMPFS_MAGIC, statfs(2). */
const TMPFS_MAGIC = 0x01021994;

/** Whether mountinfo (proc(5)) shows `mountPoint` mounted noexec (fs.statfs does not give the flags); unlisted counts as noexec. */
function mountedNoexec(mountPoint, mountinfo = fs.readFileSync("/proc/self/mountinfo", "utf8")) {
    for (const line of mountinfo.split("\n")) {
        const f = line.split(" ");
        if (f[4] === mountPoint) return f[5].split(",").includes("noexec");
    }
    return true;
}

function alive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return e.code === "EPERM";
    }
}

/** A fresh directory on /dev/shm for this run (and the directories of killed runs removed), or null. */
function runTmpDir(env = process.env) {
    if (env.TMPDIR) return null;
    try {
        const st = fs.statfsSync(SHM);
        if (st.type !== TMPFS_MAGIC || st.bavail * st.bsize < SHM_MIN_FREE || mountedNoexec(SHM)) return null;
        for (const name of fs.readdirSync(SHM)) {
            const m = name.startsWith(PREFIX) && /^(\d+)-/.exec(name.slice(PREFIX.length));
            if (m && !alive(Number(m[1]))) fs.rmSync(path.join(SHM, name), { recursive: true, force: true });
        }
        const dir = fs.mkdtempSync(path.join(SHM, `${PREFIX}${process.pid}-`));
        // As /tmp: the inspection account (nobody) and the release accounts make files here too.
        fs.chmodSync(dir, 0o1777);
        return dir;
    } catch {
        return null;
    }
}

/** Removes the run's directory; a failure is a warning on stderr, not the run's result. */
function removeRunTmpDir(dir) {
    try {
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
        process.stderr.write(`test/support/run-tmp.js: could not remove ${dir}: ${e.message}\n`);
    }
}

/** Services the specs start that clear their environment and leave it (sshd: chdir to /). */
const SERVICES = new Set(["sshd", "postgres", "haproxy"]);

/**
 * What an interrupted run's specs left running (an interrupted mocha worker runs no after()
 * hook): every process that inherited `dir` as TMPDIR, or whose working directory is in it
 * (PostgreSQL in its data directory, gunicorn in its release, commands run over the test sshd),
 * or one of SERVICES whose command line names it. Any other process that merely names the
 * directory (`tail -f` of a log) is left alone. SIGTERM, then SIGKILL for those left after 5 s.
 */
async function stopProcessesUnder(dir) {
    const inDir = (p) => p === dir || p.startsWith(`${dir}/`);
    const under = () =>
        fs.readdirSync("/proc").filter((pid) => {
            if (!/^\d+$/.test(pid) || Number(pid) === process.pid) return false;
            try {
                if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`TMPDIR=${dir}`)) return true;
                if (inDir(fs.readlinkSync(`/proc/${pid}/cwd`))) return true;
                return SERVICES.has(path.basename(fs.readlinkSync(`/proc/${pid}/exe`))) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir);
            } catch {
                return false;
            }
        });
    const signal = (pids, sig) => {
        for (const pid of pids) {
            try {
                process.kill(Number(pid), sig);
            } catch {
                /* gone already */
            }
        }
    };
    signal(under(), "SIGTERM");
    for (let i = 0; i < 50 && under().length; i++) await new Promise((r) => setTimeout(r, 100));
    signal(under(), "SIGKILL");
}

module.exports = { SHM, PREFIX, TMPFS_MAGIC, runTmpDir, removeRunTmpDir, stopProcessesUnder, mountedNoexec };
