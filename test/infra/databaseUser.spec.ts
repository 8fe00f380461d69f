/**
 * The management instance's database-role step (components/databaseUser.ts), run for real:
 * the rendered script against PostgreSQL 15 with TLS (a throw-away CA standing in for the RDS
 * CA bundle), a master role shaped like RDS's (CREATEROLE, CREATEDB, no superuser), and a fake
 * aws CLI answering the two SSM parameters.
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { APP_DB_USER, DB_USER_SCRIPT, DB_USER_SQL, renderDbUserScript, renderUserData } from "../../components";
import { PostgresService, startPostgres } from "../support/services";

const PSQL = "/usr/lib/postgresql/15/bin/psql";
const MASTER_PASSWORD = "Master-Passw0rd-1";
const PREFIX = "/django-fleet/unit";

function openssl(dir: string, ...args: string[]): void {
    execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

/** A CA and a server certificate for localhost / 127.0.0.1 signed by it. */
function makeCa(dir: string, name: string): void {
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}-ca.key`, "-out", `${name}-ca.pem`, "-days", "1", "-subj", `/CN=${name} test CA`);
}

describe("component: the app's database role (management boot step, real PostgreSQL over verified TLS)", function () {
    this.timeout(60000);
    let pg: PostgresService;
    let dir: string;
    let port: number;

    const url = (user: string, password: string, ca: string, sslmode = "verify-full") =>
        `postgres://${user}:${password}@localhost:${port}/site?sslmode=${sslmode}&sslrootcert=${path.join(dir, ca)}`;

    /** Runs the rendered script with a fake aws CLI answering the two parameters. */
    const runScript = (masterUrl: string, appUrl: string) => {
        fs.writeFileSync(path.join(dir, "bin", "aws"), `#!/bin/bash
while [ $# -gt 0 ]; do [ "$1" = --name ] && name=$2; shift; done
case "$name" in
  ${PREFIX}/management/DATABASE_MASTER_URL) echo '${masterUrl}' ;;
  ${PREFIX}/DATABASE_URL) echo '${appUrl}' ;;
  *) echo "no parameter $name" >&2; exit 254 ;;
esac
`, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, "db-user.py"), renderDbUserScript({ region: "eu-west-1", parameterPrefix: PREFIX }));
        return spawnSync("/usr/bin/python3", [path.join(dir, "db-user.py")], { encoding: "utf8", env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin` } });
    };

    /** psql as a login role over TCP, verify-full against the given CA. */
    const as = (user: string, password: string, sql: string, ca = "good-ca.pem") =>
        spawnSync(PSQL, ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], {
            encoding: "utf8",
            env: { PATH: "/usr/bin:/bin", PGHOST: "localhost", PGPORT: String(port), PGDATABASE: "site", PGUSER: user, PGPASSWORD: password, PGSSLMODE: "verify-full", PGSSLROOTCERT: path.join(dir, ca) },
        });

    before(async () => {
        pg = await startPostgres();
        port = pg.port;
        dir = pg.dir;
        fs.mkdirSync(path.join(dir, "bin"));
        makeCa(dir, "good");
        makeCa(dir, "other");
        openssl(dir, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
        fs.writeFileSync(path.join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
        openssl(dir, "x509", "-req", "-in", "server.csr", "-CA", "good-ca.pem", "-CAkey", "good-ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "san.ext");
        execFileSync("chown", ["postgres:postgres", path.join(dir, "server.key"), path.join(dir, "server.crt")]);
        fs.chmodSync(path.join(dir, "server.key"), 0o600);
        for (const sql of [
            "ALTER SYSTEM SET ssl = on",
            `ALTER SYSTEM SET ssl_cert_file = '${path.join(dir, "server.crt")}'`,
            `ALTER SYSTEM SET ssl_key_file = '${path.join(dir, "server.key")}'`,
            "ALTER SYSTEM SET log_statement = 'all'",
            "SELECT pg_reload_conf()",
            // The RDS master user: CREATEROLE and CREATEDB, not a superuser; it owns the database.
            `CREATE ROLE master LOGIN CREATEROLE CREATEDB PASSWORD '${MASTER_PASSWORD}'`,
            "CREATE DATABASE site OWNER master",
        ]) pg.psql(sql, "postgres");
        // PostgreSQL 15+: schema public belongs to pg_database_owner (here: master, as on RDS) and
        // no longer lets everyone create in it; the script grants the app role CREATE there.
        // An earlier version migrated as the master user.
        const legacy = as("master", MASTER_PASSWORD, "CREATE TABLE legacy (id serial PRIMARY KEY, name text); CREATE VIEW legacy_names AS SELECT name FROM legacy; INSERT INTO legacy (name) VALUES ('before')");
        assert.strictEqual(legacy.status, 0, legacy.stderr);
    });

    after(() => pg?.stop());

    it("creates the app's role with its own password over verified TLS: no superuser, CREATEROLE or CREATEDB; it migrates, and owns what the master user created", () => {
        const r = runScript(url("master", MASTER_PASSWORD, "good-ca.pem"), url(APP_DB_USER, "App-Passw0rd-1", "good-ca.pem"));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`database role ${APP_DB_USER} ready`));
        const who = as(APP_DB_USER, "App-Passw0rd-1", "SELECT rolsuper, rolcreaterole, rolcreatedb, (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) FROM pg_roles WHERE rolname = current_user");
        assert.strictEqual(who.status, 0, who.stderr);
        assert.strictEqual(who.stdout.trim(), "f|f|f|t", "an ordinary role, connected over TLS");
        const work = as(APP_DB_USER, "App-Passw0rd-1", "CREATE TABLE app_new (id serial PRIMARY KEY); INSERT INTO legacy (name) VALUES ('after'); ALTER TABLE legacy ADD COLUMN note text; SELECT count(*) FROM legacy_names");
        assert.strictEqual(work.status, 0, work.stderr);
        assert.strictEqual(work.stdout.trim().split("\n").pop(), "2");
        const owners = pg.psql("SELECT string_agg(relname || '=' || pg_get_userbyid(relowner), ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'S')", "site");
        assert.strictEqual(owners, `app_new=${APP_DB_USER},app_new_id_seq=${APP_DB_USER},legacy=${APP_DB_USER},legacy_id_seq=${APP_DB_USER},legacy_names=${APP_DB_USER}`);
        const superuserOnly = as(APP_DB_USER, "App-Passw0rd-1", "CREATE ROLE intruder");
        assert.notStrictEqual(superuserOnly.status, 0, "the app cannot create roles");
    });

    it("sends the server a SCRAM verifier, never the app's password (statement log)", () => {
        const log = fs.readFileSync(path.join(dir, "server.log"), "utf8");
        assert.ok(log.includes("ALTER ROLE django_app WITH LOGIN PASSWORD 'SCRAM-SHA-256$4096:"), "the statement ran and was logged");
        assert.ok(!log.includes("App-Passw0rd-1"), "the plain password is not in the server's log");
    });

    it("is idempotent and rotates the app's password", () => {
        const r = runScript(url("master", MASTER_PASSWORD, "good-ca.pem"), url(APP_DB_USER, "App-Passw0rd-2", "good-ca.pem"));
        assert.strictEqual(r.status, 0, r.stderr);
        assert.strictEqual(as(APP_DB_USER, "App-Passw0rd-2", "SELECT 1").stdout.trim(), "1");
        assert.notStrictEqual(as(APP_DB_USER, "App-Passw0rd-1", "SELECT 1").status, 0, "the old password no longer works");
    });

    it("refuses a server whose certificate another CA signed, and a URL that does not ask for verify-full", () => {
        const wrongCa = runScript(url("master", MASTER_PASSWORD, "other-ca.pem"), url(APP_DB_USER, "App-Passw0rd-2", "other-ca.pem"));
        assert.notStrictEqual(wrongCa.status, 0);
        assert.match(wrongCa.stderr, /certificate verify failed/);
        const require = runScript(url("master", MASTER_PASSWORD, "good-ca.pem", "require"), url(APP_DB_USER, "App-Passw0rd-2", "good-ca.pem"));
        assert.notStrictEqual(require.status, 0);
        assert.match(require.stderr, /DATABASE_MASTER_URL: sslmode must be verify-full with an sslrootcert/);
        const masterAsApp = runScript(url("master", MASTER_PASSWORD, "good-ca.pem"), url("master", MASTER_PASSWORD, "good-ca.pem"));
        assert.match(masterAsApp.stderr, /DATABASE_URL names the master user/);
    });

    it("is written on every instance and run on the management role only, after the RDS CA bundle is fetched", () => {
        const script = renderUserData({
            region: "eu-west-1", fileSystemId: "fs-0123456789abcdef0", accessPointId: "fsap-0123456789abcdef0", parameterPrefix: PREFIX,
            parameterNames: ["DATABASE_URL"], staticRoot: "/srv/static", staticUrl: "/static/", appPort: 8000, wsgiApplication: "a.wsgi:application", workers: 2,
        });
        assert.ok(script.includes(`cat > ${DB_USER_SCRIPT} <<'DBUSER'\n${renderDbUserScript({ region: "eu-west-1", parameterPrefix: PREFIX })}\nDBUSER\nchmod 0700 ${DB_USER_SCRIPT}\n[ "$ROLE" != management ] || ${DB_USER_SCRIPT}\n`));
        const fetch = script.indexOf("curl -fsSL --retry 5 -o /etc/django-app/rds-ca-bundle.pem.tmp https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem");
        assert.ok(fetch > 0 && fetch < script.indexOf(`[ "$ROLE" != management ] || ${DB_USER_SCRIPT}`));
        assert.ok(script.includes("mv /etc/django-app/rds-ca-bundle.pem.tmp /etc/django-app/rds-ca-bundle.pem"));
        assert.match(script, /awscli nfs-common stunnel4 binutils gettext-base cron postgresql-client sudo nftables\n/);
        assert.ok(DB_USER_SQL.startsWith("\\getenv app_user APP_DB_USER\n\\getenv verifier APP_DB_VERIFIER\n"), "names and verifier reach psql through its environment");
    });
});
