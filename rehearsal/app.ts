/**
 * What the rehearsal learns from or gives to the app it releases: the settings module manage.py
 * names, the environment it gets (--env), and the Host header its traffic uses (the first
 * ALLOWED_HOSTS entry the app reports, unless --host).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** KEY=VALUE (from --env): a valid variable name, no newline in the value. */
export function parseEnvAssignment(text: string): [string, string] {
    const eq = text.indexOf("=");
    const key = eq > 0 ? text.slice(0, eq) : "";
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new Error(`--env must be KEY=VALUE with KEY a variable name, got "${text}"`);
    const value = text.slice(eq + 1);
    if (/[\n\r]/.test(value)) throw new Error(`--env ${key}: the value must be one line`);
    return [key, value];
}

/** The Host header for an ALLOWED_HOSTS list: the first usable entry ("*" and ".domain" handled). */
export function hostFor(allowedHosts: string[], debug: boolean): string {
    for (const h of allowedHosts) {
        if (h === "*") return "localhost";
        if (h.startsWith(".")) return h.slice(1); // ".example.com" matches example.com itself
        if (h) return h;
    }
    if (debug) return "localhost"; // Django's DEBUG allows localhost with an empty list
    throw new Error(
        "the app reports ALLOWED_HOSTS = [] with DEBUG off: every request would get 400. " +
            "Read ALLOWED_HOSTS from the environment (django_fleet.configure(globals()) does; the rehearsal sets ALLOWED_HOSTS=localhost,127.0.0.1) or pass --host",
    );
}

/** Asks the release in `releaseDir` (its venv, `env`) for ALLOWED_HOSTS and DEBUG. */
export function appHostSettings(releaseDir: string, env: Record<string, string>): { allowedHosts: string[]; debug: boolean } {
    const script = "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({'hosts': list(s.ALLOWED_HOSTS), 'debug': bool(s.DEBUG)}))";
    let out: string;
    try {
        out = execFileSync(path.join(releaseDir, "venv", "bin", "python"), ["-c", script], { cwd: releaseDir, env: { ...process.env, ...env }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    } catch (e) {
        const stderr = String((e as { stderr?: string }).stderr ?? "").trim().split("\n").slice(-5).join("\n");
        throw new Error(`cannot read the app's ALLOWED_HOSTS in ${releaseDir} (pass --host): ${stderr || (e as Error).message}`);
    }
    const parsed = JSON.parse(out.trim().split("\n").pop() ?? "{}") as { hosts: string[]; debug: boolean };
    return { allowedHosts: parsed.hosts, debug: parsed.debug };
}

/** Fails early, naming the version, when `from` or `to` is not in a local repository. */
export function checkVersions(repoUrl: string, versions: string[]): void {
    const dir = repoUrl.replace(/^file:\/\//, "");
    if (!fs.existsSync(dir)) return; // a remote URL: the remote phase's checkout reports it
    for (const v of versions) {
        try {
            execFileSync("git", ["-C", dir, "rev-parse", "--verify", "--quiet", `${v}^{commit}`], { stdio: "ignore" });
        } catch {
            throw new Error(`version "${v}" is not a tag, branch or commit of ${dir}`);
        }
    }
}

/** The settings module manage.py names (DJANGO_SETTINGS_MODULE default) at `version`. */
export function settingsModuleOf(repoUrl: string, version: string): string {
    let manage: string;
    try {
        const dir = repoUrl.replace(/^file:\/\//, "");
        manage = execFileSync("git", ["-C", dir, "show", `${version}:manage.py`], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
        throw new Error(`cannot read manage.py of ${version} in ${repoUrl} (pass --settings): ${(e as Error).message.split("\n")[0]}`);
    }
    const m = /DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']/.exec(manage);
    if (!m) throw new Error(`manage.py of ${version} names no DJANGO_SETTINGS_MODULE default: pass --settings`);
    return m[1];
}

/** The SQLite settings layered over the app's own settings module. */
export function sqliteSettings(base: string, dbPath: string): string {
    return [
        `"""The rehearsal's database: SQLite, shared by the management instance and the fleet."""`,
        `from ${base} import *  # noqa: F401,F403`,
        ``,
        `DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ${JSON.stringify(dbPath)}, "OPTIONS": {"timeout": 30}}}`,
        ``,
    ].join("\n");
}
