/** The django_fleet package's own tests (Django's test runner, Debian's Django), run inside npm test. */
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { releaseVenvSettings } from "../../testkit/services";

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

    it("is pip-installable (offline, into a virtualenv), management command included", function () {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-pip-"));
        try {
            fs.cpSync(path.join(__dirname, "..", "..", "django"), path.join(work, "src"), { recursive: true });
            const venv = releaseVenvSettings();
            execFileSync(venv.python, ["-m", "venv", ...venv.venvArgs.split(" "), path.join(work, "venv")]);
            const py = path.join(work, "venv", "bin", "python");
            execFileSync(py, ["-m", "pip", "install", "-q", "--no-index", "--no-build-isolation", "--disable-pip-version-check", path.join(work, "src")], { stdio: "pipe" });
            const where = execFileSync(py, ["-c", "import django_fleet.management.commands.fleet_migration_plan as m, django_fleet; print(django_fleet.__file__)"], { cwd: work, encoding: "utf8" });
            assert.match(where.trim(), new RegExp(`^${path.join(work, "venv", "lib")}/python3\\.\\d+/site-packages/django_fleet/__init__\\.py$`));
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
