/**
 * The boot script every instance runs once (cloud-init user data), web and management alike.
 * Pure: renderUserData() builds the text from plain values, so tests assert on it directly.
 *
 * What it does, in order:
 *  1. reads the instance's Role tag from instance metadata (IMDSv2 token, tags enabled in the
 *     launch template): "web" (the auto-scaling group) or "management";
 *  2. installs what a bare Debian 12 image lacks (skipped on a release AMI, which has it all):
 *     git, python3-venv, awscli, stunnel, amazon-efs-utils (built from a pinned tag), the SSM agent;
 *  3. mounts the EFS file system at STATIC_ROOT over TLS, with IAM authorisation, through the
 *     stack's access point (which acts as the app's uid/gid on every request and roots the
 *     mount in a directory it created owned by them): read-write on the management instance,
 *     read-only on web instances. A unit (django-fleet-static) mounts it at every boot with
 *     the options of the instance's role, so a web instance booted from a release AMI baked
 *     on the management instance never inherits its read-write mount;
 *  4. installs /usr/local/sbin/django-fleet-env, which reads the app's settings (DATABASE_URL,
 *     SECRET_KEY, ...) from SSM Parameter Store (SecureString, decrypted with the instance role)
 *     into ENV_FILE (0640 root:django) and adds DATABASE_HOST/PORT/NAME/USER/PASSWORD parsed
 *     from DATABASE_URL (for settings without a URL parser). ENV_FILE is on tmpfs (/run), so
 *     no secret is ever on disk, nor in an AMI baked from the instance; it is rewritten at every
 *     boot (django-fleet-env.service) and before every start of the app, so a rotated secret
 *     needs only a restart. SHARED_ENV_LINK points at it for commands run outside systemd
 *     (manage.py in the release's remote phase). No secret is ever written into this script;
 *  5. installs the systemd unit `django-app` (gunicorn; `systemctl reload` = HUP, a graceful
 *     restart) and starts it when a release is present in APP_DIR/current;
 *  6. management role: cron and celery beat run; web role: both are disabled;
 *  8. database TLS: fetches the RDS CA bundle (RDS_CA_BUNDLE) that DATABASE_URL's
 *     sslmode=verify-full&sslrootcert names (also exported as PGSSLMODE/PGSSLROOTCERT and
 *     DATABASE_SSLMODE/DATABASE_SSLROOTCERT for settings that build the connection from parts);
 *     on the management instance, creates or updates the app's own database role
 *     (DB_USER_SCRIPT, see databaseUser.ts) with the master URL only it may read;
 *  7. the release's accounts (providers/release/remote/accounts.ts): `deploy` runs the remote
 *     phase (SSH logs in as it, SSM drops to it), owns APP_DIR and releases/ (the app account can
 *     read them, not change them), reads the app's settings (app group) and may only
 *     `sudo systemctl reload|restart django-app` and run commands as `fleet-inspect`, which runs
 *     a candidate version's code during `pulumi preview`: it writes only its workspace, cannot
 *     reach the instance metadata service (no role credentials, no parameters) and reads the
 *     database with a read-only role (INSPECT_DATABASE_URL, optional); git fetches with a
 *     credential helper that reads REPOSITORY_TOKEN from SSM at fetch time (never on disk).
 */
import { DEPLOY_USER, INSPECT_DIR, INSPECT_USER } from "../providers/release/remote/accounts";
import { INSPECT_DATABASE_PARAMETER, releaseAccountsScript, REPOSITORY_TOKEN_PARAMETER, sudoers } from "./releaseAccounts";

import { DB_USER_SCRIPT, RDS_CA_BUNDLE, RDS_CA_BUNDLE_URL, renderDbUserScript } from "./databaseUser";
import { MOUNT_STATIC_SCRIPT, renderMountStaticScript, ROLE_FILE } from "./staticMount";

export const APP_DIR = "/srv/app";
/** On tmpfs: regenerated at boot, never baked into an AMI. */
export const ENV_FILE = "/run/django-app/env";
/** Where the app's settings look for KEY=VALUE lines when not started by systemd. */
export const SHARED_ENV_LINK = `${APP_DIR}/shared/env`;
export const APP_USER = "django";
/** The remote phase's account (release:sshUser's default; SSM drops to it): in the app group, may reload the app. */
export { DEPLOY_USER, INSPECT_USER };
export { INSPECT_DATABASE_PARAMETER, REPOSITORY_TOKEN_PARAMETER, sudoers };
/**
 * The app user's uid, and its group's gid (the same number): fixed, so every instance sharing
 * the EFS file system agrees, and the EFS access point acts as exactly this user. The one
 * source of both: the boot script's useradd/groupadd and StaticFiles' access point read it.
 */
export const APP_UID = 2000;
export const APP_GID = APP_UID;

/** amazon-efs-utils is not packaged for Debian; the last release buildable without Rust. */
export const EFS_UTILS_REF = "v1.36.0";

export interface UserDataOptions {
    readonly region: string;
    readonly fileSystemId: string;
    /** The EFS access point every instance mounts through (StaticFiles). */
    readonly accessPointId: string;
    /** SSM prefix, e.g. /django-fleet/prod. */
    readonly parameterPrefix: string;
    /** Parameter names under the prefix loaded into the env file (DATABASE_URL, SECRET_KEY, ...). */
    readonly parameterNames: readonly string[];
    readonly staticRoot: string;
    readonly staticUrl: string;
    readonly appPort: number;
    readonly wsgiApplication: string;
    readonly workers: number;
    readonly djangoSettingsModule?: string;
    readonly celeryApp?: string;
    /** The app account's access to the instance metadata service on the management instance. @default "block" */
    readonly managementAppMetadata?: "block" | "allow";
}

const shellWord = /^[A-Za-z0-9_./:@%+=,-]+$/;

/** Quotes a value for bash unless it is a plain word (values here are validated settings). */
export function sh(value: string | number): string {
    const s = String(value);
    return shellWord.test(s) ? s : `'${s.replace(/'/g, `'"'"'`)}'`;
}

export function renderUserData(o: UserDataOptions): string {
    if (!/^fsap-[0-9a-f]{8,40}$/.test(o.accessPointId)) throw new Error(`renderUserData: accessPointId "${o.accessPointId}" is not an EFS access point id (fsap-...)`);
    for (const name of o.parameterNames) {
        if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`renderUserData: parameter name "${name}" is not an environment variable name`);
    }
    const plainEnv: [string, string][] = [
        ["STATIC_ROOT", o.staticRoot],
        ["STATIC_URL", o.staticUrl],
        // The module gunicorn serves: django_fleet's E005 check imports this one.
        ["WSGI_APPLICATION", o.wsgiApplication],
        // libpq's own defaults: a connection built without DATABASE_URL's options still verifies.
        ["PGSSLMODE", "verify-full"],
        ["PGSSLROOTCERT", RDS_CA_BUNDLE],
        ...(o.djangoSettingsModule ? [["DJANGO_SETTINGS_MODULE", o.djangoSettingsModule] as [string, string]] : []),
    ];
    const beat = o.celeryApp
        ? `
cat > /etc/systemd/system/django-app-beat.service <<'UNIT'
[Unit]
Description=Celery beat (management instance only)
After=network-online.target django-app.service
Wants=network-online.target
ConditionPathExists=${APP_DIR}/current/venv/bin/celery
Wants=django-fleet-role.service
After=django-fleet-role.service

[Service]
User=${APP_USER}
Group=${APP_USER}
WorkingDirectory=${APP_DIR}/current
EnvironmentFile=${ENV_FILE}
# A release AMI is baked from the management instance with this unit enabled: web instances
# booted from it must not start it before their boot script runs.
ExecCondition=/bin/grep -qx management ${ROLE_FILE}
ExecStart=${APP_DIR}/current/venv/bin/celery -A ${o.celeryApp} beat --schedule /var/lib/django-app/celerybeat-schedule --loglevel INFO
Restart=on-failure
RestartSec=5

[Install]
WantedBy=multi-user.target
UNIT
install -d -m 0750 -o ${APP_USER} -g ${APP_USER} /var/lib/django-app`
        : "";

    return `#!/bin/bash
# django-fleet boot script: runs once per instance (cloud-init), as root. Never put secrets here:
# they come from SSM Parameter Store at run time.
set -euo pipefail
exec > >(tee -a /var/log/django-fleet-boot.log | logger -t django-fleet-boot) 2>&1

REGION=${sh(o.region)}
EFS_ID=${sh(o.fileSystemId)}
STATIC_ROOT=${sh(o.staticRoot)}
APP_DIR=${APP_DIR}
APP_USER=${APP_USER}

imds() {
  local token
  token=$(curl -sS -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 300" http://169.254.169.254/latest/api/token)
  curl -sS -f -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}
# Role tag: "management" on the management instance, "web" on the auto-scaling group's.
ROLE=$(imds tags/instance/Role 2>/dev/null || echo web)
case "$ROLE" in management|web) ;; *) echo "unknown Role tag '$ROLE', acting as web"; ROLE=web ;; esac
echo "django-fleet boot: role $ROLE"

# The role again at every boot, before anything role-dependent starts: a release AMI is baked
# from the management instance, so its enabled cron (and celery beat) would otherwise start on a
# new web instance before this script gets to disable them.
install -d -m 0755 /etc/django-app
cat > /usr/local/sbin/django-fleet-role <<'ROLESCRIPT'
#!/bin/bash
# Writes this instance's Role tag (management or web; web when unreadable) to ${ROLE_FILE}.
set -uo pipefail
token=$(curl -sS -m 5 -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" http://169.254.169.254/latest/api/token) || token=""
role=$(curl -sS -f -m 5 -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/tags/instance/Role 2>/dev/null) || role=web
[ "$role" = management ] || role=web
echo "$role" > ${ROLE_FILE}.tmp && mv ${ROLE_FILE}.tmp ${ROLE_FILE}
ROLESCRIPT
chmod 0755 /usr/local/sbin/django-fleet-role
cat > /etc/systemd/system/django-fleet-role.service <<'UNIT'
[Unit]
Description=This instance's role (Role tag) for the Django units
After=network-online.target
Wants=network-online.target
Before=django-fleet-env.service django-fleet-static.service django-app.service cron.service${o.celeryApp ? " django-app-beat.service" : ""}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/django-fleet-role

[Install]
WantedBy=multi-user.target
UNIT
install -d -m 0755 /etc/systemd/system/cron.service.d
cat > /etc/systemd/system/cron.service.d/django-fleet-role.conf <<'UNIT'
[Unit]
Wants=django-fleet-role.service
After=django-fleet-role.service

[Service]
ExecCondition=/bin/grep -qx management ${ROLE_FILE}
UNIT
systemctl daemon-reload
systemctl enable django-fleet-role.service
echo "$ROLE" > ${ROLE_FILE}

# --- packages (a release AMI already has them) ------------------------------------------
export DEBIAN_FRONTEND=noninteractive
if ! command -v aws >/dev/null || ! command -v stunnel >/dev/null || ! command -v git >/dev/null || ! command -v psql >/dev/null; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends ca-certificates curl git python3 python3-venv python3-pip \\
    awscli nfs-common stunnel4 binutils gettext-base cron postgresql-client sudo nftables
fi
if ! command -v mount.efs >/dev/null; then
  build=$(mktemp -d)
  git clone --quiet --depth 1 --branch ${EFS_UTILS_REF} https://github.com/aws/efs-utils "$build/efs-utils"
  (cd "$build/efs-utils" && ./build-deb.sh >/dev/null)
  apt-get install -y -q "$build"/efs-utils/build/amazon-efs-utils*.deb
  rm -rf "$build"
fi
if ! systemctl cat amazon-ssm-agent.service >/dev/null 2>&1; then
  arch=$(dpkg --print-architecture)
  curl -fsSL -o /tmp/amazon-ssm-agent.deb "https://s3.$REGION.amazonaws.com/amazon-ssm-$REGION/latest/debian_$arch/amazon-ssm-agent.deb"
  dpkg -i /tmp/amazon-ssm-agent.deb
  rm -f /tmp/amazon-ssm-agent.deb
fi
systemctl enable --now amazon-ssm-agent

# --- app user, release accounts and directories ----------------------------------------
getent group "$APP_USER" >/dev/null || groupadd --gid ${APP_GID} "$APP_USER"
id -u "$APP_USER" >/dev/null 2>&1 || useradd --uid ${APP_UID} --gid ${APP_GID} --home-dir "$APP_DIR" --no-create-home --shell /usr/sbin/nologin "$APP_USER"
id -u ${DEPLOY_USER} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --groups "$APP_USER" ${DEPLOY_USER}
id -u ${INSPECT_USER} >/dev/null 2>&1 || useradd --system --user-group --home-dir ${INSPECT_DIR} --no-create-home --shell /usr/sbin/nologin ${INSPECT_USER}
install -d -m 0700 -o ${INSPECT_USER} -g ${INSPECT_USER} ${INSPECT_DIR}
# The release (deploy) owns the release directories; the app account only reads them.
install -d -m 0755 -o ${DEPLOY_USER} -g ${DEPLOY_USER} "$APP_DIR" "$APP_DIR/releases"
chown -R --no-dereference ${DEPLOY_USER}:${DEPLOY_USER} "$APP_DIR/releases"
if [ -L "$APP_DIR/current" ]; then chown --no-dereference ${DEPLOY_USER}:${DEPLOY_USER} "$APP_DIR/current"; fi
rm -rf "$APP_DIR/repo.git"

# --- shared static root: EFS over TLS, through the access point -------------------------
# The access point makes every request act as ${APP_USER} (${APP_UID}:${APP_GID}) in a root directory
# it created owned by them: nothing here chowns the file system (root is squashed on EFS).
# Web instances mount it read-only (and the file-system policy lets only the management
# role write). Not in fstab: the role decides the options, at every boot.
install -d -m 0755 "$STATIC_ROOT"
sed -i "\\# $STATIC_ROOT efs #d" /etc/fstab
cat > ${MOUNT_STATIC_SCRIPT} <<'MOUNTSCRIPT'
${renderMountStaticScript(o)}
MOUNTSCRIPT
chmod 0755 ${MOUNT_STATIC_SCRIPT}
cat > /etc/systemd/system/django-fleet-static.service <<'UNIT'
[Unit]
Description=The shared static root (EFS) with this instance's role's options
After=network-online.target django-fleet-role.service
Wants=network-online.target django-fleet-role.service
Before=django-app.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${MOUNT_STATIC_SCRIPT}

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable django-fleet-static.service
${MOUNT_STATIC_SCRIPT}

# --- database TLS: the RDS CA bundle DATABASE_URL's sslrootcert names ---------------------
install -d -m 0755 /etc/django-app
curl -fsSL --retry 5 -o ${RDS_CA_BUNDLE}.tmp ${RDS_CA_BUNDLE_URL}
grep -q "BEGIN CERTIFICATE" ${RDS_CA_BUNDLE}.tmp
chmod 0644 ${RDS_CA_BUNDLE}.tmp && mv ${RDS_CA_BUNDLE}.tmp ${RDS_CA_BUNDLE}

# --- settings from SSM Parameter Store --------------------------------------------------
install -d -m 0755 /etc/django-app
install -d -m 0755 -o root -g root "$APP_DIR/shared"
cat > /usr/local/sbin/django-fleet-env <<'LOADER'
#!/bin/bash
# Writes ${ENV_FILE} (tmpfs) from SSM Parameter Store (SecureString values decrypted with
# the instance role, which may read only ${o.parameterPrefix}/*). Run at boot and before
# every start of django-app.
set -euo pipefail
umask 027
install -d -m 0750 -o root -g ${APP_USER} ${ENV_FILE.replace(/\/[^/]+$/, "")}
tmp=$(mktemp ${ENV_FILE}.XXXXXX)
trap 'rm -f "$tmp"' EXIT
for name in ${o.parameterNames.join(" ")}; do
  value=$(aws ssm get-parameter --region ${sh(o.region)} --with-decryption --name "${o.parameterPrefix}/$name" --query Parameter.Value --output text)
  printf '%s=%s\\n' "$name" "$value" >> "$tmp"
done
cat >> "$tmp" <<'PLAIN'
${plainEnv.map(([k, v]) => `${k}=${v}`).join("\n")}
PLAIN
printf 'FLEET_ROLE=%s\\n' "$(cat ${ROLE_FILE})" >> "$tmp"
if grep -q '^DATABASE_URL=' "$tmp"; then
  python3 - "$tmp" <<'PY'
import sys
from urllib.parse import parse_qs, unquote, urlsplit
path = sys.argv[1]
url = next(line.split("=", 1)[1].strip() for line in open(path) if line.startswith("DATABASE_URL="))
u = urlsplit(url)
query = {k: v[-1] for k, v in parse_qs(u.query).items()}
parts = {"DATABASE_HOST": u.hostname or "", "DATABASE_PORT": str(u.port or 5432), "DATABASE_NAME": unquote(u.path.lstrip("/")),
         "DATABASE_USER": unquote(u.username or ""), "DATABASE_PASSWORD": unquote(u.password or ""),
         "DATABASE_SSLMODE": query.get("sslmode", ""), "DATABASE_SSLROOTCERT": query.get("sslrootcert", "")}
with open(path, "a") as out:
    out.writelines(f"{k}={v}\\n" for k, v in parts.items())
PY
fi
chown root:${APP_USER} "$tmp"
chmod 0640 "$tmp"
mv "$tmp" ${ENV_FILE}
trap - EXIT
LOADER
chmod 0750 /usr/local/sbin/django-fleet-env
echo "$ROLE" > ${ROLE_FILE}
ln -sfn ${ENV_FILE} ${SHARED_ENV_LINK}
cat > /etc/systemd/system/django-fleet-env.service <<'UNIT'
[Unit]
Description=Django settings from SSM Parameter Store into ${ENV_FILE}
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/django-fleet-env

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable django-fleet-env.service
/usr/local/sbin/django-fleet-env

# --- the app's own database role (management instance; the master URL is readable only there)
cat > ${DB_USER_SCRIPT} <<'DBUSER'
${renderDbUserScript({ region: o.region, parameterPrefix: o.parameterPrefix })}
DBUSER
chmod 0700 ${DB_USER_SCRIPT}
[ "$ROLE" != management ] || ${DB_USER_SCRIPT}

# --- the release's accounts: sudo, metadata fence, inspection settings, git credentials -----
# (before the app and cron start: the fence covers the app account on the management instance)
cat > /etc/sudoers.d/django-fleet <<'SUDO'
${sudoers()}
SUDO
chmod 0440 /etc/sudoers.d/django-fleet
visudo -cf /etc/sudoers.d/django-fleet
${releaseAccountsScript(o)}

# --- the app server ---------------------------------------------------------------------
cat > /etc/systemd/system/django-app.service <<'UNIT'
[Unit]
Description=Django app (gunicorn)
After=network-online.target remote-fs.target django-fleet-env.service django-fleet-static.service
Wants=network-online.target
Requires=django-fleet-env.service django-fleet-static.service
RequiresMountsFor=${o.staticRoot}
ConditionPathExists=${APP_DIR}/current

[Service]
User=${APP_USER}
Group=${APP_USER}
WorkingDirectory=${APP_DIR}/current
ExecStartPre=+/usr/local/sbin/django-fleet-env
EnvironmentFile=${ENV_FILE}
ExecStart=${APP_DIR}/current/venv/bin/gunicorn --chdir ${APP_DIR}/current --bind 0.0.0.0:${o.appPort} --workers ${o.workers} --forwarded-allow-ips '*' --access-logfile - ${o.wsgiApplication}
ExecReload=/bin/kill -HUP $MAINPID
KillMode=mixed
TimeoutStopSec=30
Restart=on-failure
RestartSec=5
NoNewPrivileges=true
PrivateTmp=true
ProtectSystem=full

[Install]
WantedBy=multi-user.target
UNIT
${beat}
systemctl daemon-reload
systemctl enable django-app.service
if [ -e "$APP_DIR/current" ]; then systemctl restart django-app.service; fi

# --- scheduled work: management instance only -------------------------------------------
if [ "$ROLE" = management ]; then
  systemctl enable --now cron
${o.celeryApp ? "  systemctl enable django-app-beat.service\n  if [ -e \"$APP_DIR/current\" ]; then systemctl restart django-app-beat.service; fi\n" : ""}else
  systemctl disable --now cron || true
${o.celeryApp ? "  systemctl disable --now django-app-beat.service || true\n" : ""}fi

# The EC2 key pair (keyName) lands with Debian's default user; the deploy user accepts it too.
if [ -s /home/admin/.ssh/authorized_keys ]; then
  install -d -m 0700 -o ${DEPLOY_USER} -g ${DEPLOY_USER} /home/${DEPLOY_USER}/.ssh
  install -m 0600 -o ${DEPLOY_USER} -g ${DEPLOY_USER} /home/admin/.ssh/authorized_keys /home/${DEPLOY_USER}/.ssh/authorized_keys
fi

echo "django-fleet boot: done"
`;
}

