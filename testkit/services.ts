/**
 * Private services for end-to-end tests, bound to 127.0.0.1 only, without systemd:
 *
 *  - startPostgres(): a throw-away PostgreSQL 15 cluster (initdb into a temp dir owned by the
 *    postgres user, its own port and socket dir), with a role and database for the app.
 *  - startSshd(): an OpenSSH server on a non-standard port with a fresh host key, key-only
 *    authentication, and a fresh client key pair (root login, as these machines run as root).
 *  - startGunicorn(): a gunicorn serving a Django project directory, stopped by pid.
 *
 * Everything lives under a temp dir removed by stop(). Call stop() in after() hooks: it is
 * safe to call twice and after a failed start.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { randomBytes } from "crypto";
import { DEFAULT_INSTALL_COMMAND } from "../rehearsal/options";
import { REHEARSAL_PYTHON, venvArgsFor } from "../rehearsal/venv";

const PG_BIN = "/usr/lib/postgresql/15/bin";

/** A free TCP port on 127.0.0.1 (asks the kernel). */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.unref();
        server.on("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

/** Resolves when 127.0.0.1:port accepts a connection; rejects after timeoutMs. */
export async function waitForPort(port: number, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
            const socket = net.connect({ host: "127.0.0.1", port }, () => {
                socket.destroy();
                resolve(true);
            });
            socket.on("error", () => resolve(false));
        });
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

export interface PostgresService {
    host: "127.0.0.1";
    port: number;
    database: string;
    user: string;
    /** Generated per run. */
    password: string;
    dir: string;
    /** Runs SQL as the superuser over the unix socket; returns psql's unaligned output. */
    psql(sql: string, database?: string): string;
    /** Stops the server, keeping the data (the "database down" case). */
    stopServer(): void;
    startServer(): void;
    /** Stops the server and removes its directory. */
    stop(): void;
}

export interface PostgresOptions {
    /** @default a free port */
    port?: number;
    /** @default "app" */
    database?: string;
    /** @default "app" */
    user?: string;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresService> {
    const port = options.port ?? (await freePort());
    const database = options.database ?? "app";
    const user = options.user ?? "app";
    const password = randomBytes(12).toString("hex");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-pg-"));
    fs.chmodSync(dir, 0o755);
    execFileSync("chown", ["postgres:postgres", dir]);
    const data = path.join(dir, "data");
    const asPostgres = (bin: string, args: string[]) =>
        execFileSync("runuser", ["-u", "postgres", "--", path.join(PG_BIN, bin), ...args], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
            cwd: dir,
        });
    let running = false;
    const service: PostgresService = {
        host: "127.0.0.1",
        port,
        database,
        user,
        password,
        dir,
        psql(sql, db = database) {
            return asPostgres("psql", ["-h", dir, "-p", String(port), "-U", "postgres", "-d", db, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql]).trim();
        },
        startServer() {
            asPostgres("pg_ctl", [
                "-D", data, "-l", path.join(dir, "server.log"), "-w", "-t", "30",
                "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
                "start",
            ]);
            running = true;
        },
        stopServer() {
            if (!running) return;
            asPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
            running = false;
        },
        stop() {
            try {
                service.stopServer();
            } catch {
                /* already stopped */
            }
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
    try {
        asPostgres("initdb", ["-D", data, "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"]);
        service.startServer();
        service.psql(`CREATE ROLE ${user} LOGIN PASSWORD '${password}'`, "postgres");
        service.psql(`CREATE DATABASE ${database} OWNER ${user}`, "postgres");
    } catch (e) {
        service.stop();
        throw e;
    }
    return service;
}

export interface SshdService {
    host: "127.0.0.1";
    port: number;
    user: string;
    /** The client's private key (OpenSSH format), generated per run. */
    privateKey: string;
    /** The server's host key fingerprint, "SHA256:...". */
    hostKeySha256: string;
    dir: string;
    stop(): Promise<void>;
}

export async function startSshd(options: { port?: number } = {}): Promise<SshdService> {
    const port = options.port ?? (await freePort());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-sshd-"));
    let child: ChildProcess | null = null;
    const stop = async () => {
        if (child && child.exitCode === null) {
            const exited = new Promise((r) => child!.once("exit", r));
            child.kill("SIGTERM");
            await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        }
        fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
        const keygen = (file: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "fleet-test", "-f", file]);
        keygen(path.join(dir, "host_ed25519"));
        keygen(path.join(dir, "client_ed25519"));
        fs.copyFileSync(path.join(dir, "client_ed25519.pub"), path.join(dir, "authorized_keys"));
        const fingerprint = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", path.join(dir, "host_ed25519.pub")], { encoding: "utf8" }).split(" ")[1];
        const config = [
            `Port ${port}`,
            `ListenAddress 127.0.0.1`,
            `HostKey ${path.join(dir, "host_ed25519")}`,
            `PidFile ${path.join(dir, "sshd.pid")}`,
            `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
            `PubkeyAuthentication yes`,
            `PasswordAuthentication no`,
            `KbdInteractiveAuthentication no`,
            `PermitRootLogin prohibit-password`,
            `AllowUsers root`,
            `StrictModes no`,
            `UsePAM no`,
            `MaxSessions 50`,
            `LogLevel ERROR`,
            // bash started by sshd sources ~/.bashrc only as a top-level shell (SHLVL < 2): this
            // machine's root ~/.bashrc (a pyenv set-up that rehashes, and may complain on stderr,
            // when sessions run at the same time) is not part of what the tests run.
            `SetEnv SHLVL=1`,
        ].join("\n");
        fs.writeFileSync(path.join(dir, "sshd_config"), `${config}\n`);
        fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
        child = spawn("/usr/sbin/sshd", ["-f", path.join(dir, "sshd_config"), "-D", "-e"], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
        await Promise.race([
            waitForPort(port),
            new Promise((_, reject) => child!.once("exit", (code) => reject(new Error(`sshd exited (${code}): ${stderr}`)))),
        ]);
        return {
            host: "127.0.0.1",
            port,
            user: "root",
            privateKey: fs.readFileSync(path.join(dir, "client_ed25519"), "utf8"),
            hostKeySha256: fingerprint,
            dir,
            stop,
        };
    } catch (e) {
        await stop();
        throw e;
    }
}

export interface GunicornService {
    port: number;
    pidFile: string;
    stop(): Promise<void>;
}

/**
 * Starts `<python> -m gunicorn mysite.wsgi` in `chdir` (a Django project directory) on
 * 127.0.0.1:port as a daemon writing pidFile, and waits until it answers.
 */
export async function startGunicorn(options: { python: string; chdir: string; port?: number; pidFile: string; wsgi?: string; workers?: number; env?: Record<string, string> }): Promise<GunicornService> {
    const port = options.port ?? (await freePort());
    execFileSync(options.python, gunicornArgs({ ...options, port }), { env: { ...process.env, ...options.env }, stdio: "ignore" });
    await waitForPort(port);
    return {
        port,
        pidFile: options.pidFile,
        stop: () => stopByPidFile(options.pidFile),
    };
}

export function gunicornArgs(o: { chdir: string; port: number; pidFile: string; wsgi?: string; workers?: number }): string[] {
    return [
        "-m", "gunicorn", "--daemon", "--pid", o.pidFile, "--chdir", o.chdir,
        "--bind", `127.0.0.1:${o.port}`, "--workers", String(o.workers ?? 1), "--graceful-timeout", "5",
        o.wsgi ?? "mysite.wsgi:application",
    ];
}

/** TERM the process in pidFile and wait until it is gone. */
export async function stopByPidFile(pidFile: string, timeoutMs = 10000): Promise<void> {
    let pid: number;
    try {
        pid = Number(fs.readFileSync(pidFile, "utf8").trim());
    } catch {
        return;
    }
    if (!pid) return;
    try {
        process.kill(pid, "SIGTERM");
    } catch {
        return;
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        try {
            process.kill(pid, 0);
        } catch {
            return;
        }
        await new Promise((r) => setTimeout(r, 50));
    }
    try {
        process.kill(pid, "SIGKILL");
    } catch {
        /* gone */
    }
}

/** Release virtualenv settings for these machines (no PyPI): the rehearsal's (rehearsal/venv.ts). */
export function releaseVenvSettings(): { python: string; venvArgs: string; installCommand: string } {
    return { python: REHEARSAL_PYTHON, venvArgs: venvArgsFor(DEFAULT_INSTALL_COMMAND), installCommand: DEFAULT_INSTALL_COMMAND };
}
