/**
 * The remote phase's shell commands, built by pure functions (tested as exact strings).
 * Running them is the transports' job (ssh.ts, ssm.ts, local.ts); sequencing is phase.ts's.
 *
 * Accounts (see accounts.ts): the remote phase runs as the deploy account, which owns appDir and
 * releases/; the app runs as the app account, which can read them but not change them; the
 * candidate version's code in an inspection (`pulumi preview`) runs as the inspection account
 * through `inspectAs`, in its own workspace, with read-only database credentials only.
 *
 * Layout on the management instance (appDir, default /srv/app):
 *   (no mirror)            each checkout fetches refs/heads/* and refs/tags/* of repositoryUrl
 *                          into a temporary bare repository removed when the command ends, so
 *                          no repository (history, remote URL) is ever baked into an AMI
 *   releases/<version>/    one checkout per version (git archive), with its own venv/ and
 *                          staticfiles.json (django_fleet's local manifest); .fleet-commit
 *   current -> releases/<version>   switched atomically (ln -sfn to a temp link, mv -T)
 *   maintenance.flag       present while a release with breaking migrations goes out
 *                          (the app's FLEET_MAINTENANCE_FLAG points here)
 * The shared static root (staticRoot, default /srv/static) is the app's STATIC_ROOT (EFS).
 * Inspection workspaces: <inspectDir>/<version> (inspectDir owned by the inspection account).
 *
 * Each command is a bash script (the transports run it with `bash -c`); values are single-quoted.
 *
 * The app server must be started so that a graceful reload picks up the new `current`:
 * gunicorn with `--chdir <appDir>/current` (the unit's WorkingDirectory alone is not enough: a
 * reload re-reads os.getcwd(), which is the *resolved* old release, so new workers would import
 * the old code, and once that directory is pruned the reload fails). With --chdir, every HUP
 * chdirs to the new target and puts "<appDir>/current" itself on sys.path.
 */
import type { RemoteSettings } from "../ports";
import { versionProblem } from "../version";
import { PROJECT_DEFAULTS, RELEASE_DEFAULTS } from "../../../settings/schema";
import { INSPECT_AS, INSPECT_DIR, INSPECT_ENV_FILE } from "./accounts";

/** Settings the remote phase adds to the port's RemoteSettings (all optional). */
export interface RemotePhaseExtras {
    /** Extra arguments to `python -m venv`, e.g. "--system-site-packages". @default "" */
    venvArgs?: string;
    /** How long the local health check polls before failing, in seconds. @default 60 */
    healthTimeoutS?: number;
    /**
     * Command prefix that runs the candidate version's code (inspection: install, migration plan)
     * as the unprivileged inspection account. @default "sudo -n -u fleet-inspect --"
     */
    inspectAs?: string;
    /** Where inspection workspaces live (<inspectDir>/<version>), writable by the inspection account only. @default "/var/lib/fleet-inspect" */
    inspectDir?: string;
    /**
     * KEY=VALUE environment of an inspection: the read-only database role's DATABASE_* (enough
     * to list applied migrations) and nothing secret of the app. @default "/run/fleet-inspect/env"
     */
    inspectEnvFile?: string;
    /** The account SSM Run Command's (root) agent drops to for every command of the remote phase. @default "deploy" */
    ssmRunAs?: string;
}

export type RemotePhaseSettings = RemoteSettings & RemotePhaseExtras;

export interface ResolvedRemoteSettings {
    repositoryUrl: string;
    appDir: string;
    staticRoot: string;
    staticUrl: string;
    python: string;
    venvArgs: string;
    installCommand: string;
    restartCommand: string;
    healthUrl: string;
    settingsModule: string | null;
    keepReleases: number;
    commandTimeoutS: number;
    healthTimeoutS: number;
    inspectAs: string;
    inspectDir: string;
    inspectEnvFile: string;
}

/**
 * Why a repository URL must not be used: it carries a credential (URL userinfo with a password,
 * or any userinfo in http(s), where it is a token). Null when fine. Never echoes the credential.
 */
export function repositoryUrlCredentialProblem(url: string): string | null {
    const m = /^([a-z][a-z0-9+.-]*):\/\/([^/@]*)@/i.exec(url);
    if (!m) return null;
    const scheme = m[1].toLowerCase();
    if (!m[2].includes(":") && !/^https?$/.test(scheme)) return null; // ssh://git@host: a user name, no secret
    const shown = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, "$1***@");
    return (
        `(${shown}) carries a credential: remove it from the URL (it would sit in the resource's inputs, in SSM command parameters and in the repository's config). ` +
        `Set it as a Pulumi secret instead (pulumi config set --secret repositoryToken <token>): the stack keeps it in SSM Parameter Store as the SecureString <parameter prefix>/REPOSITORY_TOKEN, and the management instance's git credential helper reads it at each fetch and stores nothing`
    );
}

/** Applies the documented defaults once. */
export function resolveSettings(s: RemotePhaseSettings): ResolvedRemoteSettings {
    const problems: string[] = [];
    if (!s.repositoryUrl) problems.push("[repositoryUrl] is required");
    else if (s.repositoryUrl.startsWith("-")) problems.push(`[repositoryUrl] (${s.repositoryUrl}) must not start with "-" (git would read it as an option)`);
    else if (repositoryUrlCredentialProblem(s.repositoryUrl)) problems.push(`[repositoryUrl] ${repositoryUrlCredentialProblem(s.repositoryUrl)}`);
    const keep = s.keepReleases ?? RELEASE_DEFAULTS.keepReleases;
    if (!Number.isInteger(keep) || keep < 2) problems.push(`[keepReleases] (${s.keepReleases}) must be an integer >= 2`);
    const appDir = (s.appDir ?? "/srv/app").replace(/\/+$/, "");
    if (!appDir.startsWith("/")) problems.push(`[appDir] (${s.appDir}) must be an absolute path`);
    const staticUrl = s.staticUrl ?? PROJECT_DEFAULTS.staticUrl;
    if (!staticUrl.startsWith("/") || !staticUrl.endsWith("/")) problems.push(`[staticUrl] (${s.staticUrl}) must start and end with "/"`);
    const inspectDir = (s.inspectDir ?? INSPECT_DIR).replace(/\/+$/, "");
    if (!inspectDir.startsWith("/")) problems.push(`[inspectDir] (${s.inspectDir}) must be an absolute path`);
    const inspectEnvFile = s.inspectEnvFile ?? INSPECT_ENV_FILE;
    if (!inspectEnvFile.startsWith("/")) problems.push(`[inspectEnvFile] (${s.inspectEnvFile}) must be an absolute path`);
    if (problems.length) throw new Error(`Invalid remote settings: ${problems.join("; ")}`);
    return {
        repositoryUrl: s.repositoryUrl,
        appDir,
        staticRoot: (s.staticRoot ?? PROJECT_DEFAULTS.staticRoot).replace(/\/+$/, ""),
        staticUrl,
        python: s.python ?? "python3",
        venvArgs: s.venvArgs ?? "",
        installCommand: s.installCommand ?? RELEASE_DEFAULTS.installCommand,
        restartCommand: s.restartCommand ?? "sudo systemctl restart django-app",
        healthUrl: s.healthUrl ?? `http://127.0.0.1:${PROJECT_DEFAULTS.appPort}${PROJECT_DEFAULTS.healthCheckPath}`,
        settingsModule: s.settingsModule ?? null,
        keepReleases: keep,
        commandTimeoutS: s.commandTimeoutS ?? 900,
        healthTimeoutS: s.healthTimeoutS ?? 60,
        inspectAs: s.inspectAs ?? INSPECT_AS,
        inspectDir,
        inspectEnvFile,
    };
}

/** Single-quotes a value for bash. */
export function shq(value: string): string {
    if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Release names become directory names: git tags without "/" or leading dot/dash. */
export function validateVersion(version: string): void {
    const why = versionProblem(version);
    if (why) throw new Error(`Invalid version "${version}": it ${why}`);
}

export const releaseDir = (cfg: ResolvedRemoteSettings, version: string) => `${cfg.appDir}/releases/${version}`;
export const maintenanceFlag = (cfg: ResolvedRemoteSettings) => `${cfg.appDir}/maintenance.flag`;

function manage(cfg: ResolvedRemoteSettings, version: string, args: string): string {
    const env = cfg.settingsModule ? `DJANGO_SETTINGS_MODULE=${shq(cfg.settingsModule)} ` : "";
    return `cd ${shq(releaseDir(cfg, version))} && ${env}venv/bin/python manage.py ${args}`;
}

/** The prefix of refs/tags, refs/heads: the only refs fetched (never refs/pull/* or other namespaces). */
export const FETCH_REFSPECS = `'+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*'`;

/**
 * Fetches refs/heads/* and refs/tags/* of the repository into a temporary bare repository
 * ($mirror, removed when the command exits: nothing of the repository stays on the instance)
 * and resolves the version into $commit: a tag, else a branch, else a commit id reachable from
 * a branch or a tag. Anything else is refused.
 */
function fetchAndResolve(cfg: ResolvedRemoteSettings, version: string): string[] {
    const v = shq(version);
    const git = `git -C "$mirror"`;
    return [
        `mirror=$(mktemp -d) && trap 'rm -rf "$mirror"' EXIT`,
        `git -c init.defaultBranch=main init --quiet --bare "$mirror"`,
        `${git} fetch --quiet --no-tags --no-write-fetch-head -- ${shq(cfg.repositoryUrl)} ${FETCH_REFSPECS}`,
        `if commit=$(${git} rev-parse --verify --quiet ${shq(`refs/tags/${version}^{commit}`)}); then :`,
        `elif commit=$(${git} rev-parse --verify --quiet ${shq(`refs/heads/${version}^{commit}`)}); then :`,
        `elif [[ ${v} =~ ^[0-9a-f]{7,40}$ ]] && commit=$(${git} rev-parse --verify --quiet ${shq(`${version}^{commit}`)}) && [ -n "$(${git} for-each-ref --count=1 --contains "$commit" refs/heads refs/tags)" ]; then :`,
        `else echo ${shq(`version ${version} is neither a tag, a branch nor a commit reachable from them in the repository (only refs/heads/* and refs/tags/* are fetched)`)} >&2; exit 1; fi`,
    ];
}

/** Reads the release `current` points at; refuses a name that is no release name (it reaches later commands). */
function readCurrent(cfg: ResolvedRemoteSettings): string[] {
    return [
        `current=$(readlink ${shq(`${cfg.appDir}/current`)} || true); current=\${current##*/}`,
        `case "$current" in *[!A-Za-z0-9._-]*|.*|-*) printf 'current points at %q, which is no release name: refusing to use it (point current at a release directory)\\n' "$current" >&2; exit 1;; esac`,
        `echo "current=$current"; echo "commit=$commit"`,
    ];
}

/**
 * Fetches, resolves the version, checks it out into releases/<version> (kept when it already
 * holds that commit). `tar -m` stamps the files with the checkout time: git archive would give
 * them the commit's time, older than the copies an earlier release's collectstatic made, and
 * collectstatic would then skip a changed non-hashed file as unmodified. Prints
 * "current=<version>" and "commit=<sha>".
 */
export function checkout(cfg: ResolvedRemoteSettings, version: string): string {
    const dir = shq(releaseDir(cfg, version));
    const tmp = shq(`${releaseDir(cfg, version)}.tmp`);
    const v = shq(version);
    return [
        `set -euo pipefail`,
        `mkdir -p ${shq(`${cfg.appDir}/releases`)} ${shq(cfg.staticRoot)}`,
        ...fetchAndResolve(cfg, version),
        ...readCurrent(cfg),
        `if [ -f ${dir}/.fleet-commit ] && [ "$(cat ${dir}/.fleet-commit)" = "$commit" ]; then echo ${shq(`releases/${version} already holds`)} "$commit"; else`,
        `  if [ "$current" = ${v} ]; then echo ${shq(`refusing to replace releases/${version}: it is serving and ${version} now resolves to`)} "$commit" >&2; exit 1; fi`,
        `  rm -rf ${tmp} && mkdir -p ${tmp} && git -C "$mirror" archive "$commit" | tar -x -m -C ${tmp} && echo "$commit" > ${tmp}/.fleet-commit && rm -rf ${dir} && mv ${tmp} ${dir} && echo ${shq(`checked out ${version} at`)} "$commit"`,
        `fi`,
    ].join("\n");
}

/** Creates the release's virtualenv (once) and installs its requirements. */
export function install(cfg: ResolvedRemoteSettings, version: string): string {
    return [`set -euo pipefail`, `cd ${shq(releaseDir(cfg, version))}`, ...venvAndInstall(cfg)].join("\n");
}

function venvAndInstall(cfg: ResolvedRemoteSettings): string[] {
    const venvArgs = cfg.venvArgs ? ` ${cfg.venvArgs}` : "";
    return [`if [ ! -f venv/.fleet-ready ]; then rm -rf venv && ${cfg.python} -m venv${venvArgs} venv && touch venv/.fleet-ready; fi`, cfg.installCommand];
}

// ---------------------------------------------------------------------------------------
// Inspection (`pulumi preview`): the candidate's code runs as the inspection account only.

/** The inspection workspace of a version: <inspectDir>/<version>. */
export const inspectWorkspace = (cfg: ResolvedRemoteSettings, version: string) => `${cfg.inspectDir}/${version}`;

/** Exit code of an inspection step when the instance cannot inspect unprivileged (no inspection account, no read-only database credentials). */
export const NO_INSPECT_CREDENTIALS = 3;

/**
 * Runs a script as the inspection account (`inspectAs`) with a clean environment: HOME is the
 * workspace, nothing of the deploy account's environment passes.
 */
function asInspector(cfg: ResolvedRemoteSettings, version: string, script: string[]): string {
    const ws = inspectWorkspace(cfg, version);
    // The instance's non-secret facts the app's settings and django_fleet's checks read (E002
    // compares STATIC_ROOT with the environment's); the credentials come from inspectEnvFile.
    const env = [`HOME=${shq(ws)}`, `PATH=/usr/local/bin:/usr/bin:/bin`, `LANG=C.UTF-8`, `FLEET_ENV_FILE=${shq(cfg.inspectEnvFile)}`, `STATIC_ROOT=${shq(cfg.staticRoot)}`, `STATIC_URL=${shq(cfg.staticUrl)}`];
    if (cfg.settingsModule) env.push(`DJANGO_SETTINGS_MODULE=${shq(cfg.settingsModule)}`);
    return `cd / && ${cfg.inspectAs} env -i ${env.join(" ")} bash -c ${shq(["set -euo pipefail", ...script].join("\n"))}`;
}

/**
 * Fetches and resolves as the deploy account (the candidate's code does not run), then unpacks
 * `git archive` into a fresh workspace as the inspection account. Prints "current=" and "commit=".
 */
export function inspectCheckout(cfg: ResolvedRemoteSettings, version: string): string {
    const ws = shq(inspectWorkspace(cfg, version));
    return [
        `set -euo pipefail`,
        `(cd / && ${cfg.inspectAs} true) || { echo ${shq(`the inspection account is not set up on this instance (${cfg.inspectAs} true failed): the boot script of this version creates it`)} >&2; exit ${NO_INSPECT_CREDENTIALS}; }`,
        ...fetchAndResolve(cfg, version),
        ...readCurrent(cfg),
        `git -C "$mirror" archive "$commit" | (cd / && ${cfg.inspectAs} bash -c ${shq(`rm -rf ${ws} && mkdir -p ${ws} && tar -x -m -C ${ws}`)})`,
        `echo ${shq(`checked out ${version} for inspection at`)} "$commit"`,
    ].join("\n");
}

/** The virtualenv and installCommand in the workspace, as the inspection account. */
export function inspectInstall(cfg: ResolvedRemoteSettings, version: string): string {
    return asInspector(cfg, version, [`cd ${shq(inspectWorkspace(cfg, version))}`, ...venvAndInstall(cfg)]);
}

/**
 * fleet_migration_plan in the workspace, as the inspection account, with the read-only database
 * credentials of inspectEnvFile exported (KEY=VALUE lines; the app's settings may also read
 * FLEET_ENV_FILE). Exits NO_INSPECT_CREDENTIALS when that file is missing.
 */
export function inspectPlan(cfg: ResolvedRemoteSettings, version: string): string {
    const f = shq(cfg.inspectEnvFile);
    const settings = cfg.settingsModule ? `DJANGO_SETTINGS_MODULE=${shq(cfg.settingsModule)} ` : "";
    return asInspector(cfg, version, [
        `cd ${shq(inspectWorkspace(cfg, version))}`,
        `[ -r ${f} ] || { echo ${shq(`no read-only database credentials for the inspection: ${cfg.inspectEnvFile} is missing or unreadable`)} >&2; exit ${NO_INSPECT_CREDENTIALS}; }`,
        `while IFS= read -r line || [ -n "$line" ]; do case "$line" in [A-Za-z_]*=*) export "$line";; esac; done < ${f}`,
        `${settings}venv/bin/python manage.py fleet_migration_plan --output ${PLAN_FILE}`,
    ]);
}

/** Where migrationPlan also writes the plan, in the release directory (read back in chunks when a transport cuts it). */
export const PLAN_FILE = ".fleet-plan.json";

/** Prints the pending-migration plan as one ASCII JSON line (django_fleet's management command) and keeps it in PLAN_FILE. */
export function migrationPlan(cfg: ResolvedRemoteSettings, version: string): string {
    return manage(cfg, version, `fleet_migration_plan --output ${PLAN_FILE}`);
}

/** Prints `length` bytes of a file from `offset`: reads back output a transport cut (SSM keeps 24,000 characters). */
export function readChunk(path: string, offset: number, length: number): string {
    return `tail -c +${offset + 1} ${shq(path)} | head -c ${length}`;
}

export function migrate(cfg: ResolvedRemoteSettings, version: string): string {
    return manage(cfg, version, "migrate --noinput");
}

/** Where collectStatic also writes the changed paths (JSON), in the release directory. */
export const CHANGED_STATIC_FILE = ".fleet-changed-static.json";

/**
 * Python run by collectStatic (in the release directory): checks the new manifest's files are in
 * the static root, prints the changed non-hashed paths and writes them to CHANGED_STATIC_FILE.
 */
export const CHANGED_STATIC_SCRIPT = [
    `import json, os, sys`,
    `prev, new, root, prefix = sys.argv[1:5]`,
    `def load(p):`,
    `    try:`,
    `        with open(p) as f: return json.load(f).get("paths", {})`,
    `    except (FileNotFoundError, NotADirectoryError): return None`,
    `old, cur = (load(prev) if prev else None), load(new)`,
    `if cur is None: sys.exit("collectstatic wrote no manifest at " + new)`,
    `missing = [h for h in cur.values() if not os.path.isfile(os.path.join(root, h))]`,
    `if missing: sys.exit("%d hashed files of the manifest are not in %s (is STATIC_ROOT the shared root?), e.g. %s" % (len(missing), root, missing[0]))`,
    `changed = [] if old is None else sorted(prefix + k for k, v in cur.items() if k in old and old[k] != v)`,
    `with open(".fleet-changed-static.json", "w") as f: json.dump(changed, f)`,
    `print("changed-static-paths=" + json.dumps(changed))`,
].join("\n");

/**
 * collectstatic into the shared root (staticfiles.json lands in the release directory), then
 * compares the previous release's manifest with the new one. Prints "changed-static-paths=[...]".
 */
export function collectStatic(cfg: ResolvedRemoteSettings, version: string, previous: string | null): string {
    const prevManifest = previous && previous !== version ? `${releaseDir(cfg, previous)}/staticfiles.json` : "";
    return [
        `set -euo pipefail`,
        manage(cfg, version, "collectstatic --noinput"),
        `venv/bin/python -c ${shq(CHANGED_STATIC_SCRIPT)} ${shq(prevManifest)} staticfiles.json ${shq(cfg.staticRoot)} ${shq(cfg.staticUrl)}`,
    ].join("\n");
}

/** Points `current` at releases/<version> atomically (a relative link, so the AMI bake keeps it valid). */
export function switchCurrent(cfg: ResolvedRemoteSettings, version: string): string {
    const tmpLink = `.current.tmp`;
    return [
        `set -euo pipefail`,
        `cd ${shq(cfg.appDir)}`,
        `[ -d ${shq(`releases/${version}`)} ] || { echo ${shq(`releases/${version} does not exist on this instance`)} >&2; exit 1; }`,
        `ln -sfn ${shq(`releases/${version}`)} ${tmpLink} && mv -T ${tmpLink} current`,
        `echo "current -> $(readlink current)"`,
    ].join("\n");
}

export function restart(cfg: ResolvedRemoteSettings): string {
    return `cd ${shq(cfg.appDir)} && ${cfg.restartCommand}`;
}

/** Python run by healthCheck: polls the URL until 200 (and, when the body names a release, the right one). */
/**
 * Polls the health URL until it answers 200 from `version`: the release is the X-Release header
 * (django_fleet.release.ReleaseHeaderMiddleware), else the JSON body's "release" field; an
 * answer naming neither counts as the version (an app without the marker).
 */
export const HEALTH_SCRIPT = [
    `import json, sys, time, urllib.error, urllib.request`,
    `url, version, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])`,
    `opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))`,
    `deadline, last = time.time() + limit, ""`,
    `while True:`,
    `    try:`,
    `        with opener.open(url, timeout=5) as r: status, headers, body = r.status, r.headers, r.read(2000).decode("utf-8", "replace")`,
    `    except urllib.error.HTTPError as e: status, headers, body = e.code, e.headers, e.read(2000).decode("utf-8", "replace")`,
    `    except Exception as e: status, headers, body = None, {}, str(e)`,
    `    release = headers.get("X-Release")`,
    `    if release is None:`,
    `        try: release = json.loads(body).get("release")`,
    `        except Exception: pass`,
    `    if status == 200 and release in (None, version):`,
    `        print("healthy: %s %s" % (status, body.strip())); sys.exit(0)`,
    `    last = "%s %s" % (status, body.strip()[:500]) if status != 200 else "still serving release %s" % release`,
    `    if time.time() > deadline: sys.exit("health check of %s failed after %ss: %s" % (url, limit, last))`,
    `    time.sleep(0.2)`,
].join("\n");

export function healthCheck(cfg: ResolvedRemoteSettings, version: string): string {
    return `cd ${shq(releaseDir(cfg, version))} && venv/bin/python -c ${shq(HEALTH_SCRIPT)} ${shq(cfg.healthUrl)} ${shq(version)} ${cfg.healthTimeoutS}`;
}

export function maintenanceOn(cfg: ResolvedRemoteSettings): string {
    return `touch ${shq(maintenanceFlag(cfg))}`;
}

export function maintenanceOff(cfg: ResolvedRemoteSettings): string {
    return `rm -f ${shq(maintenanceFlag(cfg))}`;
}

/**
 * Removes release directories beyond the newest keepReleases (by mtime), never the one
 * `current` points at nor those listed in `keep` (the new and the previous release).
 */
export function prune(cfg: ResolvedRemoteSettings, keep: string[]): string {
    const protectedNames = keep.map((k) => `[ "$d" = ${shq(k)} ]`).concat([`[ "releases/$d" = "$cur" ]`]);
    return [
        `cd ${shq(`${cfg.appDir}/releases`)}`,
        `cur=$(readlink ../current || true); n=0`,
        `for d in $(ls -1t); do case "$d" in *.tmp) continue;; esac; n=$((n+1)); if [ $n -le ${cfg.keepReleases} ] || ${protectedNames.join(" || ")}; then continue; fi; rm -rf -- "$d" && echo "pruned releases/$d"; done`,
    ].join("\n");
}

/** Parses "key=value" lines printed by a command. */
export function parseKeyValues(stdout: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of stdout.split("\n")) {
        const m = /^([a-z][a-z-]*)=(.*)$/.exec(line.trim());
        if (m) out[m[1]] = m[2];
    }
    return out;
}
