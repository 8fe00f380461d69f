/**
 * moto 5.2.3, an independent AWS API emulator (../shared/vendor/README.md), for wire-level tests:
 * the product's real SDK v3 clients, in this process or another one (Pulumi's provider host), talk
 * to it through `AWS_ENDPOINT_URL` (motoEnv()).
 *
 * startMoto() runs `.cache/moto/server` (written by scripts/setup.sh) on a free 127.0.0.1 port,
 * waits until it answers, and puts a small loopback proxy in front of it, on its own free
 * 127.0.0.1 port: `endpoint` is the proxy (what the code under test uses), `motoEndpoint` moto
 * itself. stop() stops both; it is safe to call twice and after a failed start.
 *
 * The proxy forwards every request unchanged except where moto 5.2.3 departs from AWS in a way a
 * test depends on. TEST SUPPORT ONLY: nothing here may move into product code. Corrected:
 *
 *  1. ec2:CreateImage with a TagSpecifications entry for `snapshot` fails with HTTP 500.
 *     The proxy drops the snapshot entry, forwards the call and then tags the image's snapshots
 *     itself (ec2:DescribeImages, ec2:CreateTags), which is what AWS does in one call.
 *  2. autoscaling:DescribeAutoScalingGroups (and DescribeAutoScalingInstances) report every
 *     instance's LaunchTemplate.Version as the template's current default. The proxy replaces
 *     each instance's version with its EC2 tag `aws:ec2launchtemplate:version`
 *     (ec2:DescribeInstances), which moto sets right.
 *  3. ec2:CreateLaunchTemplateVersion ignores ClientToken. The proxy answers a repeat with the
 *     same template and token with the first call's response (AWS: the same version again).
 *  4. CloudFront invalidations report status `COMPLETED` (AWS: `Completed`), so the SDK's waiter
 *     never sees one finish. The proxy rewrites the status in CloudFront responses.
 *  5. Auto Scaling calls on a group or instance that does not exist (measured: CreateOrUpdateTags,
 *     DeleteTags, SetDesiredCapacity, Suspend/ResumeProcesses, TerminateInstanceInAutoScalingGroup)
 *     fail with HTTP 500 and an HTML page, which the SDK retries and cannot parse. The proxy answers HTTP 400 ValidationError, as AWS does, with
 *     "AutoScalingGroup name not found - AutoScalingGroup <name> not found" or "Instance Id not
 *     found - No managed instance found for instance ID: <id>" (the first is the proxy's wording).
 *  6. elbv2:DeleteRule of a rule that does not exist succeeds (AWS: RuleNotFound). The proxy answers
 *     with moto's own RuleNotFound error for that ARN (from elbv2:DescribeRules).
 *
 * Not corrected (tests judge results around them and never rely on them):
 *  - registered targets are `healthy` at once and never `draining`; targets of instances gone
 *    from the group may stay `healthy`;
 *  - launching from a launch-template version that has UserData fails with HTTP 500 (moto keeps
 *    the parameter as a plain string and asserts it is a Base64EncodedString): the moto world's
 *    base template has no UserData (test/support/moto-world.ts);
 *  - autoscaling:DescribeScalingActivities always answers an empty list (AWS lists every launch
 *    and termination, failed ones with their StatusMessage);
 *  - UpdateAutoScalingGroup accepts MaxSize < MinSize, SetDesiredCapacity a capacity above MaxSize,
 *    Suspend/ResumeProcesses an unknown process name (AWS: ValidationError each);
 *  - CloudFront CreateInvalidation ignores CallerReference (AWS: the same reference with the same
 *    paths returns the existing invalidation, with other paths InvalidationBatchAlreadyExists)
 *    and accepts a path without a leading "/" (AWS: InvalidArgument);
 *  - instances launched from a template get its tags but not its MetadataOptions (IMDSv2
 *    "required" in the template, "optional" on the instance);
 *  - SSM Run Command accepts commands and never runs them; Instance Refresh is not implemented;
 *  - ec2:DescribeSnapshots' InvalidSnapshot.NotFound carries no message (the SDK says "UnknownError");
 *  - instances get private 10.x/172.x addresses: never connect to them.
 *
 * `requests` counts what the proxy saw per "service:Action" (for assertions and figures);
 * `corrections` counts how often each correction above applied.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as path from "path";
import { createProxy } from "./moto-proxy";
import { freePort } from "../../testkit/services";

export const MOTO_VERSION = "5.2.3";
export const REPO_ROOT = path.resolve(__dirname, "..", "..");
/** The launcher scripts/setup.sh writes: `server -H 127.0.0.1 -p PORT`. */
export const MOTO_LAUNCHER = path.join(REPO_ROOT, ".cache", "moto", "server");
export const MOTO_REGION = "us-east-1";

export interface Moto {
    /** The correcting proxy: what the code under test uses (AWS_ENDPOINT_URL). */
    endpoint: string;
    /** moto itself, uncorrected. */
    motoEndpoint: string;
    /** Milliseconds from spawning moto to its first answer. */
    startupMs: number;
    requests: Record<string, number>;
    corrections: Record<string, number>;
    /** moto's stdout and stderr so far (for failure messages). */
    log(): string;
    stop(): Promise<void>;
}

/** The environment that points the SDK at moto: set it only in tests (and a host they start). */
export function motoEnv(moto: Pick<Moto, "endpoint">): Record<string, string> {
    return {
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        AWS_REGION: MOTO_REGION,
        AWS_EC2_METADATA_DISABLED: "true",
    };
}

/** Sets `env` on process.env; the returned function restores what was there. */
export function withEnv(env: Record<string, string>): () => void {
    const saved: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(env)) {
        saved[k] = process.env[k];
        process.env[k] = v;
    }
    return () => {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    };
}

export function assertMotoInstalled(): void {
    if (!fs.existsSync(MOTO_LAUNCHER)) {
        throw new Error(
            `moto ${MOTO_VERSION} is not set up: ${MOTO_LAUNCHER} does not exist. ` +
                `Run "bash scripts/setup.sh" (it unpacks ../shared/vendor/moto-${MOTO_VERSION}.tar.gz, else pip-installs moto[server]==${MOTO_VERSION}).`,
        );
    }
}

export async function startMoto(opts: { startTimeoutMs?: number } = {}): Promise<Moto> {
    assertMotoInstalled();
    const port = await freePort();
    const motoEndpoint = `http://127.0.0.1:${port}`;
    let output = "";
    const started = Date.now();
    const child: ChildProcess = spawn(MOTO_LAUNCHER, ["-H", "127.0.0.1", "-p", String(port)], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, PYTHONUNBUFFERED: "1" },
    });
    const keep = (b: Buffer) => {
        output += b.toString();
        if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    let exited: string | null = null;
    child.on("exit", (code, signal) => (exited = `exited with ${code ?? signal}`));
    child.on("error", (e) => (exited = `could not be started (${MOTO_LAUNCHER}): ${e.message}`));

    let proxy: http.Server | null = null;
    const stop = async () => {
        if (proxy) {
            const p = proxy;
            proxy = null;
            p.closeAllConnections();
            await new Promise<void>((r) => p.close(() => r()));
        }
        if (child.exitCode === null && child.signalCode === null) {
            const gone = new Promise<void>((r) => child.once("exit", () => r()));
            child.kill("SIGTERM");
            const t = setTimeout(() => child.kill("SIGKILL"), 3000);
            await gone;
            clearTimeout(t);
        }
    };

    try {
        const deadline = started + (opts.startTimeoutMs ?? 30_000);
        for (;;) {
            if (exited) throw new Error(`moto ${exited} before answering:\n${output}`);
            const ok = await fetch(`${motoEndpoint}/moto-api/`).then((r) => r.ok, () => false);
            if (ok) break;
            if (Date.now() > deadline) throw new Error(`moto did not answer on ${motoEndpoint} within ${opts.startTimeoutMs ?? 30_000} ms:\n${output}`);
            await new Promise((r) => setTimeout(r, 50));
        }
        const startupMs = Date.now() - started;
        const state = createProxy(motoEndpoint);
        proxy = state.server;
        const proxyPort = await freePort();
        await new Promise<void>((resolve, reject) => {
            state.server.once("error", reject);
            state.server.listen(proxyPort, "127.0.0.1", () => resolve());
        });
        return {
            endpoint: `http://127.0.0.1:${proxyPort}`,
            motoEndpoint,
            startupMs,
            requests: state.requests,
            corrections: state.corrections,
            log: () => output,
            stop,
        };
    } catch (e) {
        await stop();
        throw e;
    }
}
