/**
 * Issue 10, findings 1 to 3, proven with the real remote phase over the tests' own sshd,
 * PostgreSQL and the example repository:
 *  1. an inspection (`pulumi preview`) runs the candidate's code as the inspection account, which
 *     cannot write the release directories, the static root (even one every account may write,
 *     as through the EFS access point) or the database, nor read the app's settings; only heads
 *     and tags are fetched, and a commit reachable from neither is refused;
 *  2. a `current` link whose name carries shell syntax, with a failed restart, runs nothing;
 *  3. no repository (repo.git, temporary fetch) is left on the instance after a release.
 */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { RemotePhase, RemotePhaseError } from "../../providers/release/ports";
import { createRemotePhase } from "../../providers/release/remote";
import { ExampleSite, INSPECT_UID, startExampleSite } from "../../testkit/site";

describe("least privilege on the release path (issue 10, findings 1-3)", function () {
    this.timeout(120000);

    let site: ExampleSite;
    let phase: RemotePhase;
    let markerDir: string;
    const git = (...args: string[]) => execFileSync("git", ["-C", site.repo.dir, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { encoding: "utf8" }).trim();

    before(async function () {
        site = await startExampleSite({ keepReleases: 3 });
        phase = await createRemotePhase(site.settings);
        await phase.apply("v1", { migrationPolicy: "refuse", log: () => undefined });
        markerDir = path.join(site.work, "marker");
        fs.mkdirSync(markerDir, { mode: 0o1777 });
        fs.chmodSync(markerDir, 0o1777);
    });

    after(async function () {
        await phase?.close().catch(() => undefined);
        await site?.stop();
    });

    /** Tags `name`: v1 whose settings, at import, record who runs them and try to write everywhere. */
    function tagCandidate(name: string, marker: string) {
        const branch = git("rev-parse", "--abbrev-ref", "HEAD");
        const settings = path.join(site.repo.dir, "mysite", "settings.py");
        const original = fs.readFileSync(settings, "utf8");
        git("checkout", "-q", "v1");
        const probe = `
import errno as _errno, json as _json, os as _os, subprocess as _sp
_r = {"id": _sp.run(["id"], capture_output=True, text=True).stdout.strip(), "uid": _os.getuid()}
for _name, _p in [("release", ${JSON.stringify(path.join(site.appDir, "releases", "PWNED"))}), ("static", ${JSON.stringify(path.join(site.staticRoot, "PWNED"))}), ("current", ${JSON.stringify(path.join(site.appDir, "PWNED"))})]:
    try:
        open(_p, "w").write("x"); _r[_name] = "written"
    except OSError as _e:
        _r[_name] = type(_e).__name__ + ":" + _errno.errorcode.get(_e.errno, "?")
try:
    open(${JSON.stringify(path.join(site.appDir, "shared", "env"))}).read(); _r["appEnv"] = "read"
except OSError as _e:
    _r["appEnv"] = type(_e).__name__
try:
    import psycopg2 as _pg
    _c = _pg.connect(**{_k: _os.environ["DATABASE_" + _v] for _k, _v in [("host", "HOST"), ("port", "PORT"), ("dbname", "NAME"), ("user", "USER"), ("password", "PASSWORD")]})
    _cur = _c.cursor(); _cur.execute("SELECT count(*) FROM django_migrations"); _r["dbRead"] = _cur.fetchone()[0]
    _cur.execute("INSERT INTO catalog_product (name) VALUES ('PWNED')"); _c.commit(); _r["db"] = "written"
except Exception as _e:
    _r["db"] = type(_e).__name__
with open(${JSON.stringify(marker)}, "a") as _f:
    _f.write(_json.dumps(_r) + "\\n")
`;
        fs.writeFileSync(settings, `${fs.readFileSync(settings, "utf8")}${probe}`);
        git("commit", "-q", "-am", `candidate ${name}`);
        git("tag", name);
        git("checkout", "-q", branch);
        fs.writeFileSync(settings, original);
    }

    it("finding 1: the candidate's code runs unprivileged and can write neither releases, the static root nor the database", async function () {
        const marker = path.join(markerDir, "candidate.jsonl");
        tagCandidate("candidate", marker);
        const products = site.pg.psql("SELECT count(*) FROM catalog_product");
        // Through the EFS access point every local account writes the static root as the app
        // user: here, a static root every account may write. The inspection wrapper hides it.
        const mode = fs.statSync(site.staticRoot).mode & 0o7777;
        fs.chmodSync(site.staticRoot, 0o777);
        const inspection = await phase.inspect("candidate").finally(() => fs.chmodSync(site.staticRoot, mode));
        assert.equal(inspection.currentVersion, "v1");
        const runs = fs.readFileSync(marker, "utf8").trim().split("\n").map((l) => JSON.parse(l));
        assert.ok(runs.length >= 1, "the candidate's code ran");
        for (const r of runs) {
            assert.equal(r.uid, INSPECT_UID, r.id);
            assert.match(r.id, /^uid=65534\(nobody\)/);
            assert.equal(r.release, "PermissionError:EACCES");
            assert.equal(r.static, "OSError:EROFS", "the static root is read-only for it, although every account may write it");
            assert.equal(r.current, "PermissionError:EACCES");
            assert.equal(r.appEnv, "PermissionError", "the app's settings (secrets) are not readable");
            assert.ok(r.dbRead >= 1, "applied migrations are readable");
            assert.equal(r.db, "InsufficientPrivilege");
        }
        assert.ok(!fs.existsSync(path.join(site.appDir, "releases", "PWNED")));
        assert.ok(!fs.existsSync(path.join(site.staticRoot, "PWNED")));
        assert.equal(site.pg.psql("SELECT count(*) FROM catalog_product"), products);
        assert.ok(!fs.existsSync(path.join(site.appDir, "releases", "candidate")), "the inspection does not touch the release directories");
        assert.equal(fs.readlinkSync(path.join(site.appDir, "current")), "releases/v1");
    });

    it("finding 1: a commit only a pull-request ref points at is refused with a clear error", async function () {
        const branch = git("rev-parse", "--abbrev-ref", "HEAD");
        git("checkout", "-q", "v1");
        fs.writeFileSync(path.join(site.repo.dir, "FORK.txt"), "from a fork\n");
        git("add", "FORK.txt");
        git("commit", "-q", "-m", "fork");
        const pr = git("rev-parse", "HEAD");
        git("update-ref", "refs/pull/42/head", pr);
        git("checkout", "-q", branch);
        await assert.rejects(phase.inspect(pr), (e: unknown) => {
            assert.ok(e instanceof RemotePhaseError);
            assert.equal(e.step, "checkout");
            assert.ok(e.message.includes(`version ${pr} is neither a tag, a branch nor a commit reachable from them in the repository (only refs/heads/* and refs/tags/* are fetched)`), e.message);
            return true;
        });
        await assert.rejects(phase.apply(pr, { migrationPolicy: "allow", log: () => undefined }), /neither a tag, a branch nor a commit reachable/);
        assert.ok(!fs.existsSync(path.join(site.appDir, "releases", pr)));
    });

    it("finding 3: no repository is left on the instance (nothing of it reaches an AMI)", function () {
        assert.deepEqual(fs.readdirSync(site.appDir).filter((f) => !["current", "releases", "run", "shared"].includes(f)), []);
        const found = execFileSync("find", [site.appDir, site.staticRoot, "-name", "*.git", "-o", "-name", "packed-refs", "-o", "-name", "HEAD"], { encoding: "utf8" });
        assert.equal(found, "");
    });

    it("finding 2: current -> releases/x$(touch${IFS}PWNED) and a failed restart create nothing", async function () {
        const current = path.join(site.appDir, "current");
        fs.unlinkSync(current);
        fs.symlinkSync("releases/x$(touch${IFS}PWNED)", current);
        const failing = await createRemotePhase({ ...site.settings, restartCommand: "echo restart failed >&2; exit 1" });
        try {
            await assert.rejects(failing.apply("v2", { migrationPolicy: "allow", log: () => undefined }), (e: unknown) => {
                assert.ok(e instanceof RemotePhaseError);
                assert.equal(e.step, "checkout");
                assert.match(e.message, /current points at x\\\$\\\(touch\\\$\\\{IFS\\\}PWNED\\\), which is no release name/);
                return true;
            });
            await assert.rejects(failing.revert("x$(touch${IFS}PWNED)"), /Invalid version/);
        } finally {
            await failing.close();
        }
        const pwned = execFileSync("find", [site.work, "-name", "PWNED"], { encoding: "utf8" }) + execFileSync("find", ["/root", "-maxdepth", "1", "-name", "PWNED"], { encoding: "utf8" });
        assert.equal(pwned, "");
        assert.equal(fs.readlinkSync(current), "releases/x$(touch${IFS}PWNED)", "nothing was switched");
    });
});
