/**
 * Waits until an EC2 instance has finished its first boot, for the management instance's
 * @pulumi/command `local.Command` (components/managementInstance.ts):
 *  1. EC2 status checks ok (SDK waiter waitUntilInstanceStatusOk);
 *  2. the SSM agent (installed by the boot script) is online;
 *  3. `cloud-init status --wait` over SSM Run Command: exits 0 when the boot script succeeded.
 * Prints the instance id on success; on failure exits 1 with the boot log's tail on stderr.
 *
 * Environment: INSTANCE_ID, AWS_REGION, BOOT_TIMEOUT_S (default 1800).
 */
import { EC2Client, waitUntilInstanceStatusOk } from "@aws-sdk/client-ec2";
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";

export interface WaitForBootOptions {
    readonly instanceId: string;
    readonly timeoutS: number;
    readonly ec2: EC2Client;
    readonly ssm: SSMClient;
    /** @default 10 s between SSM agent checks, 5 s between command checks */
    readonly pollMs?: { readonly agent: number; readonly command: number };
    readonly log?: (line: string) => void;
    readonly now?: () => number;
    readonly sleep?: (ms: number) => Promise<void>;
}

/** The command run on the instance: blocks until cloud-init is done; on error prints the boot log's tail. */
export const CLOUD_INIT_WAIT = "cloud-init status --wait --long || { tail -n 40 /var/log/django-fleet-boot.log >&2; exit 1; }";

export async function waitForBoot(o: WaitForBootOptions): Promise<void> {
    const now = o.now ?? Date.now;
    const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const log = o.log ?? ((line: string) => console.error(line));
    const poll = o.pollMs ?? { agent: 10_000, command: 5_000 };
    const deadline = now() + o.timeoutS * 1000;
    const left = () => Math.max(1, Math.floor((deadline - now()) / 1000));
    const id = o.instanceId;

    log(`wait-for-boot: ${id}: waiting for EC2 status checks`);
    await waitUntilInstanceStatusOk({ client: o.ec2, maxWaitTime: left() }, { InstanceIds: [id] });

    log(`wait-for-boot: ${id}: waiting for the SSM agent`);
    for (;;) {
        const info = await o.ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [id] }] }));
        if (info.InstanceInformationList?.[0]?.PingStatus === "Online") break;
        if (now() > deadline) throw new Error(`wait-for-boot: ${id}: SSM agent not online after ${o.timeoutS} s (see /var/log/django-fleet-boot.log via the EC2 serial console)`);
        await sleep(poll.agent);
    }

    log(`wait-for-boot: ${id}: waiting for cloud-init`);
    const sent = await o.ssm.send(new SendCommandCommand({
        InstanceIds: [id],
        DocumentName: "AWS-RunShellScript",
        Comment: "django-fleet: wait for first boot",
        TimeoutSeconds: Math.max(30, left()),
        Parameters: { commands: [CLOUD_INIT_WAIT], executionTimeout: [String(left())] },
    }));
    const commandId = sent.Command?.CommandId;
    if (!commandId) throw new Error("wait-for-boot: SendCommand returned no command id");
    for (;;) {
        await sleep(poll.command);
        let inv;
        try {
            inv = await o.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id }));
        } catch (e) {
            if ((e as Error).name !== "InvocationDoesNotExist") throw e;
        }
        if (inv?.Status === "Success") return;
        if (inv && ["Failed", "Cancelled", "TimedOut"].includes(inv.Status ?? "")) {
            throw new Error(`wait-for-boot: ${id}: first boot failed (${inv.Status}):\n${inv.StandardOutputContent ?? ""}\n${inv.StandardErrorContent ?? ""}`.trimEnd());
        }
        if (now() > deadline) throw new Error(`wait-for-boot: ${id}: first boot not finished after ${o.timeoutS} s`);
    }
}

if (require.main === module) {
    const instanceId = process.env.INSTANCE_ID;
    const region = process.env.AWS_REGION;
    const timeoutS = Number(process.env.BOOT_TIMEOUT_S ?? "1800");
    if (!instanceId || !region || !(timeoutS > 0)) {
        console.error("wait-for-boot: INSTANCE_ID, AWS_REGION (and optionally BOOT_TIMEOUT_S > 0) must be set");
        process.exit(2);
    }
    waitForBoot({ instanceId, timeoutS, ec2: new EC2Client({ region }), ssm: new SSMClient({ region }) })
        .then(() => console.log(instanceId))
        .catch((e: Error) => {
            console.error(e.message);
            process.exit(1);
        });
}
