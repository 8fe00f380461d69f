// `npm test`: `tsc --noEmit` and every spec file (mocha --parallel, in spec-files.js's order),
// side by side instead of one after the other. tsc runs at the lowest CPU priority, so on a
// 2-core machine it takes the time the specs leave idle (their waits on health checks, drains and
// child processes) rather than time from them. Its output is printed after mocha's; npm test
// fails when either fails, and a tsc failure is the last line. The specs' temporary files go to a
// directory of the run's own (run-tmp.js). Extra arguments go to mocha (`npm test -- --grep x`).
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const { ordered } = require("./spec-files");
const { runTmpDir, removeRunTmpDir, stopProcessesUnder } = require("./run-tmp");

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

/** `nice -n 19` (coreutils) when there is one: every thread of tsc at the lowest priority. */
const NICE = ["/usr/bin/nice", "/bin/nice"].find((p) => fs.existsSync(p));

async function main() {
    const tmp = runTmpDir();
    if (tmp) process.env.TMPDIR = tmp;
    // Ctrl-C or a kill: the children get the signal (after Ctrl-C a second time: the terminal
    // sent it to them too, and mocha stops at once instead of waiting for its workers); a second
    // signal kills them. Then what the specs left running in the run's directory is stopped and
    // the directory removed.
    for (const sig of ["SIGINT", "SIGTERM"]) {
        process.on(sig, () => {
            const again = interrupted !== null;
            interrupted = interrupted ?? sig;
            for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(again ? "SIGKILL" : sig);
            process.exitCode = 128 + (interrupted === "SIGINT" ? 2 : 15);
        });
    }
    try {
        await runAll();
    } finally {
        if (tmp && interrupted) await stopProcessesUnder(tmp);
        if (tmp) removeRunTmpDir(tmp);
    }
}

/** The signal that interrupted the run, if one did. */
let interrupted = null;

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
    if (m.signal) process.stdout.write(`mocha was killed (${m.signal})\n`);
    if (t.code !== 0) {
        process.stdout.write(Buffer.concat(tscOut).toString());
        process.stdout.write(`tsc --noEmit failed (exit ${t.code}${t.error ? `: ${t.error.message}` : ""})\n`);
    }
    process.exitCode = m.code !== 0 ? m.code : t.code;
}

main().catch((e) => {
    process.stderr.write(`${e.stack || e}\n`);
    process.exitCode = 1;
});
