/**
 * npm test's file list (test/support/spec-files.js, run by test/support/run-tests.js): every spec
 * file exactly once: FIRST (the files over 20 s alone), then those neither list names (under
 * 3.5 s) in path order, then LAST (3.5 s to 20 s), so that ordering them never leaves one out.
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
        assert.ok(rest.length > 0, "files that neither list names run between them");
        assert.deepEqual(rest, [...rest].sort(), "those in path order");
    });

    it("skips a listed file that no longer exists, and still lists every spec file there is", function () {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "spec-files-"));
        try {
            // Two files of each list, each pair in the reverse of path order, and two unlisted
            // files that sort after every listed one: only the lists' rule gives this order.
            const first = [FIRST[0], FIRST[FIRST.length - 1]];
            const last = [LAST[0], LAST[LAST.length - 1]];
            assert.ok(first[0] > first[1] && last[0] > last[1], `pairs in reverse path order: ${first} ${last}`);
            const unlisted = ["test/zz/x.spec.ts", "test/zzz/y.spec.ts"];
            for (const f of [...unlisted, ...first, ...last, "test/zz/helper.ts"]) {
                fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
                fs.writeFileSync(path.join(root, f), "");
            }
            assert.deepEqual(specFiles(root), [...first, ...last, ...unlisted].sort());
            const write = process.stderr.write;
            const warned: string[] = [];
            process.stderr.write = ((s: string) => (warned.push(String(s)), true)) as typeof process.stderr.write;
            let got: string[];
            try {
                got = ordered(root);
            } finally {
                process.stderr.write = write;
            }
            assert.deepEqual(got, [...first, ...unlisted, ...last]);
            assert.equal(warned.length, FIRST.length - 2 + LAST.length - 2, warned.join(""));
            assert.ok(warned.join("").includes(`${FIRST[1]} (FIRST) does not exist`), warned.join(""));
            assert.ok(warned.join("").includes(`${LAST[1]} (LAST) does not exist`), warned.join(""));
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});
