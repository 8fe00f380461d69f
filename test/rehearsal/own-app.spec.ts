/**
 * The guide docs/own-app.md, followed by a test: a new `django-admin startproject shop` (Debian's
 * Django 3.2, /usr/bin/python3), a small app of its own (a model, a page, static files), then
 * exactly the guide's marked code blocks, extracted from the Markdown (test/rehearsal/guide.ts):
 * shell blocks run with bash, file blocks written, append blocks appended, and the rehearse
 * command's arguments parsed by the CLI's own parser. Two more tags: v2 (a nullable column, a
 * changed CSS file) and v3 (a renamed column). The rehearsal releases v1 -> v2 with 0 failed
 * requests, then refuses v3 at the inspection, naming the operation and its code.
 *
 * As the guide says, the commands run in the project with the virtualenv active and FLEET set.
 * Here FLEET holds a copy of this repository's django/ (the guide's pip commands read only that),
 * HOME is a temp dir, pip works offline (PIP_NO_INDEX; Debian's packages satisfy the rest), and
 * the rehearsal runs 2 instances with 1 s of traffic lead (wall time).
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { processesMentioning } from "../../rehearsal/local/procs";
import { parseArgs } from "../../rehearsal/cli";
import { Rehearsal, RehearsalResult } from "../../rehearsal/rehearsal";
import { verdict } from "../../rehearsal/report";
import { hasSystemPip } from "../../rehearsal/venv";
import { guideBlocks, rehearseArgs } from "./guide";

const ROOT = path.join(__dirname, "..", "..");
const GUIDE = path.join(ROOT, "docs", "own-app.md");

/** The app the guide's reader already has: catalog (Product.name), its page and static files. */
const CATALOG_V1: Record<string, string> = {
    "catalog/__init__.py": "",
    "catalog/models.py": `from django.db import models\n\n\nclass Product(models.Model):\n    name = models.CharField(max_length=100)\n`,
    "catalog/views.py": `from django.shortcuts import render\n\nfrom .models import Product\n\n\ndef index(request):\n    return render(request, "catalog/index.html", {"products": Product.objects.order_by("id")})\n`,
    "catalog/templates/catalog/index.html": `{% load static %}<!doctype html>\n<html><head><title>Shop</title>\n<link rel="stylesheet" href="{% static 'catalog/site.css' %}">\n<script src="{% static 'catalog/app.js' %}" defer></script></head>\n<body><ul>{% for p in products %}<li>{{ p.name }}</li>{% endfor %}</ul></body></html>\n`,
    "catalog/static/catalog/site.css": "body { color: #222; }\n",
    "catalog/static/catalog/app.js": "console.log('shop');\n",
};

describe("docs/own-app.md: a new startproject app released by the guide alone", function () {
    this.timeout(300_000);
    let home: string;
    let project: string;
    let env: NodeJS.ProcessEnv;
    let rehearsal: Rehearsal | null = null;
    const lines: string[] = [];

    const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(project, rel)), { recursive: true });
        fs.writeFileSync(path.join(project, rel), text);
    };
    const edit = (rel: string, from: string | RegExp, to: string) => {
        const file = path.join(project, rel);
        const text = fs.readFileSync(file, "utf8");
        assert.ok(typeof from === "string" ? text.includes(from) : from.test(text), `${rel} has ${from}`);
        fs.writeFileSync(file, text.replace(from, to));
    };
    /** A guide block with the guide's convention: in the project (once it exists), the virtualenv active, FLEET set. */
    const bash = (code: string): string => {
        const prelude = `cd ~/src/shop 2>/dev/null || cd ~\nif [ -f ~/venvs/shop/bin/activate ]; then . ~/venvs/shop/bin/activate; fi\nexport FLEET=~/src/django-fleet\nset -euo pipefail\n`;
        try {
            return execFileSync("bash", ["-c", prelude + code], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        } catch (e) {
            const err = e as { stdout?: string; stderr?: string; message: string };
            throw new Error(`guide block failed:\n${code}\n--- stdout\n${err.stdout}\n--- stderr\n${err.stderr}`);
        }
    };
    const git = (...args: string[]) => execFileSync("git", ["-C", project, ...args], { env, encoding: "utf8" });
    const makemigrations = () => bash("python manage.py makemigrations catalog");

    before(function () {
        home = fs.mkdtempSync(path.join(os.tmpdir(), "own-app-"));
        fs.chmodSync(home, 0o755); // the rehearsal's inspection (as nobody) must reach its work dir inside
        project = path.join(home, "src", "shop");
        fs.mkdirSync(path.join(home, "src", "django-fleet"), { recursive: true });
        fs.cpSync(path.join(ROOT, "django"), path.join(home, "src", "django-fleet", "django"), {
            recursive: true,
            filter: (src) => !/(__pycache__|\.egg-info|\/build)$/.test(src),
        });
        env = {
            ...process.env,
            HOME: home,
            PATH: `/usr/bin:/bin:${process.env.PATH ?? ""}`, // Debian's python3 and django-admin
            PIP_NO_INDEX: "1", // no PyPI on these machines: Debian's packages and the wheel satisfy everything
            PIP_NO_BUILD_ISOLATION: "0", // (pip's inverted spelling) build with the installed setuptools
            PIP_DISABLE_PIP_VERSION_CHECK: "1",
            PYTHONDONTWRITEBYTECODE: "1",
            GIT_AUTHOR_NAME: "Guide",
            GIT_AUTHOR_EMAIL: "guide@example.com",
            GIT_COMMITTER_NAME: "Guide",
            GIT_COMMITTER_EMAIL: "guide@example.com",
            GIT_CONFIG_NOSYSTEM: "1",
            GIT_CONFIG_GLOBAL: "/dev/null",
        };
        delete env.VIRTUAL_ENV;
        delete env.DJANGO_SETTINGS_MODULE;
    });

    after(async function () {
        this.timeout(60_000);
        if (rehearsal) await rehearsal.cleanup();
        const left = home ? processesMentioning(home) : [];
        if (home) fs.rmSync(home, { recursive: true, force: true });
        assert.deepStrictEqual(left, [], "no process of the run is left");
    });

    function explain(r: RehearsalResult): string {
        return `${verdict(r)}\n${r.release.reason ?? ""}\n${r.traffic.failures.map((f) => `${f.kind} ${f.path} ${f.status || f.error}`).join("\n")}\n${lines.slice(-40).join("\n")}`;
    }

    it("applies the guide's blocks to the project; its check passes; v1, v2 (safe migration, changed CSS) and v3 (breaking) are tagged", function () {
        const blocks = guideBlocks(fs.readFileSync(GUIDE, "utf8"));
        assert.deepStrictEqual(
            blocks.map((b) => `${b.action}${b.target ? ` ${b.target}` : ""}`),
            ["run", "run", "append shop/settings.py", "append shop/urls.py", "file requirements.txt", "run", "file .gitignore", "run", "run", "rehearse"],
            "the guide's steps, in order",
        );
        for (const [i, b] of blocks.entries()) {
            if (b.action === "run") {
                const out = bash(b.code);
                if (/startproject/.test(b.code)) {
                    // The reader's own app, before the guide wires the project up.
                    for (const [rel, text] of Object.entries(CATALOG_V1)) write(rel, text);
                    edit("shop/settings.py", "'django.contrib.staticfiles',\n]", "'django.contrib.staticfiles',\n    'catalog',\n]");
                    fs.appendFileSync(path.join(project, "shop", "urls.py"), "\nfrom catalog.views import index\n\nurlpatterns += [path('', index)]\n");
                    execFileSync("/usr/bin/python3", ["manage.py", "makemigrations", "catalog"], { cwd: project, env, stdio: "pipe" });
                }
                if (/pip install/.test(b.code)) assert.match(out, /^0\.2\.0$/m, "the guide's version check prints the pinned version");
                if (/manage\.py check/.test(b.code)) assert.match(out, /System check identified no issues \(0 silenced\)\./);
            } else if (b.action === "append") {
                fs.appendFileSync(path.join(project, b.target!), `\n${b.code}`);
            } else if (b.action === "file") {
                write(b.target!, b.code);
            } else {
                assert.strictEqual(i, blocks.length - 1, "the rehearsal is the guide's last step");
            }
        }
        assert.match(git("tag", "--list"), /^v1$/m, "the guide tagged v1");
        assert.ok(fs.readdirSync(path.join(project, "wheels")).includes("django_fleet-0.2.0-py3-none-any.whl"));
        assert.match(git("ls-files"), /^wheels\/django_fleet-0\.2\.0-py3-none-any\.whl$/m, "the wheel is committed");

        // v2: a nullable column (safe) and a changed CSS file.
        edit("catalog/models.py", "max_length=100)\n", "max_length=100)\n    description = models.TextField(null=True, blank=True)\n");
        makemigrations();
        write("catalog/static/catalog/site.css", "body { color: #036; }\n");
        git("add", "-A");
        git("commit", "-qm", "v2: description, new colours");
        git("tag", "v2");
        // v3: a renamed column (breaking for v2, which still serves while v3 goes out).
        edit("catalog/models.py", "name = models.CharField", "title = models.CharField");
        edit("catalog/templates/catalog/index.html", "p.name", "p.title");
        const m2 = fs.readdirSync(path.join(project, "catalog", "migrations")).find((f) => f.startsWith("0002_"))!.replace(/\.py$/, "");
        write(
            "catalog/migrations/0003_rename_name_title.py",
            `from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [("catalog", "${m2}")]\n    operations = [migrations.RenameField("product", "name", "title")]\n`,
        );
        git("add", "-A");
        git("commit", "-qm", "v3: name -> title");
        git("tag", "v3");
        // v2-nowsgi: v2 without its WSGI module (an app whose layout differs from the default target).
        git("checkout", "-q", "-b", "nowsgi", "v2");
        git("rm", "-q", "shop/wsgi.py");
        git("commit", "-qm", "v2 without shop/wsgi.py");
        git("tag", "v2-nowsgi");
        git("checkout", "-q", "-");
    });

    it("rehearses v1 -> v2 with the guide's command: 0 failed requests, 0 static 404s, every instance on v2 (X-Release)", async function () {
        const block = guideBlocks(fs.readFileSync(GUIDE, "utf8")).find((b) => b.action === "rehearse")!;
        const { options } = parseArgs(rehearseArgs(block.code, home));
        assert.deepStrictEqual([options.repo, options.from, options.to], [project, "v1", "v2"]);
        const work = path.join(home, "rehearsal");
        rehearsal = new Rehearsal({ ...options, instances: 2, trafficLeadS: 1, visitsPerS: 10, workDir: work, log: (l) => lines.push(l) });
        // The guide's project needs no --settings, --wsgi, --install or --host: read from manage.py, the defaults, the app's ALLOWED_HOSTS.
        await rehearsal.setUp();
        const r = await rehearsal.release(options.to!);
        assert.strictEqual(r.release.outcome, "succeeded", explain(r));
        assert.strictEqual(r.host, "localhost", "the first ALLOWED_HOSTS entry the app reports");
        assert.strictEqual(r.traffic.failed, 0, explain(r));
        assert.strictEqual(r.traffic.static404, 0, explain(r));
        assert.ok(r.traffic.pages > 50 && r.traffic.assets >= r.traffic.pages, `pages ${r.traffic.pages}, assets ${r.traffic.assets}`);
        assert.ok(r.traffic.versions.v1 > 0 && r.traffic.versions.v2 > 0, `both releases answered (X-Release): ${JSON.stringify(r.traffic.versions)}`);
        assert.deepStrictEqual(r.fleet.map((f) => [f.status, f.version]), [[200, "v2"], [200, "v2"]]);
        assert.ok(r.ok, explain(r));
        const css = fs.readdirSync(path.join(work, "static", "catalog")).filter((f) => /^site\.[0-9a-f]{12}\.css$/.test(f));
        assert.strictEqual(css.length, 2, `both releases' hashed CSS in the shared root: ${css}`);
    });

    it("refuses v2 -> v3 at the inspection, naming the breaking operation and its code; nothing applied, 0 failed requests", async function () {
        assert.ok(rehearsal, "the previous test set the fleet up");
        const r = await rehearsal!.release("v3");
        assert.strictEqual(r.release.outcome, "refused", explain(r));
        assert.match(r.release.reason ?? "", /breaking: catalog\.0003_rename_name_title: RenameField \(Rename field name on product to title\) \[RENAME_COLUMN\]/, r.release.reason);
        assert.doesNotMatch(r.release.reason ?? "", /release refused/, "the outcome is not repeated in the reason");
        assert.deepStrictEqual(r.steps, [], "no step of the release ran");
        assert.strictEqual(r.traffic.failed, 0, explain(r));
        assert.deepStrictEqual(r.fleet.map((f) => f.version), ["v2", "v2"]);
    });

    it("refuses a version whose WSGI module is missing at the inspection, with the system check's message and hint", async function () {
        assert.ok(rehearsal, "the previous tests set the fleet up");
        const r = await rehearsal!.release("v2-nowsgi");
        assert.strictEqual(r.release.outcome, "refused", explain(r));
        assert.match(r.release.reason ?? "", /django_fleet\.E005: WSGI_APPLICATION 'shop\.wsgi\.application' cannot be imported: ModuleNotFoundError: No module named 'shop\.wsgi' HINT: gunicorn serves shop\.wsgi:application/, r.release.reason);
        assert.strictEqual((r.release.reason ?? "").split("django_fleet.E005").length, 2, `the cause once: ${r.release.reason}`);
        assert.deepStrictEqual(r.steps, [], "no step of the release ran");
        assert.strictEqual(r.traffic.failed, 0, explain(r));
        assert.deepStrictEqual(r.fleet.map((f) => f.version), ["v2", "v2"]);
    });
});

describe("django-fleet installs with pip from a git repository, at its pinned version", function () {
    this.timeout(120_000);

    it('pip install "git+file://...@tag#subdirectory=django" gives django_fleet 0.2.0 with configure()', function () {
        const work = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-git-pip-"));
        try {
            const repo = path.join(work, "django-fleet");
            fs.cpSync(path.join(ROOT, "django"), path.join(repo, "django"), { recursive: true, filter: (src) => !/(__pycache__|\.egg-info|\/build)$/.test(src) });
            const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null", PIP_NO_INDEX: "1", PIP_NO_BUILD_ISOLATION: "0", PIP_DISABLE_PIP_VERSION_CHECK: "1" };
            const run = (cmd: string, args: string[], cwd = work) => execFileSync(cmd, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
            run("git", ["init", "-q"], repo);
            run("git", ["add", "-A"], repo);
            run("git", ["commit", "-qm", "django-fleet"], repo);
            run("git", ["tag", "v0.2.0"], repo);
            // Debian's pip (the version its ensurepip would put in the venv) serves `venv/bin/python -m pip`
            // when it is installed, as in the rehearsal's release venvs (rehearsal/venv.ts): ensurepip took 3 s of CPU.
            run("/usr/bin/python3", ["-m", "venv", "--system-site-packages", ...(hasSystemPip() ? ["--without-pip"] : []), path.join(work, "venv")]);
            const py = path.join(work, "venv", "bin", "python");
            run(py, ["-m", "pip", "install", "-q", `git+file://${repo}@v0.2.0#subdirectory=django`]);
            assert.match(run(py, ["-m", "pip", "show", "django-fleet"]), /^Version: 0\.2\.0$/m);
            const out = run(py, ["-c", "import django_fleet, django_fleet.checks, django_fleet.release; print(django_fleet.__version__, callable(django_fleet.configure))"]);
            assert.strictEqual(out.trim(), "0.2.0 True");
        } finally {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });
});
