import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_DEFAULTS } from "../settings/schema";
import { gunzipSync, gzipSync } from "zlib";

/** EC2's limit on user data, before base64. */
export const USER_DATA_LIMIT = 16 * 1024;

/**
 * The boot script as the launch template takes it: gzip (cloud-init unpacks it; the script
 * is ~16 KB raw, ~6 KB compressed, and EC2 allows 16 KB), then base64. Refuses a script that
 * would not fit.
 */
export function encodeUserData(text: string): string {
    const packed = gzipSync(Buffer.from(text, "utf8"), { level: 9 });
    if (packed.length > USER_DATA_LIMIT) throw new Error(`user data is ${packed.length} bytes compressed, over EC2's ${USER_DATA_LIMIT}`);
    return packed.toString("base64");
}

/** The inverse of encodeUserData (for tests and for reading a template back). */
export function decodeUserData(base64: string): string {
    return gunzipSync(Buffer.from(base64, "base64")).toString("utf8");
}

export interface WebFleetArgs {
    /** Private subnets the group launches into. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security group of the web instances (app port from the load balancer only). */
    readonly securityGroupId: pulumi.Input<string>;
    /** Target group the instances register with; its health check is the group's health check. */
    readonly targetGroupArn: pulumi.Input<string>;
    /** Image of the base launch template version: only the management instance's first boot uses it (see the class comment). */
    readonly imageId: pulumi.Input<string>;
    /** Root device name of that image, e.g. "/dev/xvda". */
    readonly rootDeviceName: pulumi.Input<string>;
    /** @default PROJECT_DEFAULTS.instanceType */
    readonly instanceType?: string;
    /** Root volume in GiB (gp3, always encrypted). @default PROJECT_DEFAULTS.rootVolumeSize */
    readonly rootVolumeSize?: number;
    /** The boot script (plain text; gzipped and base64-encoded here). */
    readonly userData: pulumi.Input<string>;
    /** EC2 key pair for SSH. @default - none */
    readonly keyName?: string;
    /** Maximum instances; a release may raise it during a ramp and puts it back. @default PROJECT_DEFAULTS.maxSize */
    readonly maxSize?: number;
    /** Seconds failed ELB health checks of a new instance are ignored. @default PROJECT_DEFAULTS.healthCheckGracePeriod */
    readonly healthCheckGracePeriod?: number;
    /** Instance profile of the web (and management) instances (InstanceRole). */
    readonly instanceProfileArn: pulumi.Input<string>;
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * The web tier: the base launch template and the auto-scaling group.
 *
 * Ownership (so Pulumi and the release never fight):
 *  - Pulumi owns the launch template's content (type, user data, security group, metadata
 *    options). It does not make its new versions the default (`updateDefaultVersion` false):
 *    the release creates versions from the latest one with its baked AMI and makes those the
 *    default. The template's imageId is ignored after creation: it is only the bare first-boot
 *    image of the management instance, and a newer Debian image must not look like an
 *    infrastructure change that re-ramps the fleet.
 *  - The group is created empty (min 0, desired 0, so the first `pulumi up` launches no web
 *    instance from a bare image that would fail health checks in a loop); the release owns
 *    min/desired and the template version, hence ignoreChanges on them. Pulumi keeps maxSize.
 */
export class WebFleet extends pulumi.ComponentResource {
    readonly launchTemplate: aws.ec2.LaunchTemplate;
    readonly group: aws.autoscaling.Group;
    readonly launchTemplateId: pulumi.Output<string>;
    readonly launchTemplateLatestVersion: pulumi.Output<number>;
    readonly autoScalingGroupName: pulumi.Output<string>;

    constructor(name: string, args: WebFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:WebFleet", name, {}, opts);
        const tags = args.tags ?? {};
        const userData = pulumi.output(args.userData).apply(encodeUserData);
        this.launchTemplate = new aws.ec2.LaunchTemplate(`${name}-lt`, {
            description: "Django instances: the release adds versions from this one with its AMI",
            imageId: args.imageId,
            instanceType: args.instanceType ?? PROJECT_DEFAULTS.instanceType,
            iamInstanceProfile: { arn: args.instanceProfileArn },
            vpcSecurityGroupIds: [args.securityGroupId],
            keyName: args.keyName,
            userData,
            updateDefaultVersion: false,
            monitoring: { enabled: true },
            metadataOptions: {
                httpEndpoint: "enabled",
                httpTokens: "required",
                httpPutResponseHopLimit: 1,
                instanceMetadataTags: "enabled",
            },
            blockDeviceMappings: [{
                deviceName: args.rootDeviceName,
                ebs: { volumeSize: args.rootVolumeSize ?? PROJECT_DEFAULTS.rootVolumeSize, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
            }],
            tagSpecifications: [{ resourceType: "volume", tags: { ...tags, Name: `${name}-volume` } }],
            tags,
        }, { parent: this, ignoreChanges: ["imageId"] });

        this.group = new aws.autoscaling.Group(`${name}-asg`, {
            vpcZoneIdentifiers: args.subnetIds,
            launchTemplate: { id: this.launchTemplate.id, version: "$Default" },
            // The release sets min/desired (configured capacity) on the first release's AMI.
            minSize: 0,
            desiredCapacity: 0,
            maxSize: args.maxSize ?? PROJECT_DEFAULTS.maxSize,
            healthCheckType: "ELB",
            healthCheckGracePeriod: args.healthCheckGracePeriod ?? PROJECT_DEFAULTS.healthCheckGracePeriod,
            targetGroupArns: [args.targetGroupArn],
            // When the release scales back in after a ramp, old-template instances go first.
            terminationPolicies: ["OldestLaunchTemplate", "OldestInstance"],
            enabledMetrics: ["GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances", "GroupTerminatingInstances", "GroupTotalInstances"],
            waitForCapacityTimeout: "0",
            tags: [
                { key: "Name", value: `${name}-web`, propagateAtLaunch: true },
                { key: "Role", value: "web", propagateAtLaunch: true },
                ...Object.entries(tags).map(([key, value]) => ({ key, value, propagateAtLaunch: true })),
            ],
        }, { parent: this, ignoreChanges: ["minSize", "desiredCapacity", "launchTemplate.version"] });

        this.launchTemplateId = this.launchTemplate.id;
        this.launchTemplateLatestVersion = this.launchTemplate.latestVersion;
        this.autoScalingGroupName = this.group.name;
        this.registerOutputs({
            launchTemplateId: this.launchTemplateId,
            launchTemplateLatestVersion: this.launchTemplateLatestVersion,
            autoScalingGroupName: this.autoScalingGroupName,
        });
    }
}
