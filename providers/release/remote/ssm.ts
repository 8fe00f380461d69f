/**
 * Remote transport over SSM Run Command.
 *
 *  - SendCommand with the AWS-RunShellScript document, one command per call, the command run
 *    as the deploy account (`runuser -u deploy`: the SSM agent runs commands as root, the
 *    release does not need root) and wrapped in `timeout ... bash -c` (exit 124 on time-out; executionTimeout 15 s longer as a
 *    backstop), its outputs kept in /tmp/fleet-ssm-<id> (see ssmScript); then
 *    GetCommandInvocation every pollIntervalMs until the invocation is final.
 *  - Exit code: ResponseCode. Status TimedOut (or exit 124) rejects with RemoteTimeoutError;
 *    Cancelled, or Failed without a response code (StatusDetails Undeliverable, DeliveryTimedOut,
 *    Terminated: the script never ran to completion) reject with RemoteTransportError.
 *  - When stderr was cut, a second short command fetches its last 4,000 bytes (the traceback's
 *    end, where the cause is) from the kept file; the result's stderr is head + marker + tail.
 *  - If the invocation is still running timeoutS + graceS after it was sent, CancelCommand and
 *    reject with RemoteTimeoutError.
 *  - Output limits: GetCommandInvocation returns only the first 24,000 characters of stdout and
 *    the first 8,000 of stderr. Anything past them is cut: the result says `truncated: true` and a
 *    note is added to the progress output. The phase's machine-readable outputs (the migration
 *    plan, the changed static paths) are also written to files in the release directory and
 *    read back in 20,000-character chunks when cut; what is lost is the middle and end of long
 *    pip/migrate logs in the progress output (stderr's first 8,000 characters stay in errors).
 *  - SSM does not stream: output lines are emitted when the command finishes.
 */
import type { SSMClient } from "@aws-sdk/client-ssm";
import type { CommandResult, Remote, RunOptions } from "../ports";
import { RemoteTimeoutError, RemoteTransportError, timedOut, wrapCommand } from "./errors";
import { emitLines } from "./lines";
import { nameCalls } from "../aws/calls";
import { DEPLOY_USER } from "./accounts";

/** GetCommandInvocation's limits on StandardOutputContent and StandardErrorContent. */
export const SSM_STDOUT_LIMIT = 24000;
export const SSM_STDERR_LIMIT = 8000;

export interface SsmRemoteOptions {
    instanceId: string;
    /** Region of the instance; ignored when `client` is given. */
    region?: string;
    /** An SSM client (tests pass one mocked with aws-sdk-client-mock). */
    client?: SSMClient;
    /** @default 1000 */
    pollIntervalMs?: number;
    /** Seconds past the command's time-out before the client gives up and cancels. @default 60 */
    graceS?: number;
    /** SendCommand TimeoutSeconds: how long SSM tries to deliver the command. @default 60 */
    deliveryTimeoutS?: number;
    /** @default 900 */
    defaultTimeoutS?: number;
    /** Names the per-command output directory on the instance (tests pass a fixed one). @default 16 random hex digits */
    newId?: () => string;
    /** The account the commands run as (the agent drops from root to it with runuser). @default "deploy" */
    runAs?: string;
}

const RUNNING = new Set(["Pending", "InProgress", "Delayed", "Cancelling"]);

/** Bytes of a cut stderr fetched back from the instance. */
export const TAIL_BYTES = 4000;

/**
 * The script sent for one command: the command under `timeout ... bash -c`, its stdout and stderr
 * kept in outDir, printed, and outDir removed unless an output is long enough for SSM to cut it
 * (then ssmTailScript fetches stderr's end and removes it).
 */
export function ssmScript(command: string, timeoutS: number, outDir: string, runAs: string = DEPLOY_USER): string {
    if (!/^[a-z_][a-z0-9_-]*$/.test(runAs)) throw new Error(`[runAs] (${runAs}) must be an account name`);
    return [
        `mkdir -p -m 700 ${outDir}`,
        `cd / && runuser -u ${runAs} -- ${wrapCommand(command, timeoutS)} >${outDir}/stdout 2>${outDir}/stderr; code=$?`,
        `cat ${outDir}/stdout; cat ${outDir}/stderr >&2`,
        `if [ "$(wc -c <${outDir}/stdout)" -lt ${SSM_STDOUT_LIMIT} ] && [ "$(wc -c <${outDir}/stderr)" -lt ${SSM_STDERR_LIMIT} ]; then rm -rf ${outDir}; fi`,
        `exit $code`,
    ].join("\n");
}

export function ssmTailScript(outDir: string): string {
    return `tail -c ${TAIL_BYTES} ${outDir}/stderr; rm -rf ${outDir}`;
}

function randomId(): string {
    return require("crypto").randomBytes(8).toString("hex");
}

export class SsmRemote implements Remote {
    private readonly client: SSMClient;

    constructor(private readonly options: SsmRemoteOptions) {
        if (!options.instanceId) throw new Error("[instanceId] is required for the ssm transport");
        // Required here, not at module scope: the Release provider's code is serialized by Pulumi.
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const { SSMClient: Client } = require("@aws-sdk/client-ssm") as typeof import("@aws-sdk/client-ssm");
        this.client = options.client ?? nameCalls(new Client({ region: options.region }));
    }

    describe(): string {
        return `ssm ${this.options.instanceId}`;
    }

    /** The exact SendCommand input for a script (tested as data). */
    sendCommandInput(script: string, timeoutS: number) {
        return {
            DocumentName: "AWS-RunShellScript",
            InstanceIds: [this.options.instanceId],
            Comment: "django-fleet release: remote phase",
            TimeoutSeconds: this.options.deliveryTimeoutS ?? 60,
            Parameters: {
                commands: [script],
                executionTimeout: [String(timeoutS + 15)],
            },
        };
    }

    async run(command: string, opts: RunOptions = {}): Promise<CommandResult> {
        const started = Date.now();
        const timeoutS = opts.timeoutS ?? this.options.defaultTimeoutS ?? 900;
        const outDir = `/tmp/fleet-ssm-${(this.options.newId ?? randomId)()}`;
        const inv = await this.invoke(ssmScript(command, timeoutS, outDir, this.options.runAs), timeoutS);
        let { stdout, stderr } = inv;
        const truncated = stdout.length >= SSM_STDOUT_LIMIT || stderr.length >= SSM_STDERR_LIMIT;
        if (truncated && stderr.length >= SSM_STDERR_LIMIT) {
            // The cause of a failure is at the end of stderr: fetch it from the file the script kept.
            const rest = await this.invoke(ssmTailScript(outDir), 60).catch(() => null);
            if (rest && rest.code === 0) stderr = `${stderr}\n[... cut by SSM ...]\n${rest.stdout}`;
        } else if (truncated) {
            await this.invoke(`rm -rf ${outDir}`, 60).catch(() => null);
        }
        if (opts.onLine) {
            emitLines(stdout, (l) => opts.onLine!(l, "stdout"));
            emitLines(stderr, (l) => opts.onLine!(l, "stderr"));
            if (truncated) {
                opts.onLine(
                    `[ssm: output cut by SSM: only the first ${SSM_STDOUT_LIMIT} characters of stdout and ${SSM_STDERR_LIMIT} of stderr are returned (plus the last ${TAIL_BYTES} bytes of a cut stderr)]`,
                    "stderr",
                );
            }
        }
        if (inv.status === "TimedOut" || timedOut(inv.code, Date.now() - started, timeoutS)) throw new RemoteTimeoutError(this.describe(), timeoutS, stdout, stderr);
        const result: CommandResult = { exitCode: inv.code, stdout, stderr, durationMs: Date.now() - started };
        if (truncated) result.truncated = true;
        return result;
    }

    /** SendCommand + GetCommandInvocation until final; rejects for transport failures and the client-side deadline. */
    private async invoke(script: string, timeoutS: number): Promise<{ status: string; code: number; stdout: string; stderr: string }> {
        const ssm = require("@aws-sdk/client-ssm") as typeof import("@aws-sdk/client-ssm");
        const started = Date.now();
        const pollMs = this.options.pollIntervalMs ?? 1000;
        const deadline = started + (timeoutS + (this.options.graceS ?? 60)) * 1000;
        const sent = await this.client.send(new ssm.SendCommandCommand(this.sendCommandInput(script, timeoutS)));
        const commandId = sent.Command?.CommandId;
        if (!commandId) throw new RemoteTransportError(`${this.describe()}: SendCommand returned no CommandId`);

        for (;;) {
            await sleep(pollMs);
            let inv;
            try {
                inv = await this.client.send(new ssm.GetCommandInvocationCommand({ CommandId: commandId, InstanceId: this.options.instanceId }));
            } catch (e) {
                // Right after SendCommand the invocation may not exist yet.
                if ((e as { name?: string }).name !== "InvocationDoesNotExist") throw e;
                inv = undefined;
            }
            const status = inv?.Status ?? "Pending";
            if (inv && !RUNNING.has(status)) {
                const code = inv.ResponseCode ?? -1;
                const stdout = inv.StandardOutputContent ?? "";
                const stderr = inv.StandardErrorContent ?? "";
                if (status === "TimedOut") throw new RemoteTimeoutError(this.describe(), timeoutS, stdout, stderr);
                // Failed without a response code: never ran (StatusDetails Undeliverable, DeliveryTimedOut, Terminated...).
                if ((status !== "Success" && status !== "Failed") || code === -1) {
                    throw new RemoteTransportError(
                        `${this.describe()}: command ${commandId} ended ${status}${inv.StatusDetails ? ` (${inv.StatusDetails})` : ""}`,
                    );
                }
                return { status, code, stdout, stderr };
            }
            if (Date.now() > deadline) {
                await this.client
                    .send(new ssm.CancelCommandCommand({ CommandId: commandId, InstanceIds: [this.options.instanceId] }))
                    .catch(() => undefined);
                throw new RemoteTimeoutError(this.describe(), timeoutS, inv?.StandardOutputContent ?? "", inv?.StandardErrorContent ?? "");
            }
        }
    }

    async close(): Promise<void> {
        if (!this.options.client) this.client.destroy();
    }
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}
