/**
 * Remote transport over SSM Run Command.
 *
 *  - SendCommand with the AWS-RunShellScript document, one command per call, the command
 *    wrapped in `timeout ... bash -c` (exit 124 on time-out) and executionTimeout set to the
 *    same limit; then GetCommandInvocation every pollIntervalMs until the invocation is final.
 *  - Exit code: ResponseCode. Status TimedOut (or exit 124) rejects with RemoteTimeoutError;
 *    Cancelled, or Failed without a response code (StatusDetails Undeliverable, DeliveryTimedOut,
 *    Terminated: the script never ran to completion) reject with RemoteTransportError.
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
import { RemoteTimeoutError, RemoteTransportError, TIMEOUT_EXIT, wrapCommand } from "./errors";
import { emitLines } from "./lines";

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
}

const RUNNING = new Set(["Pending", "InProgress", "Delayed", "Cancelling"]);

export class SsmRemote implements Remote {
    private readonly client: SSMClient;

    constructor(private readonly options: SsmRemoteOptions) {
        if (!options.instanceId) throw new Error("[instanceId] is required for the ssm transport");
        // Required here, not at module scope: the Release provider's code is serialized by Pulumi.
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const { SSMClient: Client } = require("@aws-sdk/client-ssm") as typeof import("@aws-sdk/client-ssm");
        this.client = options.client ?? new Client({ region: options.region });
    }

    describe(): string {
        return `ssm ${this.options.instanceId}`;
    }

    /** The exact SendCommand input for a command (tested as data). */
    sendCommandInput(command: string, timeoutS: number) {
        return {
            DocumentName: "AWS-RunShellScript",
            InstanceIds: [this.options.instanceId],
            Comment: "django-fleet release: remote phase",
            TimeoutSeconds: this.options.deliveryTimeoutS ?? 60,
            Parameters: {
                commands: [wrapCommand(command, timeoutS)],
                executionTimeout: [String(timeoutS + 5)],
            },
        };
    }

    async run(command: string, opts: RunOptions = {}): Promise<CommandResult> {
        const ssm = require("@aws-sdk/client-ssm") as typeof import("@aws-sdk/client-ssm");
        const started = Date.now();
        const timeoutS = opts.timeoutS ?? this.options.defaultTimeoutS ?? 900;
        const pollMs = this.options.pollIntervalMs ?? 1000;
        const deadline = started + (timeoutS + (this.options.graceS ?? 60)) * 1000;
        const sent = await this.client.send(new ssm.SendCommandCommand(this.sendCommandInput(command, timeoutS)));
        const commandId = sent.Command?.CommandId;
        if (!commandId) throw new RemoteTransportError(`${this.describe()}: SendCommand returned no CommandId`);

        for (;;) {
            await sleep(pollMs);
            let inv;
            try {
                inv = await this.client.send(
                    new ssm.GetCommandInvocationCommand({ CommandId: commandId, InstanceId: this.options.instanceId }),
                );
            } catch (e) {
                // Right after SendCommand the invocation may not exist yet.
                if ((e as { name?: string }).name !== "InvocationDoesNotExist") throw e;
                inv = undefined;
            }
            const status = inv?.Status ?? "Pending";
            if (inv && !RUNNING.has(status)) {
                const stdout = inv.StandardOutputContent ?? "";
                const stderr = inv.StandardErrorContent ?? "";
                const truncated = stdout.length >= SSM_STDOUT_LIMIT || stderr.length >= SSM_STDERR_LIMIT;
                if (opts.onLine) {
                    emitLines(stdout, (l) => opts.onLine!(l, "stdout"));
                    emitLines(stderr, (l) => opts.onLine!(l, "stderr"));
                    if (truncated) {
                        opts.onLine(
                            `[ssm: output cut by SSM: only the first ${SSM_STDOUT_LIMIT} characters of stdout and ${SSM_STDERR_LIMIT} of stderr are returned]`,
                            "stderr",
                        );
                    }
                }
                const code = inv.ResponseCode ?? -1;
                if (status === "TimedOut" || code === TIMEOUT_EXIT) {
                    throw new RemoteTimeoutError(this.describe(), timeoutS, stdout, stderr);
                }
                // Failed without a response code: never ran (StatusDetails Undeliverable, DeliveryTimedOut, Terminated...).
                if ((status !== "Success" && status !== "Failed") || code === -1) {
                    throw new RemoteTransportError(
                        `${this.describe()}: command ${commandId} ended ${status}${inv.StatusDetails ? ` (${inv.StatusDetails})` : ""}`,
                    );
                }
                const result: CommandResult = { exitCode: code, stdout, stderr, durationMs: Date.now() - started };
                if (truncated) result.truncated = true;
                return result;
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
