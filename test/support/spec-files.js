// Every spec file (test/**/*.spec.ts), the slowest first, for `npm test` (package.json):
// mocha --parallel hands files to its workers in the order given, so a long file started last
// would run alone at the end. SLOWEST_FIRST holds the files over 3.5 s when each runs alone on the
// 2-core machine, longest first, with two measured exceptions (README's Tests section): the moto
// host tier leads (it is the longest under load and ends the run when it starts behind the
// rehearsals), and the wait-bound moto adapter spec starts beside the rehearsals instead of a
// fourth CPU-bound one. A file it names that no longer exists is reported on stderr and skipped,
// and every other spec file follows in path order, so none is left out.
"use strict";
const fs = require("fs");
const path = require("path");

const SLOWEST_FIRST = [
    "test/host/release-moto.spec.ts",
    "test/rehearsal/own-app.spec.ts",
    "test/rehearsal/rehearsal.spec.ts",
    "test/aws/adapter-moto.spec.ts",
    "test/rehearsal/rehearsal-cli.spec.ts",
    "test/remote/e2e.spec.ts",
    "test/host/host.spec.ts",
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
    const first = SLOWEST_FIRST.filter((f) => {
        if (all.includes(f)) return true;
        process.stderr.write(`test/support/spec-files.js: ${f} (SLOWEST_FIRST) does not exist: update the list\n`);
        return false;
    });
    return [...first, ...all.filter((f) => !first.includes(f))];
}

module.exports = { SLOWEST_FIRST, specFiles, ordered };

if (require.main === module) process.stdout.write(ordered(path.join(__dirname, "..", "..")).join("\n") + "\n");
