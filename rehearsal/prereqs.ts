/**
 * What the rehearsal needs on this machine, checked before anything starts; for each missing
 * piece, exactly what to install (Debian package names: `bash scripts/setup.sh` installs all).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";

export interface Prerequisite {
    name: string;
    /** What was looked for. */
    probe: string;
    /** The command that installs it. */
    install: string;
}

export interface PrereqPaths {
    /** @default "/usr/sbin/haproxy" */
    haproxy?: string;
    /** The Python the releases' virtualenvs are made from. @default "/usr/bin/python3" */
    python?: string;
    /** @default "git" */
    git?: string;
    /** Only checked for the PostgreSQL database. @default "/usr/lib/postgresql/15/bin/initdb" */
    initdb?: string;
}

const apt = (pkg: string) => `apt-get install -y ${pkg}`;

function runs(cmd: string, args: string[]): boolean {
    try {
        return spawnSync(cmd, args, { stdio: "ignore", timeout: 15_000 }).status === 0;
    } catch {
        return false;
    }
}

/** Returns the missing prerequisites (empty when all is there). */
export function missingPrerequisites(opts: { database: "sqlite" | "postgres"; transport?: "local" | "ssh" } & PrereqPaths): Prerequisite[] {
    const haproxy = opts.haproxy ?? "/usr/sbin/haproxy";
    const python = opts.python ?? "/usr/bin/python3";
    const git = opts.git ?? "git";
    const missing: Prerequisite[] = [];
    const major = Number(process.versions.node.split(".")[0]);
    if (major < 20) missing.push({ name: "Node.js >= 20", probe: `node ${process.versions.node}`, install: "install Node.js 20 (https://nodejs.org)" });
    if (!runs(git, ["--version"])) missing.push({ name: "git", probe: git, install: apt("git") });
    if (!runs(haproxy, ["-v"])) missing.push({ name: "HAProxy", probe: haproxy, install: apt("haproxy") });
    if (!fs.existsSync(python) || !runs(python, ["-c", "pass"])) {
        missing.push({ name: "Python 3", probe: python, install: apt("python3") });
        return missing;
    }
    const modules: [string, string, string][] = [
        ["django", "Django", "python3-django"],
        ["whitenoise", "WhiteNoise", "python3-whitenoise"],
        ["gunicorn", "gunicorn", "gunicorn"],
        ["psycopg2", "psycopg2", "python3-psycopg2"],
        ["ensurepip", "venv (ensurepip)", "python3-venv"],
    ];
    for (const [module, name, pkg] of modules) {
        if (!runs(python, ["-c", `import ${module}`])) missing.push({ name, probe: `${python} -c 'import ${module}'`, install: apt(pkg) });
    }
    if (opts.database === "postgres") {
        const initdb = opts.initdb ?? "/usr/lib/postgresql/15/bin/initdb";
        if (!fs.existsSync(initdb)) missing.push({ name: "PostgreSQL 15", probe: initdb, install: apt("postgresql") });
    }
    if (opts.transport === "ssh") {
        if (!fs.existsSync("/usr/sbin/sshd")) missing.push({ name: "OpenSSH server", probe: "/usr/sbin/sshd", install: apt("openssh-server") });
        if (!fs.existsSync("/usr/bin/ssh-keygen")) missing.push({ name: "ssh-keygen", probe: "/usr/bin/ssh-keygen", install: apt("openssh-client") });
    }
    return missing;
}

/** The message printed when something is missing. */
export function formatMissing(missing: Prerequisite[]): string {
    const lines = ["The rehearsal needs these on this machine:"];
    for (const m of missing) lines.push(`  - ${m.name} (looked for ${m.probe}): ${m.install}`);
    const pkgs = missing.map((m) => /^apt-get install -y (.+)$/.exec(m.install)?.[1]).filter((p): p is string => !!p);
    if (pkgs.length) lines.push(`All at once: apt-get update && apt-get install -y ${[...new Set(pkgs)].join(" ")}   (or: bash scripts/setup.sh)`);
    return lines.join("\n");
}
