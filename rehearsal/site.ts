/**
 * The rehearsal's local site, and everything it started: the app's repository, the management
 * instance (<work>/mgmt/app: releases/<version>, current ->, shared/env) driven by the remote
 * phase over the local shell or a private sshd, its own gunicorn (started/HUPed by the phase's
 * restartCommand), the database (SQLite through a settings module layered over the app's own,
 * or a private PostgreSQL), the shared static root (<work>/static, the EFS stand-in) and the
 * LocalCloud (images, launch template, ASG supervisor of gunicorn instances, HAProxy).
 *
 * It owns those processes: stop() ends each of them (whatever start() got to), and once
 * cancel() is called no new remote phase, remote command or executor wait starts.
 */
import * as fs from "fs";
import * as path from "path";
import { normalizeInputs, ReleaseInputs } from "../providers/release/inputs";
import { Clock, RemotePhase } from "../providers/release/ports";
import { LocalCloud } from "./local/cloud";
import { killMentioning, RUN_MARKER_ENV } from "./local/procs";
import { freePort } from "../testkit/services";
import { writeInspectWrapper } from "../testkit/site";
import { createRemotePhase, RemotePhaseSettings } from "../providers/release/remote";
import { LocalRemote } from "../providers/release/remote/local";
import { checkVersions, settingsModuleOf, sqliteSettings } from "./app";
import { StepOutputs } from "./diagnosis";
import { appEnvironment, prepareInspection, writeEnvFile } from "./environment";
import { RehearsalStoppedError, ResolvedOptions } from "./options";
import { REHEARSAL_PYTHON, venvArgsFor } from "./venv";
import { pollingClock } from "./probe";

export class Site {
    readonly appDir: string;
    /** The remote steps' output, for the diagnosis of a failure. */
    readonly stepOutputs = new StepOutputs();
    /** The environment every instance and remote command gets (set by start()). */
    env: Record<string, string> = {};
    cloud: LocalCloud | null = null;
    private pg: { stop(): void } | null = null;
    private sshd: { stop(): Promise<void> } | null = null;
    private phases: RemotePhase[] = [];
    private remote: RemotePhaseSettings | null = null;
    private maxSize = 0;
    private cancelled = false;
    private closing: Promise<void> | null = null;

    constructor(
        private readonly work: string,
        private readonly o: ResolvedOptions,
        private readonly log: (line: string) => void,
    ) {
        this.appDir = path.join(work, "mgmt", "app");
    }

    /** Stands up the management instance, the database and the local cloud (no release yet). */
    async start(): Promise<void> {
        const { o, work, appDir } = this;
        const staticRoot = path.join(work, "static");
        fs.mkdirSync(path.join(appDir, "shared"), { recursive: true });
        fs.mkdirSync(path.join(appDir, "run"), { recursive: true });
        fs.mkdirSync(staticRoot, { recursive: true });

        // The app.
        let repoUrl = o.repo;
        if (!repoUrl) {
            const { buildExampleRepo } = await import("../example/build-repo");
            repoUrl = buildExampleRepo(path.join(work, "repo")).url;
            this.log(`app: the example app (tags v1..v4) in ${path.join(work, "repo")}`);
        } else if (fs.existsSync(repoUrl)) {
            repoUrl = path.resolve(repoUrl);
        }
        checkVersions(repoUrl, [o.from, o.to]);
        const settings = o.settings ?? settingsModuleOf(repoUrl, o.from);
        const wsgi = o.wsgi ?? `${settings.split(".").slice(0, -1).join(".") || settings}.wsgi:application`;

        // The database and the environment every instance gets.
        let settingsModule = settings;
        const pyDir = path.join(work, "python");
        fs.mkdirSync(pyDir, { recursive: true });
        let postgres;
        if (o.database === "sqlite") {
            settingsModule = "fleet_rehearsal_settings";
            fs.writeFileSync(path.join(pyDir, `${settingsModule}.py`), sqliteSettings(settings, path.join(work, "db.sqlite3")));
        } else {
            const { startPostgres } = await import("../testkit/services");
            postgres = await startPostgres();
            this.pg = postgres;
            this.log(`database: private PostgreSQL on 127.0.0.1:${postgres.port}`);
        }
        const env = appEnvironment({ staticRoot, wsgi, installCommand: o.installCommand, settingsModule, postgres, extra: o.env });
        this.env = env;
        writeEnvFile(appDir, env);
        const { inspectDir, inspectEnvFile } = prepareInspection(work, env, o.database === "sqlite" ? path.join(work, "db.sqlite3") : undefined);

        // The local cloud.
        const surgeCount = typeof o.maxSurge === "number" ? o.maxSurge : Math.max(1, Math.ceil((parseFloat(String(o.maxSurge)) / 100) * o.instances));
        this.maxSize = o.instances + surgeCount;
        const cloud = new LocalCloud({
            workDir: path.join(work, "cloud"),
            managementInstances: { "i-management": appDir },
            group: { minSize: 0, maxSize: this.maxSize, desiredCapacity: 0 },
            health: { path: "/health/", intervalS: 1, healthyThreshold: 3, unhealthyThreshold: 2, timeoutS: 2 },
            deregistrationDelayS: 2,
            healthCheckGracePeriodS: 60,
            app: { wsgi, env: { ...env, [RUN_MARKER_ENV]: work }, workers: 2, gracefulTimeoutS: 10 },
            log: (l) => this.log(`    cloud: ${l}`),
        });
        this.cloud = cloud;
        await cloud.start();
        this.log(`load balancer: HAProxy on ${cloud.url} (health ${"/health/"} every 1 s, rise 3, fall 2; deregistration delay 2 s)`);

        // The remote phase on the management instance, over the local shell.
        const mgmtPort = await freePort();
        const pid = path.join(appDir, "run", "gunicorn.pid");
        const startGunicorn = [
            `DJANGO_SETTINGS_MODULE=${settingsModule}`,
            "current/venv/bin/python -m gunicorn --daemon",
            `--pid ${pid} --chdir ${path.join(appDir, "current")} --bind 127.0.0.1:${mgmtPort} --workers 1 --graceful-timeout 5`,
            `--log-file ${path.join(appDir, "run", "gunicorn.log")} ${wsgi}`,
        ].join(" ");
        const remote: RemotePhaseSettings = {
            transport: "local",
            repositoryUrl: repoUrl,
            appDir,
            staticRoot,
            python: REHEARSAL_PYTHON,
            venvArgs: venvArgsFor(o.installCommand),
            // PyPI is not needed: the Debian packages satisfy the requirements. The .pth file puts
            // the rehearsal's settings module on the release's sys.path (it travels in the image).
            installCommand: [
                `( ${o.installCommand} )`,
                `echo ${pyDir} > "$(venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/fleet_rehearsal.pth"`,
                ...(o.slowInstallS ? [`case "$PWD" in */releases/${o.to}) echo "slow install: ${o.slowInstallS} s (test hook)"; ( sleep ${o.slowInstallS}; true ) ;; esac`] : []),
            ].join(" && "),
            restartCommand: `if [ -f ${pid} ] && kill -0 "$(cat ${pid})" 2>/dev/null; then kill -HUP "$(cat ${pid})"; else ${startGunicorn}; fi`,
            healthUrl: `http://127.0.0.1:${mgmtPort}/health/`,
            settingsModule,
            keepReleases: 3,
            commandTimeoutS: 300,
            healthTimeoutS: 30,
            // The boot script's wrapper: the candidate's code runs as nobody with the static root hidden.
            inspectAs: writeInspectWrapper(work, staticRoot),
            inspectDir,
            inspectEnvFile,
        };
        if (o.transport === "ssh") {
            const { startSshd } = await import("../testkit/services");
            const sshd = await startSshd();
            this.sshd = sshd;
            remote.transport = "ssh";
            remote.ssh = { host: sshd.host, port: sshd.port, user: sshd.user, privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256 };
            this.log(`management instance: over SSH to ${sshd.user}@127.0.0.1:${sshd.port} (host key ${sshd.hostKeySha256} pinned)`);
        }
        this.remote = remote;
    }

    /**
     * A remote phase on the management instance. Every remote command carries the run's marker in
     * its environment (procs.ts finds what outlives a cleanup by it); a closed LocalRemote (cancel
     * closes the phases) rejects any further command, so a phase's fallback (switch back +
     * restart) cannot start anything.
     */
    readonly remotePhase = async (): Promise<RemotePhase> => {
        if (this.cancelled) throw new RehearsalStoppedError();
        if (!this.remote) throw new Error("Site.start() first");
        // Over the local shell every remote command gets the app's environment too (over SSH the
        // app reads it from shared/env, as on an instance).
        const transport = this.o.transport === "ssh" ? {} : { remote: new LocalRemote({ cwd: this.appDir, defaultTimeoutS: 300, env: { ...this.env, [RUN_MARKER_ENV]: this.work } }) };
        const phase = await createRemotePhase(this.remote, transport);
        if (this.cancelled) {
            await phase.close().catch(() => undefined);
            throw new RehearsalStoppedError();
        }
        this.phases.push(phase);
        return this.stepOutputs.wrap(phase);
    };

    /** The Release's inputs for `version` on this site. */
    inputs(version: string, healthyTimeoutS = this.o.healthyTimeoutS): ReleaseInputs {
        const cloud = this.cloud;
        if (!cloud || !this.remote) throw new Error("Site.start() first");
        const o = this.o;
        const { inputs, failures } = normalizeInputs({
            version,
            baseLaunchTemplateId: cloud.launchTemplateId,
            baseLaunchTemplateVersion: 1,
            autoScalingGroupName: cloud.groupName,
            targetGroupArn: cloud.targetGroupArn,
            listenerArn: cloud.listenerArn,
            managementInstanceId: "i-management",
            distributionId: "local-cdn",
            region: "local",
            capacity: { minSize: 1, maxSize: this.maxSize, desiredCapacity: o.instances },
            remote: this.remote,
            rollout: { maxSurge: o.maxSurge, bakeTimeoutS: 120, healthyTimeoutS, drainTimeoutS: 30, lockTtlS: 600, pollIntervalS: 0.5 },
            migrationPolicy: o.migrationPolicy,
            keepImages: 3,
            providerVersion: "rehearsal",
        });
        if (failures.length) throw new Error(`invalid release inputs: ${failures.map((f) => f.reason).join("; ")}`);
        return inputs;
    }

    /** The executor's clock: pollingClock(), whose sleeps reject once cancel() was called. */
    clock(): Clock {
        const c = pollingClock();
        return {
            now: c.now,
            sleep: async (ms) => {
                if (this.cancelled) throw new RehearsalStoppedError();
                await c.sleep(ms);
                if (this.cancelled) throw new RehearsalStoppedError();
            },
        };
    }

    /** No new step starts; the remote phases are closed (their running commands stopped). */
    cancel(): Promise<void> {
        if (!this.closing) {
            this.cancelled = true;
            this.closing = Promise.allSettled(this.phases.map((p) => p.close())).then(() => undefined);
        }
        return this.closing;
    }

    /** Stops every process the site started (after cancel()). */
    async stop(): Promise<void> {
        await this.cancel();
        if (this.cloud) await this.cloud.stop().catch((e) => this.log(`cleanup: ${(e as Error).message}`));
        // The management instance's gunicorn (a daemon started by the restart command) and any
        // remote command still running: everything whose command line names the work directory.
        const killed = await killMentioning(this.work);
        if (killed.length) this.log(`cleanup: stopped ${killed.length} more process(es) of the run`);
        if (this.sshd) await this.sshd.stop().catch((e) => this.log(`cleanup: sshd: ${(e as Error).message}`));
        if (this.pg) {
            try {
                this.pg.stop();
            } catch (e) {
                this.log(`cleanup: PostgreSQL: ${(e as Error).message}`);
            }
        }
    }
}
