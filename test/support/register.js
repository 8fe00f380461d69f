// What mocha loads first in every worker (.mocharc.json "require"), for the spec files only:
//
//  - TypeScript through ts-node with swc as its transpiler (@swc/core, a devDependency): the same
//    tsconfig, no type check (`npm test` runs tsc --noEmit beside mocha: run-tests.js). Each of
//    mocha's workers transpiles every module it loads; swc does it in a fraction of TypeScript's
//    time. One file is the exception: providers/release/hosted.ts, whose compiled functions are
//    the text Pulumi serializes into the Release (`__provider`), is compiled by TypeScript, as it
//    is under `pulumi up`, so that the host tier runs the very text users' stacks carry (swc
//    emits other JavaScript for it: test/host/host.spec.ts checks). The host itself loads the
//    provider with TypeScript's own transpiler (hosted.ts), as the rehearsal CLI's specs load the
//    CLI (`-r ts-node/register/transpile-only`, as scripts/rehearse.sh).
//  - Stack traces of errors made inside @pulumi/* left unmapped: Pulumi's runtime reads
//    `new Error().stack` for every promise and resource it makes, and ts-node's source-map
//    support maps each frame of each of them, which was a third of a Pulumi-mocks spec's CPU.
//    Any other error's stack (the specs', the project's) is mapped to the TypeScript lines as
//    before. (Pulumi's resources then record swc's JavaScript positions as their source position;
//    no spec reads them.)
"use strict";
const fs = require("fs");
const path = require("path");
const tsNode = require("ts-node");

tsNode.register({ transpileOnly: true, swc: true });

const HOSTED = fs.realpathSync(path.join(__dirname, "..", "..", "providers", "release", "hosted.ts"));
const typescript = tsNode.create({ transpileOnly: true });
const swcLoader = require.extensions[".ts"];
require.extensions[".ts"] = function loadTs(module, filename) {
    if (filename !== HOSTED) return swcLoader(module, filename);
    module._compile(typescript.compile(fs.readFileSync(filename, "utf8"), filename), filename);
};

const PULUMI = `${path.sep}node_modules${path.sep}@pulumi${path.sep}`;
const mapped = Error.prepareStackTrace;

/** V8's own format: "Name: message" and one "    at ..." line per frame. */
function plain(error, frames) {
    let head = "Error";
    try {
        const name = (error && error.name) || "Error";
        const message = error && error.message;
        head = message ? `${name}: ${message}` : String(name);
    } catch {
        /* an object whose name or message cannot be read: "Error" */
    }
    return head + frames.map((f) => `\n    at ${f}`).join("");
}

if (typeof mapped === "function") {
    Error.prepareStackTrace = function prepareStackTrace(error, frames) {
        const top = frames.length ? frames[0].getFileName() : null;
        return top && top.includes(PULUMI) ? plain(error, frames) : mapped(error, frames);
    };
}
