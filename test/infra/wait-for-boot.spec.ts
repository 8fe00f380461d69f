import * as assert from "assert";
import { DescribeInstanceStatusCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { CLOUD_INIT_WAIT, waitForBoot } from "../../scripts/wait-for-boot";

const ID = "i-0123456789abcdef0";
const OK_STATUS = { InstanceStatuses: [{ InstanceId: ID, InstanceStatus: { Status: "ok" as const }, SystemStatus: { Status: "ok" as const } }] };

describe("scripts/wait-for-boot (the management instance's first-boot wait)", () => {
    // Created in before() and restored in after(): the stubs are process-wide, and other specs mock these clients too.
    const mockEc2 = () => mockClient(EC2Client);
    const mockSsm = () => mockClient(SSMClient);
    let ec2: ReturnType<typeof mockEc2>;
    let ssm: ReturnType<typeof mockSsm>;
    let clock = 0;
    const fast = () => ({
        instanceId: ID, timeoutS: 600, ec2: new EC2Client({ region: "eu-west-1" }), ssm: new SSMClient({ region: "eu-west-1" }),
        pollMs: { agent: 1000, command: 1000 }, log: () => undefined,
        now: () => clock, sleep: async (ms: number) => { clock += ms; },
    });

    before(() => {
        ec2 = mockEc2();
        ssm = mockSsm();
    });
    beforeEach(() => {
        ec2.reset();
        ssm.reset();
        clock = 0;
        ec2.on(DescribeInstanceStatusCommand).resolves(OK_STATUS);
    });
    after(() => {
        ec2.restore();
        ssm.restore();
    });

    it("waits for status checks, the SSM agent, then cloud-init over Run Command", async () => {
        ssm.on(DescribeInstanceInformationCommand).resolvesOnce({ InstanceInformationList: [] }).resolves({ InstanceInformationList: [{ InstanceId: ID, PingStatus: "Online" }] });
        ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
        ssm.on(GetCommandInvocationCommand).resolvesOnce({ Status: "InProgress" }).resolves({ Status: "Success" });
        await waitForBoot(fast());
        const sent = ssm.commandCalls(SendCommandCommand)[0].args[0].input;
        assert.deepStrictEqual(sent.InstanceIds, [ID]);
        assert.strictEqual(sent.DocumentName, "AWS-RunShellScript");
        assert.deepStrictEqual(sent.Parameters!.commands, [CLOUD_INIT_WAIT]);
        assert.strictEqual(ssm.commandCalls(DescribeInstanceInformationCommand).length, 2);
        assert.strictEqual(ssm.commandCalls(GetCommandInvocationCommand).length, 2);
    });

    it("fails with the boot log when cloud-init reports an error", async () => {
        ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: ID, PingStatus: "Online" }] });
        ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
        ssm.on(GetCommandInvocationCommand).resolves({ Status: "Failed", StandardOutputContent: "status: error", StandardErrorContent: "mount.efs: failed to mount" });
        await assert.rejects(waitForBoot(fast()), /first boot failed \(Failed\):\nstatus: error\nmount\.efs: failed to mount/);
    });

    it("gives up when the SSM agent never comes online", async () => {
        ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
        await assert.rejects(waitForBoot({ ...fast(), timeoutS: 30 }), /SSM agent not online after 30 s/);
    });
});
