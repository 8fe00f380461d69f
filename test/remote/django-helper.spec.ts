/** The django_fleet package's own tests (Django's test runner, Debian's Django), run inside npm test. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

describe("django_fleet (Python tests with Django's test runner)", function () {
    this.timeout(60000);

    it("passes every test of django/tests", function () {
        const root = path.join(__dirname, "..", "..", "django");
        const r = spawnSync("/usr/bin/python3", ["runtests.py"], { cwd: root, encoding: "utf8", env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } });
        const ran = /^Ran (\d+) tests? in/m.exec(r.stderr);
        assert.ok(ran, `no test summary from runtests.py:\n${r.stderr}\n${r.stdout}`);
        const count = Number(ran[1]);
        assert.equal(r.status, 0, `django_fleet tests failed:\n${r.stderr.slice(-6000)}`);
        assert.match(r.stderr, /^OK$/m);
        assert.ok(count >= 25, `only ${count} Python tests ran`);
        this.test!.title += ` (${count} Python tests)`;
    });
});
