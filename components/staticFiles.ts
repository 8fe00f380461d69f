import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { APP_GID, APP_UID } from "./userData";

/** The access point's root directory on the file system (created by EFS, owned by the app user). */
export const STATIC_ROOT_DIRECTORY = "/static";

export interface StaticFilesArgs {
    /** One mount target per private subnet (one per AZ). */
    readonly subnetIds: pulumi.Input<string>[] | pulumi.Output<string[]>;
    /** Number of private subnets (mount targets are created per subnet, so it must be known up front). */
    readonly subnetCount: number;
    /** Security group allowing 2049 from the web and management instances only. */
    readonly securityGroupId: pulumi.Input<string>;
    /** Roles that may mount, read-only, through the access point (the web instances'). */
    readonly readerRoleArns: pulumi.Input<string>[];
    /** Roles that may mount and write through the access point (the management instance's, where collectstatic runs). */
    readonly writerRoleArns: pulumi.Input<string>[];
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * The shared STATIC_ROOT: an encrypted EFS file system with a mount target per private subnet,
 * reached only through one access point, which acts as the app user (APP_UID:APP_GID) on every
 * request and roots every mount in STATIC_ROOT_DIRECTORY, created owned by that user (EFS
 * squashes root, so nothing on the instances needs to, or could, chown the file system's root).
 * The file-system policy: ClientMount through the access point for readers and writers,
 * ClientWrite through it for writers only, no ClientRootAccess for anyone, and no access
 * without TLS (mounts use `-o tls,iam,accesspoint=...`).
 */
export class StaticFiles extends pulumi.ComponentResource {
    readonly fileSystem: aws.efs.FileSystem;
    readonly fileSystemId: pulumi.Output<string>;
    readonly accessPoint: aws.efs.AccessPoint;
    readonly accessPointId: pulumi.Output<string>;
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

        this.accessPoint = new aws.efs.AccessPoint(`${name}-app`, {
            fileSystemId: this.fileSystem.id,
            posixUser: { uid: APP_UID, gid: APP_GID },
            rootDirectory: {
                path: STATIC_ROOT_DIRECTORY,
                creationInfo: { ownerUid: APP_UID, ownerGid: APP_GID, permissions: "0755" },
            },
            tags: { ...tags, Name: `${name}-app` },
        }, o);

        const throughTheAccessPoint = {
            Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" },
            StringEquals: { "elasticfilesystem:AccessPointArn": this.accessPoint.arn },
        };
        new aws.efs.FileSystemPolicy(`${name}-policy`, {
            fileSystemId: this.fileSystem.id,
            bypassPolicyLockoutSafetyCheck: false,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "MountThroughTheAccessPoint",
                        Effect: "Allow",
                        Principal: { AWS: [...args.readerRoleArns, ...args.writerRoleArns] },
                        Action: "elasticfilesystem:ClientMount",
                        Resource: this.fileSystem.arn,
                        Condition: throughTheAccessPoint,
                    },
                    {
                        Sid: "OnlyWritersWrite",
                        Effect: "Allow",
                        Principal: { AWS: args.writerRoleArns },
                        Action: "elasticfilesystem:ClientWrite",
                        Resource: this.fileSystem.arn,
                        Condition: throughTheAccessPoint,
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
        this.accessPointId = this.accessPoint.id;
        this.registerOutputs({ fileSystemId: this.fileSystemId, accessPointId: this.accessPointId });
    }
}
