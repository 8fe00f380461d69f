/** The remote phase's commands, as exact strings (no SSH), and its two Python snippets run for real. */
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import * as c from "../../providers/release/remote/commands";

const cfg = c.resolveSettings({ transport: "ssh", repositoryUrl: "https://git.example.com/shop.git", settingsModule: "shop.settings.prod" });
const q = c.shq;


/** Runs the remote phase's health poll (HEALTH_SCRIPT) against `url` with python3, as the instance does. */
function runHealthScript(url: string, version: string, limit: string): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve) => {
        const { spawn } = require("child_process") as typeof import("child_process");
        const p = spawn("python3", ["-c", c.HEALTH_SCRIPT, url, version, limit]);
        let out = "";
        let err = "";
        p.stdout.on("data", (d: Buffer) => (out += d));
        p.stderr.on("data", (d: Buffer) => (err += d));
        p.on("close", (code) => resolve({ code, out, err }));
    });
}
describe("remote commands", function () {
    describe("resolveSettings", function () {
        it("applies the documented defaults", function () {
            assert.deepEqual(c.resolveSettings({ transport: "ssm", repositoryUrl: "u" }), {
                repositoryUrl: "u",
                appDir: "/srv/app",
                staticRoot: "/srv/static",
                staticUrl: "/static/",
                python: "python3",
                venvArgs: "",
                installCommand: "venv/bin/pip install -r requirements.txt",
                restartCommand: "sudo systemctl restart django-app",
                healthUrl: "http://127.0.0.1:8000/health/",
                settingsModule: null,
                keepReleases: 5,
                commandTimeoutS: 900,
                healthTimeoutS: 60,
                inspectAs: "sudo -n /usr/local/sbin/django-fleet-as-inspect --",
                inspectDir: "/var/lib/fleet-inspect",
                inspectEnvFile: "/run/fleet-inspect/env",
            });
        });

        it("reports every invalid field at once, naming them", function () {
            assert.throws(
                () => c.resolveSettings({ transport: "ssh", repositoryUrl: "", appDir: "srv", keepReleases: 1, staticUrl: "static" }),
                /\[repositoryUrl\] is required; \[keepReleases\] \(1\) must be an integer >= 2; \[appDir\] \(srv\) must be an absolute path; \[staticUrl\] \(static\) must start and end with "\/"/,
            );
        });

        it("refuses a credential in the repository URL, saying where it goes instead, without echoing it", function () {
            for (const url of ["https://bot:ghp_SeCrEt123@github.com/acme/shop.git", "https://ghp_SeCrEt123@github.com/acme/shop.git", "ssh://git:ghp_SeCrEt123@git.example.com/shop.git"]) {
                assert.throws(() => c.resolveSettings({ transport: "ssm", repositoryUrl: url }), (e: Error) => {
                    assert.match(e.message, /\[repositoryUrl\] \((https|ssh):\/\/\*\*\*@[a-z.]+\/.*\) carries a credential: remove it from the URL/);
                    assert.match(e.message, /pulumi config set --secret repositoryToken <token>\): the stack keeps it in SSM Parameter Store as the SecureString <parameter prefix>\/REPOSITORY_TOKEN/);
                    assert.match(e.message, /git credential helper reads it at each fetch/);
                    assert.ok(!e.message.includes("ghp_SeCrEt123"), e.message);
                    return true;
                });
            }
            for (const url of ["https://github.com/acme/shop.git", "ssh://git@github.com/acme/shop.git", "git@github.com:acme/shop.git", "file:///srv/repo"]) c.resolveSettings({ transport: "ssm", repositoryUrl: url });
        });

        it("refuses a repository URL git would read as an option", function () {
            assert.throws(() => c.resolveSettings({ transport: "ssh", repositoryUrl: "--upload-pack=touch /tmp/x" }), /\[repositoryUrl\] \(--upload-pack=touch \/tmp\/x\) must not start with "-"/);
        });
    });

    describe("shq and validateVersion", function () {
        it("quotes only what needs quoting, and single quotes safely", function () {
            assert.equal(q("/srv/app/releases/v1.2.3"), "/srv/app/releases/v1.2.3");
            assert.equal(q("a b"), "'a b'");
            assert.equal(q("it's"), `'it'\\''s'`);
            assert.equal(q("$(rm -rf /)"), "'$(rm -rf /)'");
            assert.equal(execFileSync("bash", ["-c", `printf %s ${q(`it's "$HOME" $(x) \\ \``)}`], { encoding: "utf8" }), `it's "$HOME" $(x) \\ \``);
        });

        it("accepts tag-like versions and refuses paths and shell syntax", function () {
            for (const v of ["v1", "v1.4.0", "release-2024_01", "3"]) c.validateVersion(v);
            for (const v of ["", "../x", "a/b", "-rf", ".hidden", "v1;ls", "v 1", "v2.tmp", "x".repeat(101)]) {
                assert.throws(() => c.validateVersion(v), /Invalid version/, v);
            }
        });
    });

    const fetchLines = (version: string) => [
        `mirror=$(mktemp -d) && trap 'rm -rf "$mirror"' EXIT`,
        `git -c init.defaultBranch=main init --quiet --bare "$mirror"`,
        `git -C "$mirror" fetch --quiet --no-tags --no-write-fetch-head -- https://git.example.com/shop.git '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'`,
        `if commit=$(git -C "$mirror" rev-parse --verify --quiet 'refs/tags/${version}^{commit}'); then :`,
        `elif commit=$(git -C "$mirror" rev-parse --verify --quiet 'refs/heads/${version}^{commit}'); then :`,
        `elif [[ ${version} =~ ^[0-9a-f]{7,40}$ ]] && commit=$(git -C "$mirror" rev-parse --verify --quiet '${version}^{commit}') && [ -n "$(git -C "$mirror" for-each-ref --count=1 --contains "$commit" refs/heads refs/tags)" ]; then :`,
        `else echo 'version ${version} is neither a tag, a branch nor a commit reachable from them in the repository (only refs/heads/* and refs/tags/* are fetched)' >&2; exit 1; fi`,
        `current=$(readlink /srv/app/current || true); current=\${current##*/}`,
        `case "$current" in *[!A-Za-z0-9._-]*|.*|-*) printf 'current points at %q, which is no release name: refusing to use it (point current at a release directory)\\n' "$current" >&2; exit 1;; esac`,
        `echo "current=$current"; echo "commit=$commit"`,
    ];

    it("checkout: heads and tags fetched into a temporary repository, resolved, git archive into its own release directory", function () {
        assert.equal(
            c.checkout(cfg, "v2"),
            [
                `set -euo pipefail`,
                `mkdir -p /srv/app/releases /srv/static`,
                ...fetchLines("v2"),
                `if [ -f /srv/app/releases/v2/.fleet-commit ] && [ "$(cat /srv/app/releases/v2/.fleet-commit)" = "$commit" ]; then echo 'releases/v2 already holds' "$commit"; else`,
                `  if [ "$current" = v2 ]; then echo 'refusing to replace releases/v2: it is serving and v2 now resolves to' "$commit" >&2; exit 1; fi`,
                `  rm -rf /srv/app/releases/v2.tmp && mkdir -p /srv/app/releases/v2.tmp && git -C "$mirror" archive "$commit" | tar -x -m -C /srv/app/releases/v2.tmp && echo "$commit" > /srv/app/releases/v2.tmp/.fleet-commit && rm -rf /srv/app/releases/v2 && mv /srv/app/releases/v2.tmp /srv/app/releases/v2 && echo 'checked out v2 at' "$commit"`,
                `fi`,
            ].join("\n"),
        );
    });

    it("inspection: checkout unpacked, install and plan run as the inspection account with a clean environment", function () {
        assert.equal(
            c.inspectCheckout(cfg, "v2"),
            [
                `set -euo pipefail`,
                `(cd / && sudo -n /usr/local/sbin/django-fleet-as-inspect -- true) || { echo 'the inspection account is not set up on this instance (sudo -n /usr/local/sbin/django-fleet-as-inspect -- true failed): the boot script of this version creates it' >&2; exit 3; }`,
                ...fetchLines("v2"),
                `git -C "$mirror" archive "$commit" | (cd / && sudo -n /usr/local/sbin/django-fleet-as-inspect -- bash -c 'rm -rf /var/lib/fleet-inspect/v2 && mkdir -p /var/lib/fleet-inspect/v2 && tar -x -m -C /var/lib/fleet-inspect/v2')`,
                `echo 'checked out v2 for inspection at' "$commit"`,
            ].join("\n"),
        );
        const env = `env -i HOME=/var/lib/fleet-inspect/v2 PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 FLEET_ENV_FILE=/run/fleet-inspect/env STATIC_ROOT=/srv/static STATIC_URL=/static/ DJANGO_SETTINGS_MODULE=shop.settings.prod`;
        assert.equal(
            c.inspectInstall(cfg, "v2"),
            `cd / && sudo -n /usr/local/sbin/django-fleet-as-inspect -- ${env} bash -c ${q(["set -euo pipefail", "cd /var/lib/fleet-inspect/v2", "if [ ! -f venv/.fleet-ready ]; then rm -rf venv && python3 -m venv venv && touch venv/.fleet-ready; fi", "venv/bin/pip install -r requirements.txt"].join("\n"))}`,
        );
        assert.equal(
            c.inspectPlan(cfg, "v2"),
            `cd / && sudo -n /usr/local/sbin/django-fleet-as-inspect -- ${env} bash -c ${q(
                [
                    "set -euo pipefail",
                    "cd /var/lib/fleet-inspect/v2",
                    "[ -r /run/fleet-inspect/env ] || { echo 'no read-only database credentials for the inspection: /run/fleet-inspect/env is missing or unreadable' >&2; exit 3; }",
                    `while IFS= read -r line || [ -n "$line" ]; do case "$line" in [A-Za-z_]*=*) export "$line";; esac; done < /run/fleet-inspect/env`,
                    "DJANGO_SETTINGS_MODULE=shop.settings.prod venv/bin/python manage.py fleet_migration_plan --output .fleet-plan.json",
                ].join("\n"),
            )}`,
        );
    });

    it("install: the release's own virtualenv (once), then the install command", function () {
        assert.equal(
            c.install(cfg, "v2"),
            [
                `set -euo pipefail`,
                `cd /srv/app/releases/v2`,
                `if [ ! -f venv/.fleet-ready ]; then rm -rf venv && python3 -m venv venv && touch venv/.fleet-ready; fi`,
                `venv/bin/pip install -r requirements.txt`,
            ].join("\n"),
        );
        const custom = c.resolveSettings({ transport: "local", repositoryUrl: "u", python: "/usr/bin/python3", venvArgs: "--system-site-packages", installCommand: "venv/bin/pip install --no-index -r requirements.txt" });
        assert.equal(
            c.install(custom, "v1"),
            [
                `set -euo pipefail`,
                `cd /srv/app/releases/v1`,
                `if [ ! -f venv/.fleet-ready ]; then rm -rf venv && /usr/bin/python3 -m venv --system-site-packages venv && touch venv/.fleet-ready; fi`,
                `venv/bin/pip install --no-index -r requirements.txt`,
            ].join("\n"),
        );
    });

    it("migration plan and migrate run manage.py in the release with the settings module", function () {
        assert.equal(c.migrationPlan(cfg, "v2"), `cd /srv/app/releases/v2 && DJANGO_SETTINGS_MODULE=shop.settings.prod venv/bin/python manage.py fleet_migration_plan --output .fleet-plan.json`);
        assert.equal(c.migrate(cfg, "v2"), `cd /srv/app/releases/v2 && DJANGO_SETTINGS_MODULE=shop.settings.prod venv/bin/python manage.py migrate --noinput`);
        const plain = c.resolveSettings({ transport: "ssm", repositoryUrl: "u", appDir: "/opt/my app/" });
        assert.equal(c.migrate(plain, "v1"), `cd '/opt/my app/releases/v1' && venv/bin/python manage.py migrate --noinput`);
    });

    it("collectstatic, then the manifest comparison against the previous release", function () {
        assert.equal(
            c.collectStatic(cfg, "v2", "v1"),
            [
                `set -euo pipefail`,
                `cd /srv/app/releases/v2 && DJANGO_SETTINGS_MODULE=shop.settings.prod venv/bin/python manage.py collectstatic --noinput`,
                `venv/bin/python -c ${q(c.CHANGED_STATIC_SCRIPT)} /srv/app/releases/v1/staticfiles.json staticfiles.json /srv/static /static/`,
            ].join("\n"),
        );
        assert.ok(c.collectStatic(cfg, "v1", null).endsWith(` '' staticfiles.json /srv/static /static/`));
        assert.ok(c.collectStatic(cfg, "v1", "v1").endsWith(` '' staticfiles.json /srv/static /static/`));
    });

    it("switch: a relative link to a temp name, renamed over current (atomic)", function () {
        assert.equal(
            c.switchCurrent(cfg, "v2"),
            [
                `set -euo pipefail`,
                `cd /srv/app`,
                `[ -d releases/v2 ] || { echo 'releases/v2 does not exist on this instance' >&2; exit 1; }`,
                `ln -sfn releases/v2 .current.tmp && mv -T .current.tmp current`,
                `echo "current -> $(readlink current)"`,
            ].join("\n"),
        );
    });

    it("restart, health, maintenance flag", function () {
        assert.equal(c.restart(cfg), `cd /srv/app && sudo systemctl restart django-app`);
        assert.equal(c.healthCheck(cfg, "v2"), `cd /srv/app/releases/v2 && venv/bin/python -c ${q(c.HEALTH_SCRIPT)} http://127.0.0.1:8000/health/ v2 60`);
        assert.equal(c.maintenanceOn(cfg), `touch /srv/app/maintenance.flag`);
        assert.equal(c.maintenanceOff(cfg), `rm -f /srv/app/maintenance.flag`);
    });

    it("prune: beyond keepReleases by age, never the kept ones nor what current points at", function () {
        assert.equal(
            c.prune(cfg, ["v2", "v1"]),
            [
                `cd /srv/app/releases`,
                `cur=$(readlink ../current || true); n=0`,
                `for d in $(ls -1t); do case "$d" in *.tmp) continue;; esac; n=$((n+1)); if [ $n -le 5 ] || [ "$d" = v2 ] || [ "$d" = v1 ] || [ "releases/$d" = "$cur" ]; then continue; fi; rm -rf -- "$d" && echo "pruned releases/$d"; done`,
            ].join("\n"),
        );
    });

    it("readChunk reads a byte range of a file", function () {
        assert.equal(c.readChunk("/srv/app/releases/v2/.fleet-plan.json", 20000, 20000), `tail -c +20001 /srv/app/releases/v2/.fleet-plan.json | head -c 20000`);
    });

    describe("run for real with bash and python3", function () {
        it("readChunk returns the exact slices of a file", function () {
            const file = path.join(os.tmpdir(), `fleet-chunk-${process.pid}`);
            fs.writeFileSync(file, "0123456789");
            try {
                const read = (o: number, n: number) => execFileSync("bash", ["-c", c.readChunk(file, o, n)], { encoding: "utf8" });
                assert.deepEqual([read(0, 4), read(4, 4), read(8, 4), read(12, 4)], ["0123", "4567", "89", ""]);
            } finally {
                fs.rmSync(file);
            }
        });

        let dir: string;
        beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-cmd-"))));
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        /** A repository with tag v1, branch main (at v1) and a pull-request ref to a commit on no branch or tag. */
        function repoWithPullRef() {
            const src = path.join(dir, "src");
            const git = (...args: string[]) => execFileSync("git", ["-C", src, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { encoding: "utf8" }).trim();
            fs.mkdirSync(src);
            git("init", "-q", "-b", "main");
            fs.writeFileSync(path.join(src, "a.txt"), "one\n");
            git("add", "a.txt");
            git("commit", "-q", "-m", "one");
            git("tag", "v1");
            fs.writeFileSync(path.join(src, "a.txt"), "from a fork\n");
            git("commit", "-q", "-am", "fork");
            git("update-ref", "refs/pull/7/head", "HEAD");
            git("reset", "-q", "--hard", "v1");
            return { url: `file://${src}`, v1: git("rev-parse", "v1"), pr: git("rev-parse", "refs/pull/7/head") };
        }

        it("checkout resolves tags, branches and reachable commits only, and leaves no repository behind", function () {
            const repo = repoWithPullRef();
            const tmp = path.join(dir, "tmp");
            fs.mkdirSync(tmp);
            const local = c.resolveSettings({ transport: "local", repositoryUrl: repo.url, appDir: path.join(dir, "app"), staticRoot: path.join(dir, "static") });
            const run = (v: string) => spawnSync("bash", ["-c", c.checkout(local, v)], { encoding: "utf8", env: { ...process.env, TMPDIR: tmp } });
            for (const v of ["v1", "main", repo.v1.slice(0, 10)]) {
                const r = run(v);
                assert.equal(r.status, 0, r.stderr);
                assert.match(r.stdout, new RegExp(`commit=${repo.v1}`));
                assert.equal(fs.readFileSync(path.join(dir, "app", "releases", v, "a.txt"), "utf8"), "one\n");
            }
            const pr = run(repo.pr);
            assert.equal(pr.status, 1);
            assert.equal(pr.stderr, `version ${repo.pr} is neither a tag, a branch nor a commit reachable from them in the repository (only refs/heads/* and refs/tags/* are fetched)\n`);
            assert.ok(!fs.existsSync(path.join(dir, "app", "releases", repo.pr)));
            assert.deepEqual(fs.readdirSync(tmp), [], "the temporary repository is removed");
            assert.deepEqual(fs.readdirSync(path.join(dir, "app")), ["releases"], "no repo.git on the instance");
        });

        it("a current link to a name with shell syntax is refused and runs nothing", function () {
            const repo = repoWithPullRef();
            const app = path.join(dir, "app");
            fs.mkdirSync(app);
            fs.symlinkSync("releases/x$(touch${IFS}PWNED)", path.join(app, "current"));
            const local = c.resolveSettings({ transport: "local", repositoryUrl: repo.url, appDir: app, staticRoot: path.join(dir, "static") });
            const r = spawnSync("bash", ["-c", c.checkout(local, "v1")], { encoding: "utf8", cwd: app });
            assert.equal(r.status, 1);
            assert.equal(r.stderr, "current points at x\\$\\(touch\\$\\{IFS\\}PWNED\\), which is no release name: refusing to use it (point current at a release directory)\n");
            assert.ok(!fs.existsSync(path.join(app, "PWNED")) && !fs.existsSync(path.join(dir, "PWNED")));
        });

        it("prune keeps the newest, the protected and current, removes the rest", function () {
            const local = c.resolveSettings({ transport: "local", repositoryUrl: "u", appDir: dir, keepReleases: 2 });
            const releases = path.join(dir, "releases");
            ["v1", "v2", "v3", "v4", "v5", "v6.tmp"].forEach((v, i) => {
                fs.mkdirSync(path.join(releases, v), { recursive: true });
                fs.utimesSync(path.join(releases, v), 1000 + i, 1000 + i);
            });
            fs.symlinkSync("releases/v1", path.join(dir, "current"));
            const out = execFileSync("bash", ["-c", c.prune(local, ["v5", "v2"])], { encoding: "utf8" });
            assert.deepEqual(fs.readdirSync(releases).sort(), ["v1", "v2", "v4", "v5", "v6.tmp"]);
            assert.equal(out, "pruned releases/v3\n");
        });

        it("switch replaces current atomically and refuses a missing release", function () {
            const local = c.resolveSettings({ transport: "local", repositoryUrl: "u", appDir: dir });
            fs.mkdirSync(path.join(dir, "releases", "v1"), { recursive: true });
            fs.mkdirSync(path.join(dir, "releases", "v2"), { recursive: true });
            execFileSync("bash", ["-c", c.switchCurrent(local, "v1")]);
            execFileSync("bash", ["-c", c.switchCurrent(local, "v2")]);
            assert.equal(fs.readlinkSync(path.join(dir, "current")), "releases/v2");
            const r = spawnSync("bash", ["-c", c.switchCurrent(local, "v9")], { encoding: "utf8" });
            assert.equal(r.status, 1);
            assert.equal(r.stderr, "releases/v9 does not exist on this instance\n");
            assert.equal(fs.readlinkSync(path.join(dir, "current")), "releases/v2");
        });

        it("the manifest comparison lists changed non-hashed paths and checks the static root", function () {
            const root = path.join(dir, "static");
            fs.mkdirSync(path.join(root, "js"), { recursive: true });
            for (const f of ["js/app.111111111111.js", "js/app.222222222222.js", "robots.111111111111.txt", "new.333333333333.css"]) fs.writeFileSync(path.join(root, f), "x");
            const write = (name: string, paths: object) => fs.writeFileSync(path.join(dir, name), JSON.stringify({ paths, version: "1.0" }));
            write("old.json", { "js/app.js": "js/app.111111111111.js", "robots.txt": "robots.111111111111.txt" });
            write("new.json", { "js/app.js": "js/app.222222222222.js", "robots.txt": "robots.111111111111.txt", "new.css": "new.333333333333.css" });
            const run = (...args: string[]) => spawnSync("python3", ["-c", c.CHANGED_STATIC_SCRIPT, ...args], { encoding: "utf8", cwd: dir });
            assert.equal(run("old.json", "new.json", root, "/static/").stdout, `changed-static-paths=["/static/js/app.js"]\n`);
            assert.equal(fs.readFileSync(path.join(dir, c.CHANGED_STATIC_FILE), "utf8"), `["/static/js/app.js"]`);
            assert.equal(run("", "new.json", root, "/static/").stdout, `changed-static-paths=[]\n`);
            fs.rmSync(path.join(root, "new.333333333333.css"));
            const missing = run("old.json", "new.json", root, "/static/");
            assert.equal(missing.status, 1);
            assert.match(missing.stderr, /1 hashed files of the manifest are not in .* e\.g\. new\.333333333333\.css/);
        });

        it("the health poll waits for 200 from the right release, and fails with the last answer", async function () {
            this.timeout(10000);
            let calls = 0;
            const server = http.createServer((req, res) => {
                calls += 1;
                if (calls === 1) return void res.writeHead(503).end('{"status": "error"}');
                if (calls === 2) return void res.writeHead(200).end('{"status": "ok", "release": "v1"}');
                res.writeHead(200).end('{"status": "ok", "release": "v2"}');
            });
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
            const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health/`;
            const runAsync = (version: string, limit: string) => runHealthScript(url, version, limit);
            try {
                const ok = await runAsync("v2", "5");
                assert.equal(ok.code, 0);
                assert.equal(ok.out, `healthy: 200 {"status": "ok", "release": "v2"}\n`);
                assert.equal(calls, 3);
                const bad = await runAsync("v7", "0.3");
                assert.equal(bad.code, 1);
                assert.match(bad.err, /health check of .* failed after 0\.3s: still serving release v2/);
            } finally {
                server.close();
            }
        });
    });

    it("the health poll reads the release from the X-Release header first, the JSON body's release field second", async function () {
        this.timeout(10000);
        // [status, X-Release header or null, body] answered in turn; the last one repeats.
        let answers: [number, string | null, string][] = [];
        let calls = 0;
        const server = http.createServer((req, res) => {
            const [status, header, body] = answers[Math.min(calls++, answers.length - 1)];
            res.writeHead(status, header === null ? {} : { "X-Release": header }).end(body);
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health/`;
        const poll = (version: string, limit: string) => runHealthScript(url, version, limit);
        try {
            // A health view whose JSON names no release: the header alone tells v1 from v2.
            answers = [[200, "v1", '{"status": "ok"}'], [200, "v1", '{"status": "ok"}'], [200, "v2", '{"status": "ok"}']];
            const ok = await poll("v2", "5");
            assert.equal(ok.code, 0, ok.err);
            assert.equal(ok.out, `healthy: 200 {"status": "ok"}\n`);
            assert.equal(calls, 3, "waited while the header said v1");
            const stale = await poll("v7", "0.3");
            assert.equal(stale.code, 1);
            assert.match(stale.err, /health check of .* failed after 0\.3s: still serving release v2/);
            // The header wins over the body.
            calls = 0;
            answers = [[200, "v3", '{"status": "ok", "release": "v2"}']];
            assert.match((await poll("v2", "0.3")).err, /still serving release v3/);
            assert.equal((await poll("v3", "5")).code, 0);
            // A failure with the header: the status and body are what the error shows.
            answers = [[503, "v3", '{"status": "error"}']];
            assert.match((await poll("v3", "0.3")).err, /failed after 0\.3s: 503 \{"status": "error"\}/);
        } finally {
            server.close();
        }
    });

    it("parseKeyValues reads key=value lines only", function () {
        assert.deepEqual(c.parseKeyValues("noise\ncurrent=v1\ncommit=abc\n  changed-static-paths=[\"/static/a.js\"]\nx y=z\n"), {
            current: "v1",
            commit: "abc",
            "changed-static-paths": `["/static/a.js"]`,
        });
    });
});
