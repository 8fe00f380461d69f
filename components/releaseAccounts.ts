/**
 * The boot script's part for the release's accounts (issue 10): sudo rules, the inspection
 * account's metadata fence and read-only database settings, and the deploy account's git
 * credential helper. Pure text builders, included by renderUserData (userData.ts).
 */
import { DEPLOY_USER, INSPECT_ENV_FILE, INSPECT_USER, INSPECT_WRAPPER } from "../providers/release/remote/accounts";
import { PROJECT_DEFAULTS } from "../settings/schema";
import { READ_ROLE } from "./staticMount";
import { APP_USER, sh } from "./userData";

/** amazon-efs-utils' local TLS tunnel ports (efs-utils.conf port_range_lower_bound-upper_bound defaults). */
export const EFS_TLS_PORTS = "20049-21049";

/** Optional SSM parameters (under the prefix) the release's accounts read at run time. */
export const REPOSITORY_TOKEN_PARAMETER = "REPOSITORY_TOKEN";
export const INSPECT_DATABASE_PARAMETER = "INSPECT_DATABASE_URL";

/** The release's sudo rules: exactly the app unit's reload/restart, and commands as the (less privileged) inspection account, through its wrapper. */
export function sudoers(): string {
    return [
        `${DEPLOY_USER} ALL=(root) NOPASSWD: /usr/bin/systemctl reload django-app, /usr/bin/systemctl restart django-app, /usr/bin/systemctl reload django-app.service, /usr/bin/systemctl restart django-app.service`,
        `${DEPLOY_USER} ALL=(root) NOPASSWD: ${INSPECT_WRAPPER}`,
    ].join("\n");
}

/**
 * INSPECT_WRAPPER: runs its arguments as `user` (all groups of it, a reset environment, no
 * capabilities, no new privileges) in a private mount namespace where `staticRoot` is covered by
 * an empty read-only tmpfs. Through the EFS access point the kernel would let any local account
 * write the static root as the app user, and a candidate version's code (a pull request in a CI
 * preview) must not change the files every visitor is served. Root runs nothing of the arguments.
 */
export function renderInspectWrapper(o: { readonly user: string; readonly staticRoot: string }): string {
    if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(o.user)) throw new Error(`renderInspectWrapper: user "${o.user}" is not an account name`);
    if (!/^\/[A-Za-z0-9._\/-]+$/.test(o.staticRoot)) throw new Error(`renderInspectWrapper: staticRoot "${o.staticRoot}" is not a plain absolute path`);
    return `#!/bin/bash
# Runs a command as ${o.user} with ${o.staticRoot} hidden (an empty read-only directory).
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
[ "\${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "usage: $0 [--] command [args...]" >&2; exit 2; }
[ -d ${o.staticRoot} ] || { echo "$0: ${o.staticRoot} is not a directory: refusing to run without hiding it" >&2; exit 1; }
cd /
exec unshare --mount --propagation private -- /bin/bash -c '
set -euo pipefail
mount -t tmpfs -o ro,nosuid,nodev,noexec,size=4k,mode=0555 django-fleet-no-static "$0"
exec setpriv --reuid=${o.user} --regid="$(id -g ${o.user})" --init-groups --reset-env --no-new-privs --inh-caps=-all --bounding-set=-all -- "$@"' ${o.staticRoot} "$@"`;
}

/**
 * The inspection account's fence (no instance metadata: no role credentials, no parameters),
 * its environment (a read-only database role, when INSPECT_DATABASE_URL exists) and the deploy
 * account's git credential helper (REPOSITORY_TOKEN read from SSM at each fetch, never stored).
 */
export function releaseAccountsScript(o: {
    readonly region: string;
    readonly parameterPrefix: string;
    /** The app's layout, for the candidate's django_fleet checks (E002, E005) at preview: paths, no secret. */
    readonly wsgiApplication: string;
    readonly staticRoot: string;
    readonly staticUrl: string;
    /** The app account's access to the instance metadata service on the management instance (managementAppMetadata). @default the setting's */
    readonly managementAppMetadata?: "block" | "allow";
}): string {
    const region = sh(o.region);
    const envDir = INSPECT_ENV_FILE.replace(/\/[^/]+$/, "");
    return `cat > ${INSPECT_WRAPPER} <<'ASINSPECT'
${renderInspectWrapper({ user: INSPECT_USER, staticRoot: o.staticRoot })}
ASINSPECT
chown root:root ${INSPECT_WRAPPER}
chmod 0755 ${INSPECT_WRAPPER}
cat > /usr/local/sbin/django-fleet-inspect-fence <<'FENCE'
#!/bin/bash
# ${INSPECT_USER} may not reach the instance metadata service (IPv4 and IPv6), nor the local
# end of the static root's TLS tunnel (amazon-efs-utils' stunnel on 127.0.0.1, ports ${EFS_TLS_PORTS}
# by its efs-utils.conf defaults), which speaks NFS to EFS as the management role.
set -euo pipefail
nft delete table inet django_fleet_inspect 2>/dev/null || true
nft -f - <<NFT
table inet django_fleet_inspect {
  chain output {
    type filter hook output priority 0; policy accept;
    meta skuid ${INSPECT_USER} ip daddr 169.254.169.254 reject
    meta skuid ${INSPECT_USER} ip6 daddr fd00:ec2::254 reject
    meta skuid ${INSPECT_USER} ip daddr 127.0.0.0/8 tcp dport { 2049, ${EFS_TLS_PORTS} } reject
    meta skuid ${INSPECT_USER} ip6 daddr ::1 tcp dport { 2049, ${EFS_TLS_PORTS} } reject
  }
}
NFT${(o.managementAppMetadata ?? PROJECT_DEFAULTS.managementAppMetadata) === "block" ? `
# managementAppMetadata block: nor may the app account on the management instance (its role reads
# the master database URL and the release's secrets).
if [ "${READ_ROLE}" = management ]; then
  nft add rule inet django_fleet_inspect output meta skuid ${APP_USER} ip daddr 169.254.169.254 reject
  nft add rule inet django_fleet_inspect output meta skuid ${APP_USER} ip6 daddr fd00:ec2::254 reject
fi` : ""}
FENCE
cat > /usr/local/sbin/django-fleet-inspect-env <<'INSPECTENV'
#!/bin/bash
# Writes ${INSPECT_ENV_FILE} (tmpfs, ${INSPECT_USER} only) from ${o.parameterPrefix}/${INSPECT_DATABASE_PARAMETER}
# (a read-only database role), if that parameter exists, and the app's layout (the module gunicorn
# serves, the static root): nothing of the app's own secrets.
set -euo pipefail
umask 077
install -d -m 0750 -o root -g ${INSPECT_USER} ${envDir}
url=$(aws ssm get-parameter --region ${region} --with-decryption --name "${o.parameterPrefix}/${INSPECT_DATABASE_PARAMETER}" --query Parameter.Value --output text 2>/dev/null) || { rm -f ${INSPECT_ENV_FILE}; exit 0; }
tmp=$(mktemp ${INSPECT_ENV_FILE}.XXXXXX)
INSPECT_URL="$url" python3 - "$tmp" <<'PY'
import os, sys
from urllib.parse import parse_qs, unquote, urlsplit
u = urlsplit(os.environ["INSPECT_URL"])
query = {k: v[-1] for k, v in parse_qs(u.query).items()}
parts = {"DATABASE_URL": os.environ["INSPECT_URL"], "DATABASE_HOST": u.hostname or "", "DATABASE_PORT": str(u.port or 5432),
         "DATABASE_NAME": unquote(u.path.lstrip("/")), "DATABASE_USER": unquote(u.username or ""), "DATABASE_PASSWORD": unquote(u.password or ""),
         "DATABASE_SSLMODE": query.get("sslmode", ""), "DATABASE_SSLROOTCERT": query.get("sslrootcert", ""),
         "SECRET_KEY": "inspection-only-not-the-app-secret",
         "WSGI_APPLICATION": ${JSON.stringify(o.wsgiApplication)}, "STATIC_ROOT": ${JSON.stringify(o.staticRoot)}, "STATIC_URL": ${JSON.stringify(o.staticUrl)}}
with open(sys.argv[1], "w") as out:
    out.writelines(f"{k}={v}\\n" for k, v in parts.items())
PY
chown root:${INSPECT_USER} "$tmp"
chmod 0640 "$tmp"
mv "$tmp" ${INSPECT_ENV_FILE}
INSPECTENV
cat > /usr/local/bin/django-fleet-git-credential <<'GITCRED'
#!/bin/bash
# git credential helper of the release: answers "get" with ${o.parameterPrefix}/${REPOSITORY_TOKEN_PARAMETER}
# (SecureString) when it exists; stores and erases nothing.
[ "\${1:-}" = get ] || exit 0
cat >/dev/null
token=$(aws ssm get-parameter --region ${region} --with-decryption --name "${o.parameterPrefix}/${REPOSITORY_TOKEN_PARAMETER}" --query Parameter.Value --output text 2>/dev/null) || exit 0
[ -n "$token" ] || exit 0
printf 'username=x-access-token\\npassword=%s\\n' "$token"
GITCRED
chmod 0750 /usr/local/sbin/django-fleet-inspect-fence /usr/local/sbin/django-fleet-inspect-env
chmod 0755 /usr/local/bin/django-fleet-git-credential
cat > /etc/systemd/system/django-fleet-inspect.service <<'UNIT'
[Unit]
Description=The release's inspection account (and the management app account): metadata fence; read-only database settings
After=network-online.target django-fleet-role.service
Wants=network-online.target django-fleet-role.service
Before=django-app.service cron.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/django-fleet-inspect-fence
ExecStart=/usr/local/sbin/django-fleet-inspect-env

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable django-fleet-inspect.service
systemctl restart django-fleet-inspect.service
runuser -u ${DEPLOY_USER} -- git config --global credential.helper /usr/local/bin/django-fleet-git-credential
runuser -u ${DEPLOY_USER} -- git config --global credential.useHttpPath true`;
}
