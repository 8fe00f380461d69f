// Every spec file (test/**/*.spec.ts) in the order `npm test` (package.json) hands them to
// mocha --parallel, which gives each free worker the next file:
//  - FIRST: the end-to-end files over 20 s when each runs alone on the 2-core machine (23 s to
//    80 s this round), longest first, with two measured exceptions: the moto host tier leads (it
//    is the longest under load and ends the run when it starts behind the rehearsals), and the
//    wait-bound moto adapter spec starts beside the rehearsals instead of a fourth CPU-bound one;
//  - then every file neither list names, in path order: those under 3.5 s alone, mostly
//    in-process, which use the CPU that the last of FIRST (SSH sessions, the dynamic-provider
//    host, drains) leaves idle;
//  - LAST: the files of 3.5 s to 20 s alone (14 s down to 4.5 s), short enough to even out the
//    workers' ends.
// Measured in alternating runs on that machine (README's Tests section): 96-102 s, against
// 104-105 s with no-return-e2e in FIRST (and, an earlier pair, 100-110 s with the short files
// after no-return-e2e against 106-115 s with them last). A file a list names that no longer
// exists is reported on stderr and skipped, so none is left out and none is run twice.
"use strict";
const fs = require("fs");
const path = require("path");

const FIRST = [
    "test/host/release-moto.spec.ts",
    "test/rehearsal/own-app.spec.ts",
    "test/rehearsal/rehearsal.spec.ts",
    "test/aws/adapter-moto.spec.ts",
    "test/rehearsal/rehearsal-cli.spec.ts",
    "test/remote/e2e.spec.ts",
    "test/host/host.spec.ts",
];

const LAST = [
    "test/remote/no-return-e2e.spec.ts",
    "test/rehearsal/local-cloud.spec.ts",
    "test/remote/least-privilege.spec.ts",
    "test/remote/transports.spec.ts",
    "test/remote/inspection-readonly.spec.ts",
    "test/remote/commands.spec.ts",
    "test/release/sweep.spec.ts",
    "test/aws/moto-proxy.spec.ts",
    "test/infra/databaseUser.spec.ts",
    "test/remote/linter-suite.spec.ts",
];

function specFiles(root) {
    const out = [];
    const walk = (dir) => {
        for (const e of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
            const rel = `${dir}/${e.name}`;
            if (e.isDirectory()) walk(rel);
            else if (e.name.endsWith(".spec.ts")) out.push(rel);
        }
    };
    walk("test");
    return out.sort();
}

function ordered(root) {
    const all = specFiles(root);
    const existing = (name, list) =>
        list.filter((f) => {
            if (all.includes(f)) return true;
            process.stderr.write(`test/support/spec-files.js: ${f} (${name}) does not exist: update the list\n`);
            return false;
        });
    const first = existing("FIRST", FIRST);
    const last = existing("LAST", LAST);
    return [...first, ...all.filter((f) => !first.includes(f) && !last.includes(f)), ...last];
}

module.exports = { FIRST, LAST, specFiles, ordered };

if (require.main === module) process.stdout.write(ordered(path.join(__dirname, "..", "..")).join("\n") + "\n");
