/**
 * npm test's file list (test/support/spec-files.js, run by test/support/run-tests.js): every spec
 * file exactly once: the measured longest end-to-end files first, the in-process files next, the
 * shorter end-to-end files last, so that ordering them never leaves one out.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "../support/pulumi-mocks";

const { FIRST, LAST, specFiles, ordered } = require("../support/spec-files") as {
    FIRST: string[];
    LAST: string[];
    specFiles: (root: string) => string[];
    ordered: (root: string) => string[];
};

describe("npm test's spec files (test/support/spec-files.js)", function () {
    it("lists every test/**/*.spec.ts once: FIRST in its order, then the rest in path order, then LAST in its order", function () {
        const all: string[] = [];
        const walk = (dir: string) => {
            for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
                if (e.isDirectory()) walk(`${dir}/${e.name}`);
                else if (e.name.endsWith(".spec.ts")) all.push(`${dir}/${e.name}`);
            }
        };
        walk("test");
        const got = ordered(ROOT);
        assert.deepEqual([...got].sort(), [...all].sort(), "every spec file, none twice");
        assert.ok(all.includes("test/infra/spec-order.spec.ts"), "this file is among them");
        assert.deepEqual(got.slice(0, FIRST.length), FIRST, "FIRST first (each exists)");
        assert.deepEqual(got.slice(got.length - LAST.length), LAST, "LAST last (each exists)");
        const rest = got.slice(FIRST.length, got.length - LAST.length);
        assert.ok(rest.length > 0 && rest.every((f) => !FIRST.includes(f) && !LAST.includes(f)), "the rest: the files neither list names");
        assert.deepEqual(rest, [...rest].sort());
    });

    it("skips a listed file that no longer exists, and still lists every spec file there is", function () {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "spec-files-"));
        try {
            for (const f of ["test/b/y.spec.ts", "test/remote/commands.spec.ts", "test/a/x.spec.ts", "test/a/helper.ts", "test/host/host.spec.ts"]) {
                fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
                fs.writeFileSync(path.join(root, f), "");
            }
            assert.deepEqual(specFiles(root), ["test/a/x.spec.ts", "test/b/y.spec.ts", "test/host/host.spec.ts", "test/remote/commands.spec.ts"]);
            const write = process.stderr.write;
            const warned: string[] = [];
            process.stderr.write = ((s: string) => (warned.push(String(s)), true)) as typeof process.stderr.write;
            let got: string[];
            try {
                got = ordered(root);
            } finally {
                process.stderr.write = write;
            }
            assert.deepEqual(got, ["test/host/host.spec.ts", "test/a/x.spec.ts", "test/b/y.spec.ts", "test/remote/commands.spec.ts"]);
            assert.equal(warned.length, FIRST.length - 1 + LAST.length - 1, warned.join(""));
            assert.match(warned.join(""), /test\/rehearsal\/rehearsal\.spec\.ts \(FIRST\) does not exist/);
            assert.match(warned.join(""), /test\/release\/sweep\.spec\.ts \(LAST\) does not exist/);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});
