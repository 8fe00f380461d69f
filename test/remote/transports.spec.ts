/** The local and SSH transports for real (bash; OpenSSH on 127.0.0.1 with a fresh host key). */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Remote } from "../../providers/release/ports";
import { RemoteTimeoutError, RemoteTransportError, wrapCommand } from "../../providers/release/remote/errors";
import { LocalRemote } from "../../providers/release/remote/local";
import { HostKeyMismatchError, normalizeFingerprint, sha256Fingerprint, SshRemote } from "../../providers/release/remote/ssh";
import { SshdService, startSshd } from "../../testkit/services";

/** True when the process exists and is not a zombie (killed children may wait for a reaper). */
function running(pid: number): boolean {
    try {
        return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

/** The same behaviour for every transport; `make` starts whatever it needs and returns its cleanup. */
function behavesLikeATransport(name: string, make: () => Promise<{ remote: Remote; cleanup: () => Promise<void> }>) {
    describe(`${name}: common behaviour`, function () {
        let remote: Remote;
        let cleanup: (() => Promise<void>) | undefined;
        before(async () => ({ remote, cleanup } = await make()));
        after(async () => cleanup?.());

        it("returns stdout, stderr and the exit code, never rejecting for a non-zero exit", async function () {
            const r = await remote.run(`echo out; echo err >&2; exit 7`);
            assert.equal(r.exitCode, 7);
            assert.equal(r.stdout, "out\n");
            assert.equal(r.stderr, "err\n");
            assert.ok(r.durationMs >= 0);
        });

        it("runs with bash semantics (pipefail, arrays, [[ ]])", async function () {
            const r = await remote.run(`set -o pipefail; a=(x y); [[ \${a[1]} == y ]] && echo yes; false | true`);
            assert.equal(r.stdout, "yes\n");
            assert.equal(r.exitCode, 1);
        });

        it("streams complete lines as they arrive, before the command ends", async function () {
            const seen: { line: string; stream: string; at: number }[] = [];
            const started = Date.now();
            const r = await remote.run(`printf 'one\\ntw'; sleep 0.8; printf 'o\\n'; echo warn >&2; printf 'no newline'`, {
                onLine: (line, stream) => seen.push({ line, stream, at: Date.now() - started }),
            });
            assert.deepEqual(seen.map((s) => `${s.stream}:${s.line}`).sort(), ["stderr:warn", "stdout:no newline", "stdout:one", "stdout:two"]);
            const one = seen.find((s) => s.line === "one")!;
            const two = seen.find((s) => s.line === "two")!;
            assert.ok(two.at - one.at >= 300, `"one" came ${one.at} ms, "two" ${two.at} ms after the start`);
            assert.equal(r.stdout, "one\ntwo\nno newline");
        });

        it("keeps multi-byte characters whole", async function () {
            const r = await remote.run(`printf 'caf\\xc3'; sleep 0.1; printf '\\xa9 \\xe2\\x9c\\x93\\n'`);
            assert.equal(r.stdout, "café ✓\n");
        });

        it("a command's own exit 124 before the time-out keeps its code and stderr", async function () {
            const r = await remote.run(`echo own reason >&2; exit 124`, { timeoutS: 30 });
            assert.equal(r.exitCode, 124);
            assert.equal(r.stderr, "own reason\n");
        });

        it("kills the command and its children at the time-out and rejects with the output so far", async function () {
            this.timeout(20000);
            const pidFile = path.join(os.tmpdir(), `fleet-timeout-${process.pid}-${name.replace(/\W/g, "")}.pid`);
            const started = Date.now();
            await assert.rejects(remote.run(`echo started; sleep 30 & echo $! > ${pidFile}; sleep 30`, { timeoutS: 1 }), (e: unknown) => {
                assert.ok(e instanceof RemoteTimeoutError, String(e));
                assert.equal(e.timeoutS, 1);
                assert.equal(e.stdout, "started\n");
                return true;
            });
            assert.ok(Date.now() - started < 8000, `took ${Date.now() - started} ms`);
            // Both transports run on this machine here: the background child must be gone too.
            const child = Number(fs.readFileSync(pidFile, "utf8"));
            fs.rmSync(pidFile);
            await new Promise((r) => setTimeout(r, 200));
            assert.ok(!running(child), `the background child ${child} was killed too`);
        });
    });
}

describe("transports", function () {
    this.timeout(20000);

    it("wrapCommand puts the command under timeout and bash -c, quoted", function () {
        assert.equal(wrapCommand(`echo 'a' "$HOME"`, 30), `timeout --kill-after=10 30 bash -c 'echo '\\''a'\\'' "$HOME"'`);
    });

    describe("local", function () {
        it("describes itself and runs in its working directory with extra environment", async function () {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-local-"));
            try {
                const remote = new LocalRemote({ cwd: dir, env: { FLEET_X: "1" } });
                assert.equal(remote.describe(), `local ${dir}`);
                const r = await remote.run(`pwd; echo $FLEET_X`);
                assert.equal(r.stdout, `${dir}\n1\n`);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("close() stops a running command's whole process group (a subshell and its child) and waits for it", async function () {
            this.timeout(20_000);
            const remote = new LocalRemote({ closeGraceMs: 1000 });
            const lines: string[] = [];
            // A subshell (`; true` keeps bash from exec-ing sleep) whose child prints its pid first.
            const result = remote.run(`( sh -c 'echo child $$; exec sleep 60'; true ); echo never`, { onLine: (l) => lines.push(l) });
            const settled = result.then(
                () => "resolved",
                (e: Error) => e.message,
            );
            const deadline = Date.now() + 5000;
            while (!lines.some((l) => l.startsWith("child "))) {
                assert.ok(Date.now() < deadline, "the command started");
                await new Promise((r) => setTimeout(r, 20));
            }
            const child = Number(lines.find((l) => l.startsWith("child "))!.split(" ")[1]);
            const [group] = remote.runningGroups;
            assert.ok(running(child) && group > 0, "the sleep runs");
            await remote.close();
            assert.ok(!running(child), "the subshell's sleep is gone once close() resolves");
            assert.throws(() => process.kill(-group, 0), /ESRCH/, "the command's process group is empty");
            assert.match(await settled, /closed/, "the interrupted run() rejects");
            assert.deepEqual(lines.includes("never"), false);
        });

        it("close() SIGKILLs a command that ignores SIGTERM after the grace period", async function () {
            this.timeout(20_000);
            const remote = new LocalRemote({ closeGraceMs: 300 });
            const lines: string[] = [];
            const result = remote.run(`trap '' TERM; ( trap '' TERM; echo child $BASHPID; while :; do sleep 0.1; done; true )`, { onLine: (l) => lines.push(l) }).catch((e: Error) => e);
            const deadline = Date.now() + 5000;
            while (!lines.some((l) => l.startsWith("child "))) {
                assert.ok(Date.now() < deadline, "the command started");
                await new Promise((r) => setTimeout(r, 20));
            }
            const child = Number(lines.find((l) => l.startsWith("child "))!.split(" ")[1]);
            const t0 = Date.now();
            await remote.close();
            assert.ok(!running(child), "the subshell is gone");
            assert.ok(Date.now() - t0 >= 300, "SIGTERM was given its grace period");
            assert.ok((await result) instanceof Error);
        });

        it("run() after close() rejects without starting anything", async function () {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-local-"));
            try {
                const remote = new LocalRemote({ cwd: dir });
                assert.equal((await remote.run("true")).exitCode, 0);
                await remote.close();
                await remote.close(); // idempotent
                await assert.rejects(remote.run(`touch started`), /closed/);
                assert.equal(fs.existsSync(path.join(dir, "started")), false);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
    behavesLikeATransport("local", async () => ({ remote: new LocalRemote(), cleanup: async () => undefined }));

    describe("ssh", function () {
        let sshd: SshdService;
        let remote: SshRemote;
        const settings = () => ({ host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256 });

        before(async function () {
            sshd = await startSshd();
            remote = await SshRemote.connect(settings());
        });
        after(async function () {
            await remote?.close();
            await sshd?.stop();
        });

        it("fingerprints a host key as ssh-keygen does", function () {
            const pub = fs.readFileSync(path.join(sshd.dir, "host_ed25519.pub"), "utf8").split(" ")[1];
            assert.equal(sha256Fingerprint(Buffer.from(pub, "base64")), sshd.hostKeySha256);
            assert.equal(normalizeFingerprint(`${sshd.hostKeySha256.slice(7)}=`), sshd.hostKeySha256);
        });

        it("describes itself without secrets and runs every command on one connection", async function () {
            assert.equal(remote.describe(), `ssh root@127.0.0.1:${sshd.port}`);
            const a = await remote.run(`echo $SSH_CONNECTION`);
            const b = await remote.run(`echo $SSH_CONNECTION`);
            assert.match(a.stdout, /^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
            assert.equal(a.stdout, b.stdout, "same client port: same connection");
        });

        it("refuses a server whose host key does not match the pin", async function () {
            const wrong = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU";
            await assert.rejects(SshRemote.connect({ ...settings(), hostKeySha256: wrong }), (e: unknown) => {
                assert.ok(e instanceof HostKeyMismatchError, String(e));
                assert.equal(e.message, `SSH host key mismatch for ssh root@127.0.0.1:${sshd.port}: expected ${wrong}, the server presented ${sshd.hostKeySha256}; refusing to connect`);
                return true;
            });
        });

        it("a key the server does not know is refused, and the error does not echo the key", async function () {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-key-"));
            try {
                execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
                const otherKey = fs.readFileSync(path.join(dir, "k"), "utf8");
                await assert.rejects(SshRemote.connect({ ...settings(), privateKey: otherKey }), (e: unknown) => {
                    assert.ok(e instanceof RemoteTransportError, String(e));
                    assert.match(e.message, /authentication methods failed/);
                    assert.ok(!e.message.includes("PRIVATE KEY") && !e.message.includes(otherKey.split("\n")[1]));
                    return true;
                });
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("a closed port is a transport error naming the destination", async function () {
            await assert.rejects(SshRemote.connect({ ...settings(), port: 1 }), /^RemoteTransportError: ssh root@127\.0\.0\.1:1: connect ECONNREFUSED/);
        });
    });
    behavesLikeATransport("ssh", async () => {
        const sshd = await startSshd();
        try {
            const remote = await SshRemote.connect({ host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256 });
            return {
                remote,
                cleanup: async () => {
                    await remote.close();
                    await sshd.stop();
                },
            };
        } catch (e) {
            await sshd.stop();
            throw e;
        }
    });
});
