// What mocha loads first in every worker (.mocharc.json "require"), for the spec files only:
//
//  - TypeScript through ts-node with swc as its transpiler (@swc/core, a devDependency): the same
//    tsconfig, no type check (`npm test` runs tsc --noEmit beside mocha: run-tests.js). Each of
//    mocha's workers transpiles every module it loads; swc does it in a fraction of TypeScript's
//    time. What users run is not transpiled this way: the dynamic-provider host loads the provider
//    with TypeScript's own transpiler (providers/release/hosted.ts), and the host tier runs it so.
//  - Stack traces of errors made inside @pulumi/* left unmapped: Pulumi's runtime reads
//    `new Error().stack` for every promise and resource it makes, and ts-node's source-map
//    support maps each frame of each of them, which was a third of a Pulumi-mocks spec's CPU.
//    Any other error's stack (the specs', the project's) is mapped to the TypeScript lines as before.
"use strict";
const path = require("path");

require("ts-node").register({ transpileOnly: true, swc: true });

const PULUMI = `${path.sep}node_modules${path.sep}@pulumi${path.sep}`;
const mapped = Error.prepareStackTrace;

/** V8's own format: "Error: message" and one "    at ..." line per frame. */
function plain(error, frames) {
    const head = error instanceof Error ? Error.prototype.toString.call(error) : String(error);
    return head + frames.map((f) => `\n    at ${f}`).join("");
}

if (typeof mapped === "function") {
    Error.prepareStackTrace = function prepareStackTrace(error, frames) {
        const top = frames.length ? frames[0].getFileName() : null;
        return top && top.includes(PULUMI) ? plain(error, frames) : mapped(error, frames);
    };
}
