/**
 * Issue 10, findings 2 and 3, on the boot script's side (components/userData.ts) and the config:
 * the release's accounts and their grants, the inspection account's fence, the git credential
 * helper (run for real against a fake `aws`), and credentials refused in repositoryUrl.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, parseConfig } from "../../config";
import { renderUserData, sudoers, UserDataOptions } from "../../components/userData";
import { renderInspectWrapper } from "../../components/releaseAccounts";
import { DEPLOY_USER, INSPECT_DIR, INSPECT_ENV_FILE, INSPECT_USER, INSPECT_WRAPPER } from "../../providers/release/remote/accounts";
import { resolveSettings } from "../../providers/release/remote/commands";

const OPTS: UserDataOptions = {
    region: "eu-west-1",
    fileSystemId: "fs-0123456789abcdef0",
    accessPointId: "fsap-0123456789abcdef0",
    parameterPrefix: "/django-fleet/prod",
    parameterNames: ["DATABASE_URL", "SECRET_KEY"],
    staticRoot: "/srv/static",
    staticUrl: "/static/",
    appPort: 8000,
    wsgiApplication: "mysite.wsgi:application",
    workers: 3,
};

function heredoc(script: string, file: string): string {
    const m = new RegExp(`cat > ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} <<'(\\w+)'\\n([\\s\\S]*?)\\n\\1\\n`).exec(script);
    assert.ok(m, `no heredoc for ${file}`);
    return m[2];
}

describe("the release's accounts on the instance (issue 10, findings 2 and 3)", function () {
    const script = renderUserData(OPTS);

    it("the remote phase's defaults are the accounts the boot script creates (one source)", function () {
        const cfg = resolveSettings({ transport: "ssm", repositoryUrl: "https://git.example.com/shop.git" });
        assert.equal(cfg.inspectAs, `sudo -n ${INSPECT_WRAPPER} --`);
        assert.equal(cfg.inspectDir, INSPECT_DIR);
        assert.equal(cfg.inspectEnvFile, INSPECT_ENV_FILE);
        assert.ok(script.includes(`useradd --create-home --shell /bin/bash --groups "$APP_USER" ${DEPLOY_USER}`));
        assert.ok(script.includes(`useradd --system --user-group --home-dir ${INSPECT_DIR} --no-create-home --shell /usr/sbin/nologin ${INSPECT_USER}`));
        assert.ok(script.includes(`install -d -m 0700 -o ${INSPECT_USER} -g ${INSPECT_USER} ${INSPECT_DIR}`));
    });

    it("release directories belong to the deploy account; the app account cannot change them; no repo.git is kept", function () {
        assert.ok(script.includes(`install -d -m 0755 -o deploy -g deploy "$APP_DIR" "$APP_DIR/releases"`));
        assert.ok(script.includes(`chown -R --no-dereference deploy:deploy "$APP_DIR/releases"`));
        assert.ok(!/install -d -m 2775 [^\n]*releases/.test(script), "no group-writable releases/");
        assert.ok(script.includes(`install -d -m 0755 -o root -g root "$APP_DIR/shared"`));
        assert.ok(script.includes(`rm -rf "$APP_DIR/repo.git"`));
        // The script's order: accounts exist before the directories are given to them.
        assert.ok(script.indexOf("useradd --create-home") < script.indexOf(`install -d -m 0755 -o deploy`));
    });

    it("sudo grants exactly the app unit's reload/restart, and acting as the inspection account", function () {
        assert.equal(heredoc(script, "/etc/sudoers.d/django-fleet"), sudoers());
        assert.equal(
            sudoers(),
            [
                "deploy ALL=(root) NOPASSWD: /usr/bin/systemctl reload django-app, /usr/bin/systemctl restart django-app, /usr/bin/systemctl reload django-app.service, /usr/bin/systemctl restart django-app.service",
                "deploy ALL=(root) NOPASSWD: /usr/local/sbin/django-fleet-as-inspect",
            ].join("\n"),
        );
    });

    it("the inspection account cannot reach the instance metadata service (no role credentials, no parameters)", function () {
        const fence = heredoc(script, "/usr/local/sbin/django-fleet-inspect-fence");
        assert.match(fence, /meta skuid fleet-inspect ip daddr 169\.254\.169\.254 reject/);
        assert.match(fence, /meta skuid fleet-inspect ip6 daddr fd00:ec2::254 reject/);
        const unit = heredoc(script, "/etc/systemd/system/django-fleet-inspect.service");
        assert.match(unit, /ExecStart=\/usr\/local\/sbin\/django-fleet-inspect-fence\nExecStart=\/usr\/local\/sbin\/django-fleet-inspect-env/);
        assert.ok(script.includes("systemctl enable django-fleet-inspect.service"));
    });

    it("the fence (run with a fake nft): on the management instance the app account is fenced too, unless managementAppMetadata is allow; web instances fence the inspection account only", function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-fence-"));
        try {
            fs.mkdirSync(path.join(dir, "bin"));
            // The fake nft records its arguments and the rule set it is given on stdin.
            fs.writeFileSync(path.join(dir, "bin", "nft"), `#!/bin/bash\necho "nft $*" >> ${dir}/calls\nif [ "$1" = -f ]; then cat >> ${dir}/calls; fi\n`, { mode: 0o755 });
            const runFence = (userData: string, role: string | null) => {
                fs.writeFileSync(path.join(dir, "fence"), heredoc(userData, "/usr/local/sbin/django-fleet-inspect-fence"));
                fs.rmSync(path.join(dir, "calls"), { force: true });
                const roleFile = path.join(dir, "role");
                if (role === null) fs.rmSync(roleFile, { force: true });
                else fs.writeFileSync(roleFile, `${role}\n`);
                const r = spawnSync("bash", [path.join(dir, "fence")], { encoding: "utf8", env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}`, DJANGO_FLEET_ROLE_FILE: roleFile } });
                assert.equal(r.status, 0, r.stderr);
                return fs.readFileSync(path.join(dir, "calls"), "utf8");
            };
            const appRules = [
                "nft add rule inet django_fleet_inspect output meta skuid django ip daddr 169.254.169.254 reject",
                "nft add rule inet django_fleet_inspect output meta skuid django ip6 daddr fd00:ec2::254 reject",
            ];
            const inspectTable =
                /nft -f -\ntable inet django_fleet_inspect \{\n  chain output \{\n    type filter hook output priority 0; policy accept;\n    meta skuid fleet-inspect ip daddr 169\.254\.169\.254 reject\n    meta skuid fleet-inspect ip6 daddr fd00:ec2::254 reject\n    meta skuid fleet-inspect ip daddr 127\.0\.0\.0\/8 tcp dport \{ 2049, 20049-21049 \} reject\n    meta skuid fleet-inspect ip6 daddr ::1 tcp dport \{ 2049, 20049-21049 \} reject\n  \}\n\}\n/;
            const management = runFence(script, "management");
            assert.match(management, inspectTable);
            assert.ok(management.trimEnd().endsWith(appRules.join("\n")), management);
            for (const role of ["web", null]) {
                const web = runFence(script, role);
                assert.match(web, inspectTable);
                assert.ok(!web.includes("skuid django"), `role ${role}: ${web}`);
            }
            const allowed = runFence(renderUserData({ ...OPTS, managementAppMetadata: "allow" }), "management");
            assert.match(allowed, inspectTable);
            assert.ok(!allowed.includes("skuid django"), allowed);
            // The rules as nftables itself reads them (a check, nothing applied; this machine has
            // neither account, so nobody stands in for both).
            const ruleset = management
                .split("\n")
                .filter((l) => !/^nft (delete|-f -)/.test(l))
                .map((l) => l.replace(/^nft /, "").replace(/skuid (fleet-inspect|django)/, "skuid nobody"))
                .join("\n");
            const check = spawnSync("nft", ["-c", "-f", "-"], { input: ruleset, encoding: "utf8" });
            assert.equal(check.status, 0, `nft -c: ${check.stderr}\n${ruleset}`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        // The role is known, and the rules are in place, before the app, cron or the inspection start.
        const unit = heredoc(script, "/etc/systemd/system/django-fleet-inspect.service");
        assert.match(unit, /After=network-online\.target django-fleet-role\.service\nWants=network-online\.target django-fleet-role\.service\nBefore=django-app\.service cron\.service\n/);
    });

    it("the inspection's env file (run with a fake aws CLI): the read-only URL, its parts and TLS, and the app's layout, so the candidate's checks see what gunicorn serves", function () {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-inspectenv-"));
        try {
            const url = "postgres://fleet_inspect:R0-pass%2Fx@db.internal:5432/django?sslmode=verify-full&sslrootcert=/etc/django-app/rds-ca-bundle.pem";
            fs.mkdirSync(path.join(dir, "bin"));
            fs.writeFileSync(path.join(dir, "bin", "aws"), `#!/bin/bash\necho '${url}'\n`, { mode: 0o755 });
            const envFile = path.join(dir, "env");
            const script = heredoc(renderUserData(OPTS), "/usr/local/sbin/django-fleet-inspect-env")
                .replace(/^install -d .*$/m, "")
                .replace(/^chown .*$/m, "")
                .split(INSPECT_ENV_FILE).join(envFile);
            const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${dir}/bin:/usr/bin:/bin` } });
            assert.equal(r.status, 0, r.stderr);
            assert.equal(fs.readFileSync(envFile, "utf8"), [
                `DATABASE_URL=${url}`,
                "DATABASE_HOST=db.internal",
                "DATABASE_PORT=5432",
                "DATABASE_NAME=django",
                "DATABASE_USER=fleet_inspect",
                "DATABASE_PASSWORD=R0-pass/x",
                "DATABASE_SSLMODE=verify-full",
                "DATABASE_SSLROOTCERT=/etc/django-app/rds-ca-bundle.pem",
                "SECRET_KEY=inspection-only-not-the-app-secret",
                "WSGI_APPLICATION=mysite.wsgi:application",
                "STATIC_ROOT=/srv/static",
                "STATIC_URL=/static/",
                "",
            ].join("\n"));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    describe("git credential helper (run with a fake aws CLI)", function () {
        let dir: string;
        let helper: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-gitcred-"));
            helper = path.join(dir, "helper");
            fs.writeFileSync(helper, heredoc(script, "/usr/local/bin/django-fleet-git-credential"), { mode: 0o755 });
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        const fakeAws = (body: string) => {
            fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
            fs.writeFileSync(path.join(dir, "bin", "aws"), `#!/bin/bash\necho "$@" > ${dir}/aws-args\n${body}\n`, { mode: 0o755 });
        };
        const run = (op: string) => spawnSync(helper, [op], { input: "protocol=https\nhost=github.com\npath=acme/shop.git\n\n", encoding: "utf8", env: { ...process.env, PATH: `${dir}/bin:${process.env.PATH}` } });

        it("answers get with the SSM SecureString, stores and erases nothing", function () {
            fakeAws(`echo tok-0123456789`);
            const got = run("get");
            assert.equal(got.status, 0);
            assert.equal(got.stdout, "username=x-access-token\npassword=tok-0123456789\n");
            assert.equal(fs.readFileSync(path.join(dir, "aws-args"), "utf8"), "ssm get-parameter --region eu-west-1 --with-decryption --name /django-fleet/prod/REPOSITORY_TOKEN --query Parameter.Value --output text\n");
            for (const op of ["store", "erase"]) assert.deepEqual([run(op).status, run(op).stdout], [0, ""]);
            assert.ok(!script.includes("tok-0123456789"));
        });

        it("without the parameter it answers nothing (git then fails or asks elsewhere)", function () {
            fakeAws(`echo "ParameterNotFound" >&2; exit 254`);
            const got = run("get");
            assert.deepEqual([got.status, got.stdout], [0, ""]);
        });

        it("is the deploy account's helper", function () {
            assert.ok(script.includes("runuser -u deploy -- git config --global credential.helper /usr/local/bin/django-fleet-git-credential"));
        });
    });

    describe("the inspection wrapper (the candidate's code cannot change the static root, which the EFS access point lets every local account write)", function () {
        // Run for real, as root, for the account nobody and a static root every account may write
        // (as every account may through the access point).
        let dir: string;
        let staticRoot: string;
        let wrapper: string;
        before(function () {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "as-inspect-"));
            fs.chmodSync(dir, 0o755);
            staticRoot = path.join(dir, "static");
            fs.mkdirSync(staticRoot);
            fs.chmodSync(staticRoot, 0o777);
            fs.writeFileSync(path.join(staticRoot, "app.0123456789ab.js"), "served();\n");
            wrapper = path.join(dir, "as-inspect");
            fs.writeFileSync(wrapper, renderInspectWrapper({ user: "nobody", staticRoot }), { mode: 0o755 });
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));
        const asInspect = (...args: string[]) => spawnSync("bash", [wrapper, "--", ...args], { encoding: "utf8" });

        it("is the boot script's, for the inspection account and the static root, owned by root; sudo runs exactly it", function () {
            assert.equal(heredoc(script, INSPECT_WRAPPER), renderInspectWrapper({ user: INSPECT_USER, staticRoot: OPTS.staticRoot }));
            assert.ok(script.includes(`chown root:root ${INSPECT_WRAPPER}\nchmod 0755 ${INSPECT_WRAPPER}`));
            assert.throws(() => renderInspectWrapper({ user: "x; rm -rf /", staticRoot: "/srv/static" }), /user "x; rm -rf \/" is not an account name/);
            assert.throws(() => renderInspectWrapper({ user: "fleet-inspect", staticRoot: "/srv/$(id)" }), /staticRoot "\/srv\/\$\(id\)" is not a plain absolute path/);
        });

        it("control: without it, the account writes the static root", function () {
            const r = spawnSync("setpriv", ["--reuid=nobody", "--regid=65534", "--clear-groups", "--", "touch", path.join(staticRoot, "control")], { encoding: "utf8" });
            assert.equal(r.status, 0, r.stderr);
            fs.unlinkSync(path.join(staticRoot, "control"));
        });

        it("runs the command as the account, without capabilities or new privileges, in a reset environment", function () {
            const r = asInspect("bash", "-c", 'id -un; grep -E "^(CapEff|CapBnd|NoNewPrivs):" /proc/self/status; echo "HOME=$HOME"');
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.stdout.trim().split("\n"), ["nobody", "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "NoNewPrivs:\t1", "HOME=/nonexistent"]);
        });

        it("the static root is an empty read-only directory for it; the served files and the machine's mounts are untouched", function () {
            const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
            const r = asInspect("bash", "-c", `ls -A ${staticRoot}; touch ${staticRoot}/PWNED; echo "touch: $?"; rm -f ${staticRoot}/app.0123456789ab.js; echo "rm: $?"`);
            assert.equal(r.stdout, "touch: 1\nrm: 0\n", r.stderr);
            assert.match(r.stderr, /Read-only file system/);
            assert.deepEqual(fs.readdirSync(staticRoot), ["app.0123456789ab.js"]);
            assert.equal(fs.readFileSync("/proc/self/mountinfo", "utf8"), mounts, "the tmpfs lives in the command's own mount namespace only");
        });

        it("starts the command in /, so a relative path from inside the static root does not reach it", function () {
            const r = spawnSync("bash", [wrapper, "--", "touch", "./from-inside"], { cwd: staticRoot, encoding: "utf8" });
            assert.notEqual(r.status, 0);
            assert.deepEqual(fs.readdirSync(staticRoot), ["app.0123456789ab.js"]);
            assert.ok(!fs.existsSync("/from-inside"));
        });

        it("refuses to run when the static root is not a directory (nothing could be hidden)", function () {
            const missing = path.join(dir, "missing-wrapper");
            fs.writeFileSync(missing, renderInspectWrapper({ user: "nobody", staticRoot: path.join(dir, "no-such-root") }), { mode: 0o755 });
            const open = path.join(dir, "open");
            fs.mkdirSync(open, { mode: 0o777 });
            fs.chmodSync(open, 0o777);
            const marker = path.join(open, "ran"); // the account could write it, had the command run
            const r = spawnSync("bash", [missing, "--", "touch", marker], { encoding: "utf8" });
            assert.equal(r.status, 1);
            assert.match(r.stderr, /no-such-root is not a directory: refusing to run without hiding it/);
            assert.ok(!fs.existsSync(marker));
        });

        it("root interprets none of the arguments, and a call without a command is refused", function () {
            const marker = path.join(dir, "PWNED-as-root");
            const r = asInspect("echo", `$(touch ${marker})`, "`touch " + marker + "`");
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stdout, `$(touch ${marker}) \`touch ${marker}\`\n`);
            assert.ok(!fs.existsSync(marker));
            const none = spawnSync("bash", [wrapper], { encoding: "utf8" });
            assert.equal(none.status, 2);
            assert.match(none.stderr, /usage: .* \[--\] command \[args\.\.\.\]/);
        });
    });

    it("config: a credential in repositoryUrl is refused, naming the setting and where the token goes, without echoing it", function () {
        const token = "ghp_abcdefSECRET0123456789";
        let error: unknown;
        try {
            parseConfig({ "django-fleet:repositoryUrl": `https://bot:${token}@github.com/acme/shop.git` }, "test");
        } catch (e) {
            error = e;
        }
        assert.ok(error instanceof ConfigError, String(error));
        const problem = error.problems.find((p) => p.startsWith("repositoryUrl "));
        assert.ok(problem, error.message);
        assert.match(problem, /^repositoryUrl \(https:\/\/\*\*\*@github\.com\/acme\/shop\.git\) carries a credential: remove it from the URL/);
        assert.match(problem, /SecureString <parameter prefix>\/REPOSITORY_TOKEN/);
        assert.ok(!error.message.includes(token), error.message);
    });
});
