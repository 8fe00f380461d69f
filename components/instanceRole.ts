import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { MANAGEMENT_PARAMETER_PATH } from "./databaseUser";
import { INSPECT_DATABASE_PARAMETER, REPOSITORY_TOKEN_PARAMETER } from "./releaseAccounts";


export interface InstanceRoleArgs {
    /** SSM prefix (e.g. /django-fleet/prod): the role may read parameters under it and nothing else. */
    readonly parameterPrefix: string;
    /**
     * "web": the auto-scaling group's instances (no `<prefix>/management/*` parameter, nor the
     * release's REPOSITORY_TOKEN and INSPECT_DATABASE_URL; the file
     * system's policy lets them mount read-only). "management": the management instance.
     */
    readonly role: "web" | "management";
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * The IAM role and instance profile of the web instances or of the management instance (one
 * each: only the management role may write the static root, and only it reads the
 * management-only parameters): SSM core (Session Manager, Run Command for the release) and read
 * access to the stack's own parameters, and to no other parameter of the account. EFS rights
 * are granted by the file system's policy (StaticFiles), per role.
 */
export class InstanceRole extends pulumi.ComponentResource {
    readonly role: aws.iam.Role;
    readonly instanceProfile: aws.iam.InstanceProfile;
    readonly roleArn: pulumi.Output<string>;
    readonly instanceProfileArn: pulumi.Output<string>;

    constructor(name: string, args: InstanceRoleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:InstanceRole", name, {}, opts);
        const o = { parent: this };
        const tags = args.tags ?? {};
        const partition = aws.getPartitionOutput({}, o).partition;
        const region = aws.getRegionOutput({}, o).region;
        const account = aws.getCallerIdentityOutput({}, o).accountId;

        this.role = new aws.iam.Role(`${name}-role`, {
            description: args.role === "web" ? "Django web instances (auto-scaling group)" : "Django management instance (releases, cron)",
            assumeRolePolicy: JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
            }),
            tags,
        }, o);
        new aws.iam.RolePolicyAttachment(`${name}-ssm-core`, {
            role: this.role.name,
            policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`,
        }, o);
        const ownParameters = pulumi.interpolate`arn:${partition}:ssm:${region}:${account}:parameter${args.parameterPrefix}/*`;
        const managementParameters = pulumi.interpolate`arn:${partition}:ssm:${region}:${account}:parameter${args.parameterPrefix}/${MANAGEMENT_PARAMETER_PATH}/*`;
        // The release's secrets, read on the management instance only (releaseAccounts.ts).
        const releaseParameters = [REPOSITORY_TOKEN_PARAMETER, INSPECT_DATABASE_PARAMETER]
            .map((p) => pulumi.interpolate`arn:${partition}:ssm:${region}:${account}:parameter${args.parameterPrefix}/${p}`);
        const ssmRead = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"];
        new aws.iam.RolePolicy(`${name}-settings`, {
            role: this.role.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    {
                        Sid: "ReadOwnSettings",
                        Effect: "Allow",
                        Action: ["ssm:GetParameter", "ssm:GetParameters"],
                        Resource: ownParameters,
                    },
                    {
                        // AmazonSSMManagedInstanceCore allows ssm:GetParameter(s) on "*" (and the
                        // aws/ssm key decrypts for any account principal): take that back for
                        // every parameter but the stack's own.
                        Sid: "NoOtherParameters",
                        Effect: "Deny",
                        Action: ssmRead,
                        NotResource: ownParameters,
                    },
                    ...(args.role === "web" ? [{
                        Sid: "NoManagementParameters",
                        Effect: "Deny",
                        Action: ssmRead,
                        Resource: managementParameters,
                    }, {
                        Sid: "NoReleaseParameters",
                        Effect: "Deny",
                        Action: ssmRead,
                        Resource: releaseParameters,
                    }] : []),
                ],
            }),
        }, o);
        this.instanceProfile = new aws.iam.InstanceProfile(`${name}-profile`, { role: this.role.name, tags }, o);

        this.roleArn = this.role.arn;
        this.instanceProfileArn = this.instanceProfile.arn;
        this.registerOutputs({ roleArn: this.roleArn, instanceProfileArn: this.instanceProfileArn });
    }
}
