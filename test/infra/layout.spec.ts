/**
 * The layout shows what ships: the Release's package imports no harness (rehearsal/, testkit/,
 * test/), and nothing outside test/ imports from test/ (shared fixtures live in testkit/).
 */
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { layoutViolations } from "../support/layout";

const ROOT = path.resolve(__dirname, "..", "..");

describe("layout", () => {
    it("the Release's package imports no harness, and nothing outside test/ imports from test/", () => {
        assert.deepEqual(layoutViolations(ROOT), []);
    });

    it("the rehearsal's local cloud is outside the package Pulumi's host loads", () => {
        const local = path.join(ROOT, "providers", "release", "local");
        assert.deepEqual(fs.existsSync(local) ? fs.readdirSync(local) : [], []);
        assert.ok(fs.existsSync(path.join(ROOT, "rehearsal", "local", "cloud.ts")));
    });
});
