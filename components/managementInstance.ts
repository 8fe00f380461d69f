import * as aws from "@pulumi/aws";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { PROJECT_DEFAULTS } from "../settings/schema";

export interface ManagementInstanceArgs {
    /** The web fleet's launch template: the management instance boots the same image and user data. */
    readonly launchTemplateId: pulumi.Input<string>;
    /** A private subnet. */
    readonly subnetId: pulumi.Input<string>;
    /** Its own security group (no load-balancer ingress; SSH only from the admin range). */
    readonly securityGroupId: pulumi.Input<string>;
    /**
     * Its own instance profile (InstanceRole "management"), overriding the template's web one:
     * the file system lets only this role write the static root.
     */
    readonly instanceProfileName: pulumi.Input<string>;
    /** Must have the fleet's CPU architecture (the release AMI is baked from this instance). @default - the template's type */
    readonly instanceType?: string;
    /** Root volume in GiB (gp3, encrypted). @default PROJECT_DEFAULTS.rootVolumeSize */
    readonly rootVolumeSize?: number;
    /** Refuse API termination (the instance holds the deploy history and runs cron). @default false */
    readonly terminationProtection?: boolean;
    /**
     * Wait (with @pulumi/command, on the machine running `pulumi up`) until the instance has
     * finished its first boot: EC2 status checks ok, then `cloud-init status --wait` over SSM.
     * @default { region } required to enable; no wait when undefined
     */
    readonly waitForBoot?: {
        readonly region: pulumi.Input<string>;
        /** @default 1800 */
        readonly timeoutS?: number;
        /** AWS profile for the wait's SDK calls (the stack's `aws:profile`). @default - the environment's credentials */
        readonly profile?: string;
    };
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/** The script the boot wait runs (relative to the project root, where `pulumi up` runs). */
export const WAIT_FOR_BOOT_SCRIPT = "scripts/wait-for-boot.ts";

/**
 * The seed's management instance: launched from the web fleet's launch template with tag
 * Role=management (so its boot script enables cron / celery beat), outside the auto-scaling
 * group, in a private subnet. Releases run their remote phase here and bake the AMI from it.
 * A release changes the template's default version and image; both are ignored here, so the
 * instance is never replaced by a release.
 */
export class ManagementInstance extends pulumi.ComponentResource {
    readonly instance: aws.ec2.Instance;
    readonly instanceId: pulumi.Output<string>;
    readonly privateIp: pulumi.Output<string>;
    /** The first-boot wait; depend on it before running commands on the instance. */
    readonly bootWait?: command.local.Command;
    /** Resolves to the instance id once it has finished its first boot (or at once without a wait). */
    readonly readyInstanceId: pulumi.Output<string>;

    constructor(name: string, args: ManagementInstanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:ManagementInstance", name, {}, opts);
        const tags = args.tags ?? {};

        this.instance = new aws.ec2.Instance(`${name}-instance`, {
            launchTemplate: { id: args.launchTemplateId, version: "$Default" },
            instanceType: args.instanceType,
            subnetId: args.subnetId,
            vpcSecurityGroupIds: [args.securityGroupId],
            iamInstanceProfile: args.instanceProfileName,
            associatePublicIpAddress: false,
            // Stated here too (the template says the same) so the baseline holds whatever the template becomes.
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1, instanceMetadataTags: "enabled" },
            rootBlockDevice: { encrypted: true, volumeType: "gp3", volumeSize: args.rootVolumeSize ?? PROJECT_DEFAULTS.rootVolumeSize, deleteOnTermination: true },
            disableApiTermination: args.terminationProtection ?? false,
            monitoring: true,
            tags: { ...tags, Name: `${name}-management`, Role: "management" },
            volumeTags: { ...tags, Name: `${name}-management` },
        }, { parent: this, ignoreChanges: ["ami", "launchTemplate", "userData", "userDataBase64"] });

        this.instanceId = this.instance.id;
        this.privateIp = this.instance.privateIp;

        if (args.waitForBoot) {
            this.bootWait = new command.local.Command(`${name}-boot-wait`, {
                create: `node -r ts-node/register/transpile-only ${WAIT_FOR_BOOT_SCRIPT}`,
                dir: path.resolve(__dirname, ".."),
                environment: {
                    INSTANCE_ID: this.instance.id,
                    AWS_REGION: args.waitForBoot.region,
                    BOOT_TIMEOUT_S: String(args.waitForBoot.timeoutS ?? 1800),
                    ...(args.waitForBoot.profile ? { AWS_PROFILE: args.waitForBoot.profile } : {}),
                },
                // Only a new instance needs waiting for.
                triggers: [this.instance.id],
            }, { parent: this, customTimeouts: { create: `${Math.ceil((args.waitForBoot.timeoutS ?? 1800) / 60) + 5}m` } });
            this.readyInstanceId = pulumi.all([this.instance.id, this.bootWait.stdout]).apply(([id]) => id);
        } else {
            this.readyInstanceId = this.instance.id;
        }
        this.registerOutputs({ instanceId: this.instanceId, privateIp: this.privateIp, readyInstanceId: this.readyInstanceId });
    }
}
