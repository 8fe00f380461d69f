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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
    const instanceId = process.env.INSTANCE_ID;
    const region = process.env.AWS_REGION;
    const timeoutS = Number(process.env.BOOT_TIMEOUT_S ?? "1800");
    if (!instanceId || !region) throw new Error("wait-for-boot: INSTANCE_ID and AWS_REGION must be set");
    const deadline = Date.now() + timeoutS * 1000;
    const left = () => Math.max(1, Math.floor((deadline - Date.now()) / 1000));

    const ec2 = new EC2Client({ region });
    console.error(`wait-for-boot: ${instanceId}: waiting for EC2 status checks`);
    await waitUntilInstanceStatusOk({ client: ec2, maxWaitTime: left() }, { InstanceIds: [instanceId] });

    const ssm = new SSMClient({ region });
    console.error(`wait-for-boot: ${instanceId}: waiting for the SSM agent`);
    for (;;) {
        const info = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: [instanceId] }] }));
        if (info.InstanceInformationList?.[0]?.PingStatus === "Online") break;
        if (Date.now() > deadline) throw new Error(`wait-for-boot: ${instanceId}: SSM agent not online after ${timeoutS} s (see /var/log/django-fleet-boot.log via the EC2 serial console)`);
        await sleep(10_000);
    }

    console.error(`wait-for-boot: ${instanceId}: waiting for cloud-init`);
    const sent = await ssm.send(new SendCommandCommand({
        InstanceIds: [instanceId],
        DocumentName: "AWS-RunShellScript",
        Comment: "django-fleet: wait for first boot",
        TimeoutSeconds: left(),
        Parameters: {
            commands: ["cloud-init status --wait --long || { tail -n 40 /var/log/django-fleet-boot.log >&2; exit 1; }"],
            executionTimeout: [String(left())],
        },
    }));
    const commandId = sent.Command?.CommandId;
    if (!commandId) throw new Error("wait-for-boot: SendCommand returned no command id");
    for (;;) {
        await sleep(5_000);
        let inv;
        try {
            inv = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
        } catch (e) {
            if ((e as Error).name === "InvocationDoesNotExist") continue;
            throw e;
        }
        if (inv.Status === "Success") break;
        if (["Failed", "Cancelled", "TimedOut"].includes(inv.Status ?? "")) {
            throw new Error(`wait-for-boot: ${instanceId}: first boot failed (${inv.Status}):\n${inv.StandardOutputContent ?? ""}\n${inv.StandardErrorContent ?? ""}`);
        }
        if (Date.now() > deadline) throw new Error(`wait-for-boot: ${instanceId}: first boot not finished after ${timeoutS} s`);
    }
    console.log(instanceId);
}

main().catch((e: Error) => {
    console.error(e.message);
    process.exit(1);
});
