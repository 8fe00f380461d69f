/**
 * npm test's temporary directory (test/support/run-tmp.js, used by run-tests.js): where it is made
 * and when not, the directories of killed runs it removes, and what an interrupted run stops.
 */
import { strict as assert } from "assert";
import { spawn, spawnSync, ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";

const { SHM, PREFIX, TMPFS_MAGIC, runTmpDir, removeRunTmpDir, stopProcessesUnder, mountedNoexec } = require("../support/run-tmp") as {
    SHM: string;
    PREFIX: string;
    TMPFS_MAGIC: number;
    runTmpDir: (env?: NodeJS.ProcessEnv) => string | null;
    removeRunTmpDir: (dir: string) => void;
    stopProcessesUnder: (dir: string) => Promise<void>;
    mountedNoexec: (mountPoint: string, mountinfo?: string) => boolean;
};

const shmUsable = (() => {
    try {
        return fs.statfsSync(SHM).type === TMPFS_MAGIC && !mountedNoexec(SHM);
    } catch {
        return false;
    }
})();

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
const exited = (c: ChildProcess) => new Promise<void>((r) => (running(c) ? c.once("exit", () => r()) : r()));

describe("npm test's temporary directory (test/support/run-tmp.js)", function () {
    it("reads noexec from mountinfo; a mount point it does not list counts as noexec", function () {
        const info = [
            "36 25 0:31 / /dev/shm rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw",
            "37 25 0:32 / /run/shm rw,nosuid,nodev,relatime shared:6 - tmpfs tmpfs rw",
        ].join("\n");
        assert.equal(mountedNoexec("/dev/shm", info), true);
        assert.equal(mountedNoexec("/run/shm", info), false);
        assert.equal(mountedNoexec("/elsewhere", info), true);
    });

    it("keeps a TMPDIR the caller set", function () {
        assert.equal(runTmpDir({ TMPDIR: "/somewhere" }), null);
    });

    it("makes a directory of the run's own on /dev/shm (mode 1777, the runner's pid in its name), and removes those of runs no longer alive", function () {
        if (!shmUsable) {
            assert.equal(runTmpDir({}), null, "no tmpfs (or noexec): the run keeps /tmp");
            return;
        }
        const dead = spawnSync("true").pid;
        const stale = path.join(SHM, `${PREFIX}${dead}-spec`);
        const live = path.join(SHM, `${PREFIX}1-spec`);
        fs.mkdirSync(path.join(stale, "data"), { recursive: true });
        fs.mkdirSync(live, { recursive: true });
        let dir: string | null = null;
        try {
            dir = runTmpDir({});
            assert.ok(dir && dir.startsWith(path.join(SHM, `${PREFIX}${process.pid}-`)), String(dir));
            assert.equal(fs.statSync(dir).mode & 0o7777, 0o1777);
            assert.equal(fs.existsSync(stale), false, "a dead run's directory is removed");
            assert.equal(fs.existsSync(live), true, "a live pid's directory is kept");
        } finally {
            fs.rmSync(stale, { recursive: true, force: true });
            fs.rmSync(live, { recursive: true, force: true });
            if (dir) removeRunTmpDir(dir);
        }
        assert.equal(fs.existsSync(dir!), false);
    });

    it("an interrupted run stops what inherited its TMPDIR or works in it, and leaves alone what only names it", async function () {
        const dir = fs.mkdtempSync(path.join(process.env.TMPDIR || "/tmp", "run-tmp-spec-"));
        fs.writeFileSync(path.join(dir, "log"), "");
        const base = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
        const inherited = spawn("sleep", ["60"], { env: { ...base, TMPDIR: dir }, cwd: "/" });
        const working = spawn("sleep", ["60"], { env: base, cwd: dir });
        const naming = spawn("tail", ["-f", path.join(dir, "log")], { env: base, cwd: "/" });
        try {
            await new Promise((r) => setTimeout(r, 200));
            await stopProcessesUnder(dir);
            await Promise.race([Promise.all([exited(inherited), exited(working)]), new Promise((r) => setTimeout(r, 2000))]);
            await new Promise((r) => setTimeout(r, 300)); // time for an exit of the third to be seen, were there one
            assert.equal(running(inherited), false, "TMPDIR inherited: stopped");
            assert.equal(running(working), false, "working directory inside: stopped");
            assert.equal(running(naming), true, "only names it: left alone");
        } finally {
            for (const c of [inherited, working, naming]) if (running(c)) c.kill("SIGKILL");
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
