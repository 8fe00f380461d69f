/**
 * The example site on this machine, as the end-to-end tests, the benchmark and the rehearsal
 * use it: a private PostgreSQL, an sshd, the example repository (v1..v4), a management-instance
 * directory with its shared/env, and the remote-phase settings that release into it over SSH.
 *
 * The management instance's app server is a gunicorn started by the phase's restartCommand
 * from <appDir>/current (HUPed when it already runs: "systemctl reload-or-restart").
 *
 * The inspection account (what runs the candidate's code in `inspect`) is nobody (uid 65534),
 * reached through the boot script's own wrapper (components/releaseAccounts.ts: a private mount
 * namespace hiding the static root, then setpriv), run directly since the tests run as root (on
 * an instance, `sudo -n django-fleet-as-inspect`); its workspace is <work>/inspect and its
 * environment <appDir>/shared/inspect.env, with a read-only PostgreSQL role (SELECT on the app's
 * tables).
 */
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { randomBytes } from "crypto";
import { buildExampleRepo, ExampleRepo } from "../example/build-repo";
import { renderInspectWrapper } from "../components/releaseAccounts";
import type { RemotePhaseSettings } from "../providers/release/remote";
import { freePort, gunicornArgs, PostgresService, releaseVenvSettings, SshdService, startPostgres, startSshd, stopByPidFile } from "./services";

export interface HttpAnswer {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
}

/** GET http://127.0.0.1:<port><path> with the given Host header. */
export function httpGet(port: number, urlPath: string, host = "www.example.com"): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
        const req = http.get({ host: "127.0.0.1", port, path: urlPath, headers: { Host: host }, timeout: 10000 }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (c) => (body += c));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${urlPath} timed out`)));
        req.on("error", reject);
    });
}

/** The inspection account of the tests (the wrapper drops to it by name, with its groups), and its uid. */
export const INSPECT_ACCOUNT = "nobody";
export const INSPECT_UID = 65534;

/** Writes the boot script's inspection wrapper for `staticRoot` into `dir`; returns the `inspectAs` prefix that runs it. */
export function writeInspectWrapper(dir: string, staticRoot: string): string {
    const file = path.join(dir, "as-inspect");
    fs.writeFileSync(file, renderInspectWrapper({ user: INSPECT_ACCOUNT, staticRoot }) + "\n", { mode: 0o755 });
    return `bash ${file} --`;
}

export interface ExampleSite {
    work: string;
    pg: PostgresService;
    sshd: SshdService;
    repo: ExampleRepo;
    appDir: string;
    staticRoot: string;
    /** The management instance's gunicorn port. */
    mgmtPort: number;
    /** Its pid file (written by gunicorn --daemon). */
    mgmtPidFile: string;
    /** Settings for createRemotePhase: transport ssh to the local sshd. */
    settings: RemotePhaseSettings;
    /** Stops gunicorn(s) started from the site's run/ directory, PostgreSQL and sshd; removes everything. */
    stop(): Promise<void>;
}

export async function startExampleSite(options: { keepReleases?: number } = {}): Promise<ExampleSite> {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-site-"));
    let pg: PostgresService | undefined;
    let sshd: SshdService | undefined;
    const appDir = path.join(work, "app");
    const runDir = path.join(appDir, "run");
    const stop = async () => {
        if (fs.existsSync(runDir)) for (const f of fs.readdirSync(runDir)) if (f.endsWith(".pid")) await stopByPidFile(path.join(runDir, f));
        pg?.stop();
        await sshd?.stop();
        fs.rmSync(work, { recursive: true, force: true });
    };
    try {
        [pg, sshd] = await Promise.all([startPostgres(), startSshd()]);
        const repo = buildExampleRepo(path.join(work, "repo"));
        const staticRoot = path.join(work, "static");
        // The mount point exists before the first release, as the boot script creates it.
        fs.mkdirSync(staticRoot, { recursive: true });
        const mgmtPort = await freePort();
        fs.mkdirSync(path.join(appDir, "shared"), { recursive: true });
        fs.mkdirSync(runDir, { recursive: true });
        // Traversable (not writable) by the inspection account, as /srv is on an instance.
        fs.chmodSync(work, 0o755);
        const inspectDir = path.join(work, "inspect");
        fs.mkdirSync(inspectDir, { mode: 0o700 });
        fs.chownSync(inspectDir, INSPECT_UID, INSPECT_UID);
        const inspectPassword = randomBytes(12).toString("hex");
        pg.psql(`CREATE ROLE fleet_inspect LOGIN PASSWORD '${inspectPassword}'`, "postgres");
        pg.psql(`ALTER DEFAULT PRIVILEGES FOR ROLE ${pg.user} IN SCHEMA public GRANT SELECT ON TABLES TO fleet_inspect`);
        const inspectEnvFile = path.join(appDir, "shared", "inspect.env");
        fs.writeFileSync(
            inspectEnvFile,
            [`DATABASE_HOST=127.0.0.1`, `DATABASE_PORT=${pg.port}`, `DATABASE_NAME=${pg.database}`, `DATABASE_USER=fleet_inspect`, `DATABASE_PASSWORD=${inspectPassword}`, `SECRET_KEY=inspection-only-not-secret`,
                // The app's layout, as the boot script's django-fleet-inspect-env writes it (components/releaseAccounts.ts).
                `STATIC_ROOT=${staticRoot}`, ``].join("\n"),
            { mode: 0o600 },
        );
        fs.chownSync(inspectEnvFile, INSPECT_UID, INSPECT_UID);
        fs.writeFileSync(
            path.join(appDir, "shared", "env"),
            [
                `DATABASE_HOST=127.0.0.1`,
                `DATABASE_PORT=${pg.port}`,
                `DATABASE_NAME=${pg.database}`,
                `DATABASE_USER=${pg.user}`,
                `DATABASE_PASSWORD=${pg.password}`,
                `STATIC_ROOT=${staticRoot}`,
                `ALLOWED_HOSTS=www.example.com`,
                ``,
            ].join("\n"),
            { mode: 0o600 },
        );
        const mgmtPidFile = path.join(runDir, "gunicorn.pid");
        const start = ["current/venv/bin/python", ...gunicornArgs({ chdir: path.join(appDir, "current"), port: mgmtPort, pidFile: mgmtPidFile, workers: 2 })].join(" ");
        const settings: RemotePhaseSettings = {
            transport: "ssh",
            ssh: { host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256 },
            repositoryUrl: repo.url,
            appDir,
            staticRoot,
            ...releaseVenvSettings(),
            restartCommand: `if [ -f ${mgmtPidFile} ] && kill -0 "$(cat ${mgmtPidFile})" 2>/dev/null; then kill -HUP "$(cat ${mgmtPidFile})"; else ${start}; fi`,
            healthUrl: `http://127.0.0.1:${mgmtPort}/health/`,
            keepReleases: options.keepReleases ?? 2,
            commandTimeoutS: 120,
            healthTimeoutS: 20,
            inspectAs: writeInspectWrapper(work, staticRoot),
            inspectDir,
            inspectEnvFile,
        };
        return { work, pg, sshd, repo, appDir, staticRoot, mgmtPort, mgmtPidFile, settings, stop };
    } catch (e) {
        await stop();
        throw e;
    }
}
