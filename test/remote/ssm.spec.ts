/** SSM Run Command transport against aws-sdk-client-mock: exact parameters, exit codes, limits, time-outs. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import {
    CancelCommandCommand,
    GetCommandInvocationCommand,
    InvocationDoesNotExist,
    SendCommandCommand,
    SSMClient,
} from "@aws-sdk/client-ssm";
import type { CommandInvocationStatus, ServiceInputTypes, ServiceOutputTypes, SSMClientResolvedConfig } from "@aws-sdk/client-ssm";
import { AwsStub, mockClient } from "aws-sdk-client-mock";
import { RemoteTimeoutError, RemoteTransportError } from "../../providers/release/remote/errors";
import { SSM_STDERR_LIMIT, SSM_STDOUT_LIMIT, ssmScript, ssmTailScript, SsmRemote, TAIL_BYTES } from "../../providers/release/remote/ssm";

describe("SSM transport", function () {
    // Created in before(), not at load time: the stub patches SSMClient.prototype for everyone.
    let ssmMock: AwsStub<ServiceInputTypes, ServiceOutputTypes, SSMClientResolvedConfig>;
    let client: SSMClient;
    before(() => (ssmMock = mockClient(SSMClient)));
    beforeEach(() => {
        ssmMock.reset();
        client = new SSMClient({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
        ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
    });
    after(() => ssmMock.restore());

    const remote = (over: Partial<ConstructorParameters<typeof SsmRemote>[0]> = {}) =>
        new SsmRemote({ instanceId: "i-0abc", client, pollIntervalMs: 1, newId: () => "0123abcd", ...over });
    const sentScript = (i: number) => ssmMock.commandCalls(SendCommandCommand)[i].args[0].input.Parameters!.commands![0];

    it("sends AWS-RunShellScript: the command under timeout/bash, outputs kept aside, the execution time-out", async function () {
        ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "Success", ResponseCode: 0, StandardOutputContent: "ok\n", StandardErrorContent: "" });
        await remote().run(`echo 'ok'`, { timeoutS: 120 });
        const calls = ssmMock.commandCalls(SendCommandCommand);
        assert.equal(calls.length, 1);
        assert.deepEqual(calls[0].args[0].input, {
            DocumentName: "AWS-RunShellScript",
            InstanceIds: ["i-0abc"],
            Comment: "django-fleet release: remote phase",
            TimeoutSeconds: 60,
            Parameters: {
                commands: [
                    [
                        `mkdir -p -m 700 /tmp/fleet-ssm-0123abcd`,
                        `cd / && runuser -u deploy -- timeout --kill-after=10 120 bash -c 'echo '\\''ok'\\''' >/tmp/fleet-ssm-0123abcd/stdout 2>/tmp/fleet-ssm-0123abcd/stderr; code=$?`,
                        `cat /tmp/fleet-ssm-0123abcd/stdout; cat /tmp/fleet-ssm-0123abcd/stderr >&2`,
                        `if [ "$(wc -c </tmp/fleet-ssm-0123abcd/stdout)" -lt 24000 ] && [ "$(wc -c </tmp/fleet-ssm-0123abcd/stderr)" -lt 8000 ]; then rm -rf /tmp/fleet-ssm-0123abcd; fi`,
                        `exit $code`,
                    ].join("\n"),
                ],
                executionTimeout: ["135"],
            },
        });
        assert.deepEqual(ssmMock.commandCalls(GetCommandInvocationCommand)[0].args[0].input, { CommandId: "cmd-1", InstanceId: "i-0abc" });
    });

    it("the script runs the command as the deploy account, not as the agent's root (issue 10, finding 2)", function () {
        const dir = `/tmp/fleet-ssm-runas-${process.pid}`;
        const r = spawnSync("bash", ["-c", ssmScript(`id -u; id -un`, 10, dir, "nobody")], { encoding: "utf8" });
        assert.deepEqual([r.status, r.stdout], [0, "65534\nnobody\n"]);
        assert.throws(() => ssmScript("true", 10, dir, "root; rm -rf /"), /\[runAs\] \(root; rm -rf \/\) must be an account name/);
    });

    it("the script keeps the exit code and outputs, and removes its directory unless SSM will cut an output", function () {
        const dir = `/tmp/fleet-ssm-test-${process.pid}`;
        const short = spawnSync("bash", ["-c", ssmScript(`echo out; echo err >&2; exit 3`, 10, dir, "nobody")], { encoding: "utf8" });
        assert.deepEqual([short.status, short.stdout, short.stderr, fs.existsSync(dir)], [3, "out\n", "err\n", false]);
        const long = spawnSync("bash", ["-c", ssmScript(`head -c 9000 /dev/zero | tr '\\0' x >&2; echo >&2; echo the cause >&2; exit 1`, 10, dir, "nobody")], { encoding: "utf8" });
        assert.equal(long.status, 1);
        assert.ok(fs.existsSync(`${dir}/stderr`));
        const tail = spawnSync("bash", ["-c", ssmTailScript(dir)], { encoding: "utf8" });
        assert.equal(tail.stdout.length, TAIL_BYTES);
        assert.ok(tail.stdout.endsWith("x\nthe cause\n"), tail.stdout.slice(-40));
        assert.equal(fs.existsSync(dir), false);
    });

    it("polls while pending (and while the invocation does not exist yet), then returns output and exit code", async function () {
        ssmMock
            .on(GetCommandInvocationCommand)
            .rejectsOnce(new InvocationDoesNotExist({ message: "not yet", $metadata: {} }))
            .resolvesOnce({ Status: "Pending" })
            .resolvesOnce({ Status: "InProgress" })
            .resolves({ Status: "Failed", ResponseCode: 3, StandardOutputContent: "a\nb\n", StandardErrorContent: "oops\n" });
        const lines: string[] = [];
        const result = await remote().run("false", { onLine: (l, s) => lines.push(`${s}:${l}`) });
        assert.equal(result.exitCode, 3);
        assert.equal(result.stdout, "a\nb\n");
        assert.equal(result.stderr, "oops\n");
        assert.equal(result.truncated, undefined);
        assert.deepEqual(lines, ["stdout:a", "stdout:b", "stderr:oops"]);
        assert.equal(ssmMock.commandCalls(GetCommandInvocationCommand).length, 4);
        assert.equal(remote().describe(), "ssm i-0abc");
    });

    it("reports output cut at SSM's limits as truncated, and removes the kept outputs", async function () {
        ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "Success", ResponseCode: 0, StandardOutputContent: "x".repeat(SSM_STDOUT_LIMIT), StandardErrorContent: "" });
        const lines: string[] = [];
        const result = await remote().run("yes | head -c 100000", { onLine: (l) => lines.push(l) });
        assert.equal(result.truncated, true);
        assert.equal(result.stdout.length, 24000);
        assert.equal(
            lines[lines.length - 1],
            "[ssm: output cut by SSM: only the first 24000 characters of stdout and 8000 of stderr are returned (plus the last 4000 bytes of a cut stderr)]",
        );
        assert.equal(sentScript(1), "rm -rf /tmp/fleet-ssm-0123abcd");
    });

    it("fetches the end of a cut stderr (where the cause is) with a second command", async function () {
        ssmMock.on(SendCommandCommand).resolvesOnce({ Command: { CommandId: "cmd-1" } }).resolves({ Command: { CommandId: "cmd-2" } });
        ssmMock.on(GetCommandInvocationCommand, { CommandId: "cmd-1" }).resolves({ Status: "Failed", ResponseCode: 1, StandardOutputContent: "", StandardErrorContent: "e".repeat(SSM_STDERR_LIMIT) });
        ssmMock.on(GetCommandInvocationCommand, { CommandId: "cmd-2" }).resolves({ Status: "Success", ResponseCode: 0, StandardOutputContent: "eee\nValueError: the cause\n" });
        const failed = await remote().run("x");
        assert.equal(failed.truncated, true);
        assert.equal(failed.exitCode, 1);
        assert.equal(failed.stderr, `${"e".repeat(SSM_STDERR_LIMIT)}\n[... cut by SSM ...]\neee\nValueError: the cause\n`);
        assert.equal(sentScript(1), ssmTailScript("/tmp/fleet-ssm-0123abcd"));
    });

    it("a TimedOut invocation or exit 124 rejects with RemoteTimeoutError", async function () {
        ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "TimedOut", ResponseCode: -1, StandardOutputContent: "partial\n" });
        await assert.rejects(remote().run("sleep 999", { timeoutS: 5 }), (e: unknown) => e instanceof RemoteTimeoutError && e.timeoutS === 5 && e.stdout === "partial\n");
        // 124 once the time-out has passed: timeout(1) killed it.
        ssmMock.on(GetCommandInvocationCommand).callsFake(async () => {
            await new Promise((r) => setTimeout(r, 60));
            return { Status: "Failed", ResponseCode: 124 };
        });
        await assert.rejects(remote().run("sleep 999", { timeoutS: 0.05 }), RemoteTimeoutError);
    });

    it("a command's own exit 124 before the time-out is its exit code, not a time-out", async function () {
        ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "Failed", ResponseCode: 124, StandardErrorContent: "the command's own reason\n" });
        const r = await remote().run("exit 124", { timeoutS: 60 });
        assert.equal(r.exitCode, 124);
        assert.equal(r.stderr, "the command's own reason\n");
    });

    it("gives up past the time-out plus grace: cancels the command and rejects", async function () {
        ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "InProgress" });
        ssmMock.on(CancelCommandCommand).resolves({});
        const started = Date.now();
        await assert.rejects(remote({ graceS: 0, pollIntervalMs: 20 }).run("sleep 999", { timeoutS: 0.2 }), /command timed out after 0.2 s on ssm i-0abc/);
        assert.ok(Date.now() - started < 2000);
        assert.deepEqual(ssmMock.commandCalls(CancelCommandCommand)[0].args[0].input, { CommandId: "cmd-1", InstanceIds: ["i-0abc"] });
    });

    it("cancelled, undeliverable or terminated invocations reject with the status and details", async function () {
        const cases: [CommandInvocationStatus, string | undefined, string][] = [
            ["Cancelled", undefined, "ended Cancelled"],
            ["Failed", "Undeliverable", "ended Failed (Undeliverable)"],
            ["Failed", "Terminated", "ended Failed (Terminated)"],
        ];
        for (const [Status, StatusDetails, expected] of cases) {
            ssmMock.on(GetCommandInvocationCommand).resolves({ Status, StatusDetails, ResponseCode: -1 });
            await assert.rejects(remote().run("true"), (e: unknown) => e instanceof RemoteTransportError && e.message === `ssm i-0abc: command cmd-1 ${expected}`);
        }
    });

    it("other API errors are not swallowed", async function () {
        ssmMock.on(GetCommandInvocationCommand).rejects(Object.assign(new Error("User is not authorized to perform ssm:GetCommandInvocation"), { name: "AccessDeniedException" }));
        await assert.rejects(remote().run("true"), /not authorized/);
    });
});
