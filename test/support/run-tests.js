// `npm test`: `tsc --noEmit` and every spec file (mocha --parallel, the slowest files first:
// spec-files.js), side by side instead of one after the other. tsc runs at the lowest CPU
// priority, so on a 2-core machine it takes the time the specs leave idle (their waits on health
// checks, drains and child processes) rather than time from them. Its output is printed after
// mocha's; npm test fails when either fails, and a tsc failure is the last line.
// Extra arguments go to mocha (`npm test -- --grep x`).
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const { ordered } = require("./spec-files");

const ROOT = path.join(__dirname, "..", "..");
/** Spec files run at once. Measured on the 2-core machine: see README's Tests section. */
const JOBS = 4;

function run(cmd, args, opts) {
    const child = spawn(cmd, args, { cwd: ROOT, ...opts });
    const exited = new Promise((resolve) => {
        child.on("error", (e) => resolve({ code: 1, error: e }));
        child.on("exit", (code, signal) => resolve({ code: code ?? 1, signal }));
    });
    return { child, exited };
}

/** `nice -n 19` (coreutils) when there is one: every thread of tsc at the lowest priority. */
const NICE = ["/usr/bin/nice", "/bin/nice"].find((p) => fs.existsSync(p));

async function main() {
    const tscOut = [];
    const tscArgs = [process.execPath, require.resolve("typescript/bin/tsc"), "--noEmit"];
    const [cmd, ...args] = NICE ? [NICE, "-n", "19", ...tscArgs] : tscArgs;
    const tsc = run(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    tsc.child.stdout.on("data", (d) => tscOut.push(d));
    tsc.child.stderr.on("data", (d) => tscOut.push(d));
    const mochaBin = require.resolve("mocha/bin/mocha.js");
    const mocha = run(process.execPath, [mochaBin, "--parallel", "--jobs", String(JOBS), ...ordered(ROOT), ...process.argv.slice(2)], { stdio: "inherit" });
    const [m, t] = await Promise.all([mocha.exited, tsc.exited]);
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
