/**
 * Benchmark: the remote phase v1 -> v2 over ssh2, against the same commands run as a bare ssh2
 * sequence (one connection, one exec per command, stop at the first non-zero exit: what a
 * hand-written deploy script does). Both include connecting; both run against the same state:
 * before every run the site is put back on v1 (migration 0002 unapplied, releases/v2 removed,
 * current -> v1, app server reloaded).
 *
 *   npm run bench:remote                 # a table
 *   npm run bench:remote -- --json       # one JSON object: {"remoteS", "bareS", "ratio"} (medians)
 *   npm run bench:remote -- --runs 9     # runs per variant (default 7, at least 5)
 *
 * Goal: ratio <= 1.2.
 */
import type { CommandResult, Remote, RunOptions } from "../providers/release/ports";
import { createRemotePhase } from "../providers/release/remote";
import { wrapCommand } from "../providers/release/remote/errors";
import { SshRemote } from "../providers/release/remote/ssh";
import { ExampleSite, httpGet, startExampleSite } from "../testkit/site";

const args = process.argv.slice(2);
const json = args.includes("--json");
const runsArg = args.indexOf("--runs");
const runs = Math.max(5, runsArg >= 0 ? Number(args[runsArg + 1]) : 7);
const say = (line: string) => (json ? process.stderr.write(`${line}\n`) : process.stdout.write(`${line}\n`));

const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const STEP_NAMES = ["checkout", "install", "migrations", "migrate", "collectstatic", "switch", "restart", "health", "prune"];

/** Records the commands the phase sends, to replay them bare. */
class Recorder implements Remote {
    commands: string[] = [];
    constructor(private readonly inner: Remote) {}
    run(command: string, opts?: RunOptions): Promise<CommandResult> {
        this.commands.push(command);
        return this.inner.run(command, opts);
    }
    describe() {
        return this.inner.describe();
    }
    close() {
        return this.inner.close();
    }
}

/** Per-step seconds of one run, in command order. */
type Steps = number[];

async function phaseRun(site: ExampleSite, steps: Steps): Promise<number> {
    const started = process.hrtime.bigint();
    const phase = await createRemotePhase(site.settings);
    await phase.apply("v2", {
        migrationPolicy: "refuse",
        log: (line) => {
            const m = / exit \d+ in ([0-9.]+) s$/.exec(line);
            if (m) steps.push(Number(m[1]));
        },
    });
    await phase.close();
    return Number(process.hrtime.bigint() - started) / 1e9;
}

async function bareRun(site: ExampleSite, commands: string[], steps: Steps): Promise<number> {
    const { Client } = require("ssh2") as typeof import("ssh2");
    const { sha256Fingerprint } = require("../providers/release/remote/ssh") as typeof import("../providers/release/remote/ssh");
    const ssh = site.settings.ssh!;
    const started = process.hrtime.bigint();
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
        client.on("ready", () => resolve()).on("error", reject);
        client.connect({ host: ssh.host, port: ssh.port, username: ssh.user, privateKey: ssh.privateKey, hostVerifier: (key: Buffer) => sha256Fingerprint(key) === ssh.hostKeySha256 });
    });
    for (const command of commands) {
        const t = Date.now();
        const code = await new Promise<number>((resolve, reject) =>
            client.exec(wrapCommand(command, 120), (err, stream) => {
                if (err) return reject(err);
                let exit = -1;
                stream.on("exit", (c: number) => (exit = c));
                stream.on("data", () => undefined);
                stream.stderr.on("data", () => undefined);
                stream.on("close", () => resolve(exit));
            }),
        );
        if (code !== 0) throw new Error(`bare sequence: exit ${code} from ${command.split("\n")[0]}`);
        steps.push((Date.now() - t) / 1000);
    }
    client.end();
    return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Puts the site back on v1: migration 0002 unapplied, releases/v2 gone, current -> v1, app server reloaded. */
async function resetToV1(site: ExampleSite, remote: Remote): Promise<void> {
    const app = site.appDir;
    const r = await remote.run(
        [
            `set -euo pipefail`,
            `cd ${app}/releases/v2 && venv/bin/python manage.py migrate catalog 0001 --noinput -v 0`,
            `cd ${app} && ln -sfn releases/v1 .current.tmp && mv -T .current.tmp current`,
            `kill -HUP "$(cat ${site.mgmtPidFile})"`,
        ].join("\n"),
    );
    if (r.exitCode !== 0) throw new Error(`reset failed: ${r.stderr}`);
    const deadline = Date.now() + 20000;
    for (;;) {
        const answer = await httpGet(site.mgmtPort, "/health/", "127.0.0.1").catch(() => null);
        if (answer?.status === 200 && JSON.parse(answer.body).release === "v1") break;
        if (Date.now() > deadline) throw new Error("the site did not come back on v1");
        await new Promise((res) => setTimeout(res, 100));
    }
    // Only now remove releases/v2: until the reload the gunicorn master's working directory is
    // in it, and a reload whose cwd is gone makes gunicorn exit (os.getcwd() fails).
    const rm = await remote.run(`rm -rf ${app}/releases/v2`);
    if (rm.exitCode !== 0) throw new Error(`reset failed: ${rm.stderr}`);
    // Let the HUPed workers finish their graceful exit before measuring.
    await new Promise((res) => setTimeout(res, 500));
}

async function main() {
    const site = await startExampleSite({ keepReleases: 5 });
    const control = await SshRemote.connect(site.settings.ssh!);
    try {
        say(`bench:remote: example site in ${site.work}, sshd 127.0.0.1:${site.sshd.port}, PostgreSQL 127.0.0.1:${site.pg.port}`);
        const first = await createRemotePhase(site.settings);
        await first.apply("v1", { migrationPolicy: "refuse", log: () => undefined });
        await first.close();

        // Warm-up run through a recorder: the exact command list of v1 -> v2.
        const recorder = new Recorder(await SshRemote.connect(site.settings.ssh!));
        const recorded = await createRemotePhase(site.settings, { remote: recorder });
        await recorded.apply("v2", { migrationPolicy: "refuse", log: () => undefined });
        await recorded.close();
        const commands = recorder.commands;
        say(`bench:remote: ${commands.length} commands per release, ${runs} runs of each variant, interleaved`);

        const phaseTimes: number[] = [];
        const bareTimes: number[] = [];
        const phaseSteps: Steps[] = [];
        const bareSteps: Steps[] = [];
        for (let i = 0; i < runs; i++) {
            await resetToV1(site, control);
            phaseSteps.push([]);
            phaseTimes.push(await phaseRun(site, phaseSteps[i]));
            await resetToV1(site, control);
            bareSteps.push([]);
            bareTimes.push(await bareRun(site, commands, bareSteps[i]));
            say(`  run ${i + 1}: phase ${phaseTimes[i].toFixed(2)} s, bare ${bareTimes[i].toFixed(2)} s`);
        }
        const remoteS = Number(median(phaseTimes).toFixed(3));
        const bareS = Number(median(bareTimes).toFixed(3));
        const ratio = Number((remoteS / bareS).toFixed(3));
        if (json) {
            process.stdout.write(`${JSON.stringify({ remoteS, bareS, ratio })}\n`);
        } else {
            say(``);
            say(`remote phase v1 -> v2 over ssh2 (median of ${runs}): ${remoteS.toFixed(2)} s`);
            say(`bare ssh2 sequence, same commands (median of ${runs}): ${bareS.toFixed(2)} s`);
            say(`ratio: ${ratio.toFixed(2)}x (goal <= 1.2x) ${ratio <= 1.2 ? "OK" : "OVER"}`);
            say(``);
            say(`per command (medians, s):  phase   bare`);
            commands.forEach((command, k) => {
                const label = STEP_NAMES[k] ?? command.split("\n")[0].slice(0, 20);
                say(`  ${label.padEnd(22)} ${median(phaseSteps.map((st) => st[k] ?? NaN)).toFixed(2).padStart(6)} ${median(bareSteps.map((st) => st[k] ?? NaN)).toFixed(2).padStart(6)}`);
            });
        }
    } finally {
        await control.close();
        await site.stop();
    }
}

main().catch((e) => {
    process.stderr.write(`bench:remote failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
});

