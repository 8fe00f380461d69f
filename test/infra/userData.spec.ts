import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { encodeUserData, USER_DATA_LIMIT } from "../../components";
import { APP_DIR, APP_GID, APP_UID, DEPLOY_USER, ENV_FILE, MOUNT_STATIC_SCRIPT, renderMountStaticScript, renderUserData, sh, SHARED_ENV_LINK, UserDataOptions } from "../../components";

const OPTS: UserDataOptions = {
    region: "eu-west-1",
    fileSystemId: "fs-0123456789abcdef0",
    accessPointId: "fsap-0123456789abcdef0",
    parameterPrefix: "/django-fleet/prod",
    parameterNames: ["DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS"],
    staticRoot: "/srv/static",
    staticUrl: "/static/",
    appPort: 8000,
    wsgiApplication: "mysite.wsgi:application",
    workers: 3,
    djangoSettingsModule: "mysite.settings.production",
};

/** The heredoc body between `cat > <file> <<'TAG'` and TAG. */
function fileIn(script: string, file: string): string {
    const m = new RegExp(`cat > ${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} <<'(\\w+)'\\n([\\s\\S]*?)\\n\\1\\n`).exec(script);
    assert.ok(m, `no heredoc for ${file}`);
    return m[2];
}

describe("component: user data (the boot script)", () => {
    const script = renderUserData(OPTS);

    it("is valid bash (bash -n), strict, and never traces its commands", () => {
        const file = path.join(os.tmpdir(), `user-data-${process.pid}.sh`);
        fs.writeFileSync(file, script);
        try {
            execFileSync("bash", ["-n", file]);
        } finally {
            fs.unlinkSync(file);
        }
        assert.ok(script.startsWith("#!/bin/bash\n"));
        assert.match(script, /^set -euo pipefail$/m);
        assert.ok(!/set -x|set -o xtrace/.test(script), "tracing would log the secrets it loads");
    });

    it("fits EC2's 16 KB user-data limit as the launch template carries it (gzip), with the Celery unit too, with room to spare", () => {
        const packed = Buffer.from(encodeUserData(renderUserData({ ...OPTS, celeryApp: "mysite" })), "base64").length;
        assert.ok(packed < USER_DATA_LIMIT / 2, `${packed} bytes`);
    });

    it("reads its Role tag from instance metadata with an IMDSv2 token", () => {
        assert.match(script, /-X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" http:\/\/169\.254\.169\.254\/latest\/api\/token/);
        assert.match(script, /ROLE=\$\(imds tags\/instance\/Role/);
    });

    it("mounts EFS at STATIC_ROOT through the access point over TLS with IAM, read-write on management and read-only on web, at every boot", () => {
        assert.strictEqual(fileIn(script, MOUNT_STATIC_SCRIPT), renderMountStaticScript(OPTS));
        assert.strictEqual(renderMountStaticScript(OPTS), [
            "#!/bin/bash",
            "set -euo pipefail",
            'role=$(cat "${DJANGO_FLEET_ROLE_FILE:-/etc/django-app/role}" 2>/dev/null || echo web)',
            'if [ "$role" = management ]; then want=rw opts=tls,iam,accesspoint=fsap-0123456789abcdef0,noresvport; else want=ro opts=tls,iam,accesspoint=fsap-0123456789abcdef0,noresvport,ro; fi',
            "if mountpoint -q /srv/static; then",
            '  case ",$(findmnt -n -o OPTIONS --mountpoint /srv/static)," in *,ro,*) have=ro ;; *) have=rw ;; esac',
            '  if [ "$have" = "$want" ]; then exit 0; fi',
            "  umount /srv/static",
            "fi",
            'mount -t efs -o "$opts" fs-0123456789abcdef0:/ /srv/static',
        ].join("\n"));
        const unit = fileIn(script, "/etc/systemd/system/django-fleet-static.service");
        assert.ok(unit.includes(`ExecStart=${MOUNT_STATIC_SCRIPT}`) && unit.includes("After=network-online.target django-fleet-role.service") && unit.includes("Before=django-app.service"));
        assert.ok(script.includes("systemctl enable django-fleet-static.service\n" + MOUNT_STATIC_SCRIPT + "\n"), "enabled for every boot, and run now");
        assert.ok(fileIn(script, "/etc/systemd/system/django-app.service").includes("Requires=django-fleet-env.service django-fleet-static.service"));
        assert.ok(!/>> \/etc\/fstab/.test(script), "not in fstab: the options depend on the role");
        assert.ok(script.includes('sed -i "\\# $STATIC_ROOT efs #d" /etc/fstab'), "an older release AMI's fstab line goes");
        assert.ok(script.includes("EFS_ID=fs-0123456789abcdef0\n"));
        assert.ok(script.includes("STATIC_ROOT=/srv/static\n"));
    });

    it("the mount script mounts with the role's options and replaces a mount of the other role's (fake mount tools)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mount-static-"));
        try {
            fs.mkdirSync(path.join(dir, "bin"));
            fs.writeFileSync(path.join(dir, "mount.sh"), renderMountStaticScript(OPTS));
            const log = path.join(dir, "log");
            const tool = (name: string, body: string) => fs.writeFileSync(path.join(dir, "bin", name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
            tool("mount", `echo "mount $*" >> ${log}`);
            tool("umount", `echo "umount $*" >> ${log}`);
            const run = (role: string | null, mounted: "ro" | "rw" | null) => {
                fs.rmSync(log, { force: true });
                tool("mountpoint", mounted ? "exit 0" : "exit 1");
                tool("findmnt", `echo ${mounted === "ro" ? "ro" : "rw"},relatime,vers=4.1`);
                const roleFile = path.join(dir, "role");
                if (role === null) fs.rmSync(roleFile, { force: true });
                else fs.writeFileSync(roleFile, `${role}\n`);
                execFileSync("bash", [path.join(dir, "mount.sh")], { env: { ...process.env, PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`, DJANGO_FLEET_ROLE_FILE: roleFile } });
                return fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
            };
            const rw = "mount -t efs -o tls,iam,accesspoint=fsap-0123456789abcdef0,noresvport fs-0123456789abcdef0:/ /srv/static";
            const ro = "mount -t efs -o tls,iam,accesspoint=fsap-0123456789abcdef0,noresvport,ro fs-0123456789abcdef0:/ /srv/static";
            assert.deepStrictEqual(run("management", null), [rw]);
            assert.deepStrictEqual(run("web", null), [ro]);
            assert.deepStrictEqual(run(null, null), [ro], "no role file: read-only");
            assert.deepStrictEqual(run("web", "rw"), ["umount /srv/static", ro], "a release AMI's read-write mount is replaced on a web instance");
            assert.deepStrictEqual(run("web", "ro"), []);
            assert.deepStrictEqual(run("management", "rw"), []);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("never chowns or chmods the static root (EFS squashes root; the access point owns it), and gives the app user the access point's fixed ids", () => {
        assert.ok(!/(chown|chmod)[^\n]*STATIC_ROOT/.test(script), "no chown/chmod of $STATIC_ROOT under set -e");
        assert.ok(!/(chown|chmod)[^\n]*\/srv\/static/.test(script));
        assert.strictEqual(APP_GID, APP_UID);
        assert.ok(script.includes(`groupadd --gid ${APP_GID} "$APP_USER"`));
        assert.ok(script.includes(`useradd --uid ${APP_UID} --gid ${APP_GID} `));
    });

    it("refuses an access point id that is not one", () => {
        assert.throws(() => renderUserData({ ...OPTS, accessPointId: "fsap-x; rm -rf /" }), /accessPointId "fsap-x; rm -rf \/" is not an EFS access point id/);
    });

    it("installs amazon-efs-utils from a pinned tag and the SSM agent when the image lacks them", () => {
        assert.match(script, /git clone --quiet --depth 1 --branch v\d+\.\d+\.\d+ https:\/\/github\.com\/aws\/efs-utils/);
        assert.match(script, /https:\/\/s3\.\$REGION\.amazonaws\.com\/amazon-ssm-\$REGION\/latest\/debian_\$arch\/amazon-ssm-agent\.deb/);
        assert.ok(script.includes("if ! command -v mount.efs >/dev/null; then"));
    });

    it("loads every setting from SSM Parameter Store, decrypted, into an env file on tmpfs only root and the app group read", () => {
        const loader = fileIn(script, "/usr/local/sbin/django-fleet-env");
        assert.strictEqual(ENV_FILE, "/run/django-app/env", "tmpfs: never on disk, never in a baked AMI");
        assert.ok(loader.includes("for name in DATABASE_URL SECRET_KEY ALLOWED_HOSTS; do"));
        assert.ok(loader.includes('aws ssm get-parameter --region eu-west-1 --with-decryption --name "/django-fleet/prod/$name" --query Parameter.Value --output text'));
        assert.ok(loader.includes("umask 027"));
        assert.ok(loader.includes("chown root:django \"$tmp\"") && loader.includes("chmod 0640 \"$tmp\""));
        assert.ok(loader.includes(`mv "$tmp" ${ENV_FILE}`));
        assert.ok(script.includes(`ln -sfn ${ENV_FILE} ${SHARED_ENV_LINK}`), "manage.py outside systemd finds it at <app dir>/shared/env");
        const boot = fileIn(script, "/etc/systemd/system/django-fleet-env.service");
        assert.ok(boot.includes("ExecStart=/usr/local/sbin/django-fleet-env") && boot.includes("WantedBy=multi-user.target"), "rewritten at every boot");
    });

    it("the loader writes KEY=VALUE lines, with the database URL also split into DATABASE_* parts", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "env-loader-"));
        try {
            const values: Record<string, string> = {
                DATABASE_URL: "postgres://django_app:Abc-123_x.y%2Bz@db.example.eu-west-1.rds.amazonaws.com:5432/site?sslmode=verify-full&sslrootcert=/etc/django-app/rds-ca-bundle.pem",
                SECRET_KEY: "k".repeat(64),
                ALLOWED_HOSTS: "www.example.com",
            };
            fs.mkdirSync(path.join(dir, "bin"));
            // A fake aws CLI answering get-parameter from the table above.
            fs.writeFileSync(path.join(dir, "bin", "aws"), `#!/bin/bash\nwhile [ $# -gt 0 ]; do [ "$1" = --name ] && name=$2; shift; done\ncase "\${name##*/}" in\n${Object.entries(values).map(([k, v]) => `  ${k}) echo '${v}' ;;`).join("\n")}\n  *) exit 254 ;;\nesac\n`, { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "role"), "management\n");
            const loader = fileIn(script, "/usr/local/sbin/django-fleet-env")
                .replace(/install -d -m 0750 -o root -g django \/run\/django-app\n/, "")
                .replace(/\/run\/django-app/g, dir)
                .replace(/\/etc\/django-app\/role/g, path.join(dir, "role"))
                .replace(/chown root:django/g, "true");
            fs.writeFileSync(path.join(dir, "loader.sh"), loader);
            execFileSync("bash", [path.join(dir, "loader.sh")], { env: { ...process.env, PATH: `${path.join(dir, "bin")}:/usr/bin:/bin` } });
            const env = fs.readFileSync(path.join(dir, "env"), "utf8");
            assert.strictEqual(env, [
                `DATABASE_URL=${values.DATABASE_URL}`,
                `SECRET_KEY=${values.SECRET_KEY}`,
                "ALLOWED_HOSTS=www.example.com",
                "STATIC_ROOT=/srv/static",
                "STATIC_URL=/static/",
                "WSGI_APPLICATION=mysite.wsgi:application",
                "PGSSLMODE=verify-full",
                "PGSSLROOTCERT=/etc/django-app/rds-ca-bundle.pem",
                "DJANGO_SETTINGS_MODULE=mysite.settings.production",
                "FLEET_ROLE=management",
                "DATABASE_HOST=db.example.eu-west-1.rds.amazonaws.com",
                "DATABASE_PORT=5432",
                "DATABASE_NAME=site",
                "DATABASE_USER=django_app",
                "DATABASE_PASSWORD=Abc-123_x.y+z",
                "DATABASE_SSLMODE=verify-full",
                "DATABASE_SSLROOTCERT=/etc/django-app/rds-ca-bundle.pem",
                "",
            ].join("\n"));
            // E005 (django_fleet) checks the very module gunicorn serves.
            const served = / (\S+)$/.exec(fileIn(script, "/etc/systemd/system/django-app.service").split("\n").find((l) => l.startsWith("ExecStart="))!)![1];
            assert.ok(env.includes(`\nWSGI_APPLICATION=${served}\n`), served);
            assert.strictEqual(fs.statSync(path.join(dir, "env")).mode & 0o777, 0o640);
            assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.startsWith("env.")), [], "no temp file left");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("never contains a database URL or password, only parameter names", () => {
        assert.ok(!/postgres:\/\//.test(script));
        // (the git credential helper's output format "password=%s" is filled at fetch time from SSM)
        assert.ok(!/PASSWORD=(?!%s)/i.test(script), "no password assignment");
        assert.ok(!/SECRET_KEY=/.test(script), "no SECRET_KEY assignment");
    });

    it("installs django-app: gunicorn from the current release, HUP on reload, settings re-read at every start", () => {
        const unit = fileIn(script, "/etc/systemd/system/django-app.service");
        assert.ok(unit.includes(`ConditionPathExists=${APP_DIR}/current`));
        assert.ok(unit.includes("Requires=django-fleet-env.service"));
        assert.ok(unit.includes("RequiresMountsFor=/srv/static"));
        assert.ok(unit.includes("User=django"));
        assert.ok(unit.includes("ExecStartPre=+/usr/local/sbin/django-fleet-env"));
        assert.ok(unit.includes(`EnvironmentFile=${ENV_FILE}`));
        assert.ok(unit.includes(`ExecStart=${APP_DIR}/current/venv/bin/gunicorn --chdir ${APP_DIR}/current --bind 0.0.0.0:8000 --workers 3 `));
        assert.ok(unit.trimEnd().includes(" mysite.wsgi:application"));
        assert.ok(unit.includes("ExecReload=/bin/kill -HUP $MAINPID"));
        assert.ok(script.includes('if [ -e "$APP_DIR/current" ]; then systemctl restart django-app.service; fi'));
    });

    it("runs cron only on the management instance", () => {
        const tail = script.slice(script.indexOf('if [ "$ROLE" = management ]; then'));
        assert.match(tail, /^if \[ "\$ROLE" = management \]; then\n  systemctl enable --now cron\nelse\n  systemctl disable --now cron \|\| true\nfi/);
        assert.ok(!script.includes("django-app-beat"), "no celery beat without celeryApp");
    });

    it("runs celery beat only on the management instance when a Celery app is configured", () => {
        const withBeat = renderUserData({ ...OPTS, celeryApp: "mysite" });
        const unit = fileIn(withBeat, "/etc/systemd/system/django-app-beat.service");
        assert.ok(unit.includes("ExecStart=/srv/app/current/venv/bin/celery -A mysite beat"));
        const tail = withBeat.slice(withBeat.indexOf('if [ "$ROLE" = management ]; then'));
        const [management, web] = tail.split("\nelse\n");
        assert.ok(management.includes("systemctl enable django-app-beat.service"));
        assert.ok(web.includes("systemctl disable --now django-app-beat.service"));
        assert.ok(!withBeat.slice(0, withBeat.indexOf('if [ "$ROLE" = management ]; then')).includes("systemctl enable django-app-beat"));
    });

    it("on a web instance booted from a release AMI (baked on the management instance), cron and beat never start", () => {
        const withBeat = renderUserData({ ...OPTS, celeryApp: "mysite" });
        const roleUnit = fileIn(withBeat, "/etc/systemd/system/django-fleet-role.service");
        assert.match(roleUnit, /^Before=django-fleet-env\.service django-fleet-static\.service django-app\.service cron\.service django-app-beat\.service$/m);
        assert.match(roleUnit, /^ExecStart=\/usr\/local\/sbin\/django-fleet-role$/m);
        assert.ok(withBeat.includes("systemctl enable django-fleet-role.service"));
        const condition = "ExecCondition=/bin/grep -qx management /etc/django-app/role";
        assert.ok(fileIn(withBeat, "/etc/systemd/system/cron.service.d/django-fleet-role.conf").includes(condition));
        assert.ok(fileIn(withBeat, "/etc/systemd/system/django-app-beat.service").includes(condition));
        // The role script itself, against a fake instance metadata service.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "role-"));
        try {
            fs.mkdirSync(path.join(dir, "bin"));
            const roleScript = fileIn(withBeat, "/usr/local/sbin/django-fleet-role").replace(/\/etc\/django-app\/role/g, path.join(dir, "role"));
            fs.writeFileSync(path.join(dir, "role.sh"), roleScript);
            const run = (tag: string | null) => {
                // curl stand-in: the token request answers, the tag request answers `tag` or fails like a 404.
                fs.writeFileSync(path.join(dir, "bin", "curl"), `#!/bin/bash\ncase "$*" in *api/token*) echo tok ;; *tags/instance/Role*) ${tag === null ? "exit 22" : `echo ${tag}`} ;; esac\n`, { mode: 0o755 });
                execFileSync("bash", [path.join(dir, "role.sh")], { env: { ...process.env, PATH: `${path.join(dir, "bin")}:/usr/bin:/bin` } });
                return fs.readFileSync(path.join(dir, "role"), "utf8");
            };
            assert.strictEqual(run("management"), "management\n");
            assert.strictEqual(run("web"), "web\n");
            assert.strictEqual(run(null), "web\n", "no readable tag: web, so nothing scheduled runs twice");
            assert.strictEqual(run("something-else"), "web\n");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("creates the release's deploy account: app group, sudo only to reload or restart the app and to act as the inspection account", () => {
        assert.strictEqual(DEPLOY_USER, "deploy");
        assert.ok(script.includes('useradd --create-home --shell /bin/bash --groups "$APP_USER" deploy'));
        const sudoers = fileIn(script, "/etc/sudoers.d/django-fleet");
        assert.strictEqual(
            sudoers,
            "deploy ALL=(root) NOPASSWD: /usr/bin/systemctl reload django-app, /usr/bin/systemctl restart django-app, /usr/bin/systemctl reload django-app.service, /usr/bin/systemctl restart django-app.service\n" +
                "deploy ALL=(root) NOPASSWD: /usr/local/sbin/django-fleet-as-inspect",
        );
        assert.ok(script.includes("visudo -cf /etc/sudoers.d/django-fleet"));
    });

    it("refuses parameter names that are not environment variable names", () => {
        assert.throws(() => renderUserData({ ...OPTS, parameterNames: ["DATABASE_URL; rm -rf /"] }), /is not an environment variable name/);
    });

    it("quotes shell words only when needed", () => {
        assert.strictEqual(sh("eu-west-1"), "eu-west-1");
        assert.strictEqual(sh("/srv/static"), "/srv/static");
        assert.strictEqual(sh("a b"), "'a b'");
        assert.strictEqual(sh("it's"), `'it'"'"'s'`);
    });
});
