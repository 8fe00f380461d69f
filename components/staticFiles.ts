import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface StaticFilesArgs {
    /** One mount target per private subnet (one per AZ). */
    readonly subnetIds: pulumi.Input<string>[] | pulumi.Output<string[]>;
    /** Number of private subnets (mount targets are created per subnet, so it must be known up front). */
    readonly subnetCount: number;
    /** Security group allowing 2049 from the web and management instances only. */
    readonly securityGroupId: pulumi.Input<string>;
    /** Role ARNs allowed to mount (and write) over TLS with IAM authorisation. */
    readonly clientRoleArns: pulumi.Input<string>[];
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * The shared STATIC_ROOT: an encrypted EFS file system with a mount target per private subnet
 * and a file-system policy refusing unencrypted transport (mounts use `-o tls,iam`).
 */
export class StaticFiles extends pulumi.ComponentResource {
    readonly fileSystem: aws.efs.FileSystem;
    readonly fileSystemId: pulumi.Output<string>;
    readonly mountTargets: aws.efs.MountTarget[];

    constructor(name: string, args: StaticFilesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:StaticFiles", name, {}, opts);
        const o = { parent: this };
        const tags = args.tags ?? {};

        this.fileSystem = new aws.efs.FileSystem(`${name}-fs`, {
            encrypted: true,
            performanceMode: "generalPurpose",
            throughputMode: "elastic",
            // Hashed static files pile up release after release; old ones are rarely read.
            lifecyclePolicies: [{ transitionToIa: "AFTER_30_DAYS" }, { transitionToPrimaryStorageClass: "AFTER_1_ACCESS" }],
            tags: { ...tags, Name: `${name}-static` },
        }, o);

        const subnetIds = pulumi.output(args.subnetIds as pulumi.Input<pulumi.Input<string>[]>);
        this.mountTargets = Array.from({ length: args.subnetCount }, (_, i) =>
            new aws.efs.MountTarget(`${name}-mount-${i}`, {
                fileSystemId: this.fileSystem.id,
                subnetId: subnetIds.apply((ids) => ids[i]),
                securityGroups: [args.securityGroupId],
            }, o));

        new aws.efs.FileSystemPolicy(`${name}-policy`, {
            fileSystemId: this.fileSystem.id,
            bypassPolicyLockoutSafetyCheck: false,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "InstancesMountOverTls",
                        Effect: "Allow",
                        Principal: { AWS: args.clientRoleArns },
                        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                        Resource: this.fileSystem.arn,
                        Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
                    },
                    {
                        Sid: "DenyUnencryptedTransport",
                        Effect: "Deny",
                        Principal: { AWS: "*" },
                        Action: "*",
                        Resource: this.fileSystem.arn,
                        Condition: { Bool: { "aws:SecureTransport": "false" } },
                    },
                ],
            }),
        }, o);

        this.fileSystemId = this.fileSystem.id;
        this.registerOutputs({ fileSystemId: this.fileSystemId });
    }
}
