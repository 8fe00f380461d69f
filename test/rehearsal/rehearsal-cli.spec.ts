/**
 * The rehearsal CLI (rehearsal/cli.ts) in a child process, interrupted with SIGINT mid-run: every
 * process it started is stopped, the remote phase's own commands included, and nothing starts
 * afterwards. Each test runs the CLI on its own work dir (no shared fleet): this file was split
 * from test/rehearsal/rehearsal.spec.ts so that mocha --parallel runs the two side by side.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { processesMentioning, processesOfRun } from "../../rehearsal/local/procs";

const ROOT = path.join(__dirname, "..", "..");

/** The rehearsal CLI in a child process; `reach` waits until its output (stdout and stderr) matches. */
function startCli(args: string[], env: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "rehearsal/cli.ts", ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    const run = {
        child,
        out: "",
        exited: new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code))),
        async reach(pattern: RegExp, timeoutMs: number, what: string): Promise<void> {
            const deadline = Date.now() + timeoutMs;
            while (!pattern.test(run.out)) {
                if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the rehearsal did not reach ${what}:\n${run.out}`);
                await new Promise((r) => setTimeout(r, 100));
            }
        },
    };
    child.stdout.on("data", (d) => (run.out += d));
    child.stderr.on("data", (d) => (run.out += d));
    return run;
}

describe("rehearsal CLI", function () {
    this.timeout(90_000);

    it("stops every process it started when interrupted with SIGINT mid-run", async () => {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-sigint-"));
        try {
            const cli = startCli(["--work-dir", work, "--instances", "2"]);
            // Mid-run: the management instance serves and the fleet is coming up.
            await cli.reach(/InService, registered in the target group/, 60_000, "the release");
            const running = processesMentioning(work).map((pid) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8"));
            assert.ok(running.some((c) => c.includes("haproxy")), "HAProxy runs");
            assert.ok(running.filter((c) => c.includes("gunicorn")).length >= 2, `the fleet and the management instance run gunicorn: ${running.join("\n")}`);
            cli.child.kill("SIGINT");
            assert.strictEqual(await cli.exited, 130, cli.out);
            assert.match(cli.out, /SIGINT: stopping every process the rehearsal started/);
            assert.deepStrictEqual(processesMentioning(work), [], "no gunicorn/haproxy of the run is left");
            assert.deepStrictEqual(processesOfRun(work), [], "no process of the run is left");
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });

    it("stops the remote phase's own commands (relative paths after a cd) when interrupted during a remote step, and starts nothing afterwards", async () => {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-sigint-remote-"));
        const cmdline = (pid: number) => {
            try {
                return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
            } catch {
                return "(gone)";
            }
        };
        try {
            // The install step of the release of v2 (not the set-up's) sleeps in a subshell.
            const cli = startCli(["--work-dir", work, "--instances", "1", "--verbose"], { REHEARSAL_TEST_SLOW_INSTALL_S: "120" });
            await cli.reach(/slow install: 120 s/, 75_000, "the install step of v2");
            // The sleep names neither the work dir nor anything of the run on its command line: it
            // is found by the marker the run puts in the environment of everything it starts.
            const before = processesOfRun(work).map(cmdline);
            assert.ok(before.includes("sleep 120"), `the slow install step runs: ${before.join("\n")}`);
            assert.ok(!processesMentioning(work).map(cmdline).includes("sleep 120"), "the command line does not name the work dir");
            cli.child.kill("SIGINT");
            assert.strictEqual(await cli.exited, 130, cli.out);
            assert.match(cli.out, /SIGINT: stopping every process the rehearsal started/);
            assert.deepStrictEqual(processesOfRun(work).map(cmdline), [], "no process of the run is left");
            // Nothing starts later either (a phase's fallback restart would daemonize a gunicorn).
            await new Promise((r) => setTimeout(r, 3000));
            assert.deepStrictEqual(processesOfRun(work).map(cmdline), [], "no process of the run started after the exit");
            assert.doesNotMatch(cli.out.slice(cli.out.indexOf("SIGINT:")), /--> (restart|switch|migrate|collectstatic)/, "no remote step started after SIGINT");
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
