/**
 * The app's own database role, and TLS that verifies the database's certificate.
 *
 * The app never connects as the RDS master user. The master credentials live in a
 * management-only SecureString (`<prefix>/management/DATABASE_MASTER_URL`, denied to the web
 * role); the app's URL (`<prefix>/DATABASE_URL`) names APP_DB_USER with its own generated
 * password. At boot, the management instance runs DB_USER_SCRIPT, which reads both parameters
 * and, connected as the master user (TLS verify-full against the RDS CA bundle), creates or
 * updates the app's role: LOGIN with the password from DATABASE_URL (sent as a SCRAM verifier
 * computed on the instance, so the plain password never reaches the server or its logs), no
 * superuser, CREATEROLE or CREATEDB; CONNECT and TEMPORARY on the database; USAGE and CREATE on
 * schema public (it runs the migrations, so it owns the tables it creates); and it takes over
 * the tables, views and sequences an earlier version created in public as the master user.
 * Idempotent: a rotated app password only needs the script run again.
 *
 * Pure (no Pulumi import, config.ts reads APP_DB_USER): the renderers return text, tested as exact strings and run against a real PostgreSQL.
 */

/** The app's database role (never the master user). */
export const APP_DB_USER = "django_app";
/** The RDS CA bundle (all regions), fetched by the boot script; sslrootcert of every connection. */
export const RDS_CA_BUNDLE = "/etc/django-app/rds-ca-bundle.pem";
export const RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";
/**
 * Parameters under `<prefix>/management/` (the database master URL, ...) are for the
 * management instance only: InstanceRole denies the web role them.
 */
export const MANAGEMENT_PARAMETER_PATH = "management";
/** Under `<prefix>/`, in the management-only path the web role is denied. */
export const MASTER_URL_PARAMETER = `${MANAGEMENT_PARAMETER_PATH}/DATABASE_MASTER_URL`;
export const DB_USER_SCRIPT = "/usr/local/sbin/django-fleet-db-user";

/** Run by psql as the master user; :'app_user' and :'verifier' come from the environment. */
export const DB_USER_SQL = String.raw`\getenv app_user APP_DB_USER
\getenv verifier APP_DB_VERIFIER
SELECT format('CREATE ROLE %I LOGIN', :'app_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'app_user', :'verifier') \gexec
SELECT format('GRANT %I TO %I', :'app_user', current_user) WHERE NOT pg_has_role(current_user, :'app_user', 'MEMBER') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), :'app_user') \gexec
SELECT format('GRANT USAGE, CREATE ON SCHEMA public TO %I', :'app_user') \gexec
SELECT format('ALTER %s public.%I OWNER TO %I', CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, c.relname, :'app_user')
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace
   AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
   AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND NOT (c.relkind = 'S' AND EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))) \gexec`;

export interface DbUserScriptOptions {
    readonly region: string;
    /** SSM prefix, e.g. /django-fleet/prod. */
    readonly parameterPrefix: string;
}

/**
 * The management instance's boot step (Python 3, run as root): both URLs from SSM, the master
 * one only ever in psql's environment, verify-full required.
 */
export function renderDbUserScript(o: DbUserScriptOptions): string {
    if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(o.region)) throw new Error(`renderDbUserScript: region "${o.region}" is not an AWS region`);
    if (!/^\/[A-Za-z0-9_.\/-]+$/.test(o.parameterPrefix)) throw new Error(`renderDbUserScript: parameterPrefix "${o.parameterPrefix}" is not an SSM path`);
    return `#!/usr/bin/python3
"""Creates or updates the app's database role ${APP_DB_USER} as the master user (see components/databaseUser.ts)."""
import base64, hashlib, hmac, os, subprocess, sys
from urllib.parse import parse_qs, unquote, urlsplit

SQL = r"""
${DB_USER_SQL}
"""


def parameter(name):
    command = ["aws", "ssm", "get-parameter", "--region", "${o.region}", "--with-decryption", "--name", name, "--query", "Parameter.Value", "--output", "text"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def libpq_env(url, what):
    u = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(u.query).items()}
    if query.get("sslmode") != "verify-full" or not query.get("sslrootcert"):
        sys.exit("%s: sslmode must be verify-full with an sslrootcert (the database's certificate is verified)" % what)
    return {"PGHOST": u.hostname or "", "PGPORT": str(u.port or 5432), "PGDATABASE": unquote(u.path.lstrip("/")),
            "PGUSER": unquote(u.username or ""), "PGPASSWORD": unquote(u.password or ""),
            "PGSSLMODE": "verify-full", "PGSSLROOTCERT": query["sslrootcert"], "PGCONNECT_TIMEOUT": "10"}


def scram_verifier(password, iterations=4096):
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = lambda raw: base64.b64encode(raw).decode()
    return "SCRAM-SHA-256$%d:%s$%s:%s" % (iterations, b64(salt), b64(stored), b64(server))


master = libpq_env(parameter("${o.parameterPrefix}/${MASTER_URL_PARAMETER}"), "DATABASE_MASTER_URL")
app = libpq_env(parameter("${o.parameterPrefix}/DATABASE_URL"), "DATABASE_URL")
if app["PGUSER"] == master["PGUSER"]:
    sys.exit("DATABASE_URL names the master user: the app must have its own role")
env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **master, "APP_DB_USER": app["PGUSER"], "APP_DB_VERIFIER": scram_verifier(app["PGPASSWORD"])}
subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"], input=SQL, env=env, check=True, text=True)
print("django-fleet: database role %s ready" % app["PGUSER"])
`;
}
