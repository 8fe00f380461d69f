/**
 * A tiny WSGI app laid out like a management instance (<app>/releases/<name>, current ->),
 * for the local cloud's unit tests: every page answers "release <name>"; /health/ answers 503
 * while the file <release>/unhealthy exists.
 */
import * as fs from "fs";
import * as path from "path";

const APP = `import os
HERE = os.path.dirname(os.path.abspath(__file__))
RELEASE = os.path.basename(HERE)

def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    status = "200 OK"
    if path == "/health/" and os.path.exists(os.path.join(HERE, "unhealthy")):
        status = "503 Service Unavailable"
    body = ("release %s %s %s\\n" % (RELEASE, path, os.environ.get("INSTANCE_ID", "-"))).encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), ("X-Release", RELEASE)])
    return [body]
`;

/** Writes <appDir>/releases/<release>/tinyapp.py and points current at it. */
export function writeTinyRelease(appDir: string, release: string): string {
    const dir = path.join(appDir, "releases", release);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "tinyapp.py"), APP);
    const current = path.join(appDir, "current");
    fs.rmSync(current, { force: true });
    fs.symlinkSync(path.join("releases", release), current);
    return dir;
}
