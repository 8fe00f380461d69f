/**
 * The environment every instance of the rehearsal gets (the contract of an instance's env file,
 * docs/own-app.md), and the files it is written to: the management instance's shared/env, and
 * the inspection's env file with no app secret. Pure but for the files written.
 */
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_INSTALL_COMMAND } from "./options";

/** A private PostgreSQL's connection (test/support/services.ts startPostgres). */
export interface PostgresConnection {
    readonly host: string;
    readonly port: number;
    readonly database: string;
    readonly user: string;
    readonly password: string;
}

/**
 * STATIC_ROOT, STATIC_URL, ALLOWED_HOSTS, SECRET_KEY, WSGI_APPLICATION (and FLEET_INSTALL_COMMAND
 * for a non-default install), the database's DATABASE_URL and parts with PostgreSQL, then
 * DJANGO_SETTINGS_MODULE, then the caller's `extra`, which wins.
 */
export function appEnvironment(o: {
    staticRoot: string;
    wsgi: string;
    installCommand: string;
    settingsModule: string;
    postgres?: PostgresConnection;
    extra?: Record<string, string>;
}): Record<string, string> {
    const env: Record<string, string> = {
        STATIC_ROOT: o.staticRoot,
        STATIC_URL: "/static/",
        ALLOWED_HOSTS: "localhost,127.0.0.1",
        SECRET_KEY: "rehearsal-only-not-secret",
        WSGI_APPLICATION: o.wsgi,
        ...(o.installCommand !== DEFAULT_INSTALL_COMMAND ? { FLEET_INSTALL_COMMAND: o.installCommand } : {}),
    };
    const pg = o.postgres;
    if (pg) {
        Object.assign(env, {
            DATABASE_URL: `postgres://${encodeURIComponent(pg.user)}:${encodeURIComponent(pg.password)}@${pg.host}:${pg.port}/${encodeURIComponent(pg.database)}`,
            DATABASE_HOST: pg.host,
            DATABASE_PORT: String(pg.port),
            DATABASE_NAME: pg.database,
            DATABASE_USER: pg.user,
            DATABASE_PASSWORD: pg.password,
        });
    }
    env.DJANGO_SETTINGS_MODULE = o.settingsModule;
    Object.assign(env, o.extra ?? {});
    return env;
}

const lines = (env: Record<string, string>) => Object.entries(env).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";

/** <appDir>/shared/env, readable by the run's user only. */
export function writeEnvFile(appDir: string, env: Record<string, string>): void {
    fs.writeFileSync(path.join(appDir, "shared", "env"), lines(env), { mode: 0o600 });
}

/**
 * The inspection (preview) runs the candidate's code as nobody (uid 65534, as the instance's
 * fleet-inspect account): a workspace of its own (<work>/inspect), the work dir traversable, an
 * env file without the app's secret key. SQLite: read-only by file mode (the file exists, empty,
 * for the inspection of the first release); PostgreSQL: the app's role (a rehearsal).
 * Returns the workspace and the env file.
 */
export function prepareInspection(work: string, env: Record<string, string>, sqliteFile?: string): { inspectDir: string; inspectEnvFile: string } {
    for (let dir = path.dirname(path.resolve(work)); ; dir = path.dirname(dir)) {
        const mode = fs.statSync(dir).mode & 0o777;
        if ((mode & 0o001) === 0) {
            throw new Error(`the work directory ${work} is inside ${dir} (mode ${mode.toString(8).padStart(4, "0")}), which other users cannot enter: `
                + `the inspection runs the candidate's code as nobody (uid 65534), like the instance's fleet-inspect account, and could not reach its workspace. `
                + `Give --work-dir a directory every user can traverse, or chmod o+x ${dir}`);
        }
        if (dir === path.dirname(dir)) break;
    }
    fs.chmodSync(work, 0o755);
    const inspectDir = path.join(work, "inspect");
    fs.mkdirSync(inspectDir, { recursive: true, mode: 0o700 });
    fs.chownSync(inspectDir, 65534, 65534);
    if (sqliteFile) fs.writeFileSync(sqliteFile, "", { flag: "a" });
    const inspectEnvFile = path.join(work, "inspect.env");
    fs.writeFileSync(inspectEnvFile, lines({ ...env, SECRET_KEY: "rehearsal-inspection-only" }), { mode: 0o644 });
    return { inspectDir, inspectEnvFile };
}
