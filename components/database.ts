import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PROJECT_DEFAULTS } from "../settings/schema";

export interface DatabaseArgs {
    /** Private subnets (>= 2 AZs) of the DB subnet group. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security group allowing 5432 from the web and management instances only. */
    readonly securityGroupId: pulumi.Input<string>;
    /** SSM Parameter Store prefix, e.g. "/django-fleet/prod": the connection string goes to <prefix>/DATABASE_URL. */
    readonly parameterPrefix: string;
    /** @default PROJECT_DEFAULTS.dbInstanceClass */
    readonly instanceClass?: string;
    /** PostgreSQL version. @default PROJECT_DEFAULTS.dbEngineVersion */
    readonly engineVersion?: string;
    /** GiB. @default PROJECT_DEFAULTS.dbAllocatedStorage */
    readonly allocatedStorage?: number;
    /** Storage autoscaling ceiling in GiB. @default PROJECT_DEFAULTS.dbMaxAllocatedStorage */
    readonly maxAllocatedStorage?: number;
    /** @default PROJECT_DEFAULTS.dbName */
    readonly dbName?: string;
    /** @default PROJECT_DEFAULTS.dbUsername */
    readonly username?: string;
    /** Master password; pass it as a secret. @default - a 32-character random password kept (secret) in the stack state */
    readonly password?: pulumi.Input<string>;
    /** @default PROJECT_DEFAULTS.dbMultiAz */
    readonly multiAz?: boolean;
    /** Days of automated backups. @default PROJECT_DEFAULTS.dbBackupRetentionDays */
    readonly backupRetentionDays?: number;
    /** Deletion protection, and a final snapshot on delete. @default PROJECT_DEFAULTS.deletionProtection */
    readonly deletionProtection?: boolean;
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/** Percent-encodes everything but [A-Za-z0-9-_.~] so the URL survives env files and shells. */
export function encodeUrlPart(value: string): string {
    return encodeURIComponent(value).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** postgres://user:password@host:port/name?sslmode=require (pure). */
export function databaseUrl(p: { username: string; password: string; address: string; port: number; dbName: string }): string {
    return `postgres://${encodeUrlPart(p.username)}:${encodeUrlPart(p.password)}@${p.address}:${p.port}/${encodeUrlPart(p.dbName)}?sslmode=require`;
}

/**
 * RDS PostgreSQL in private subnets, encrypted, never public. The connection string is an SSM
 * SecureString the instances read at boot; it never appears in user data or in outputs.
 */
export class Database extends pulumi.ComponentResource {
    readonly instance: aws.rds.Instance;
    /** host:port */
    readonly endpoint: pulumi.Output<string>;
    readonly address: pulumi.Output<string>;
    /** Name of the SecureString parameter holding DATABASE_URL. */
    readonly urlParameterName: pulumi.Output<string>;
    readonly urlParameterArn: pulumi.Output<string>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:Database", name, {}, opts);
        const o = { parent: this };
        const tags = args.tags ?? {};
        const username = args.username ?? PROJECT_DEFAULTS.dbUsername;
        const dbName = args.dbName ?? PROJECT_DEFAULTS.dbName;
        const deletionProtection = args.deletionProtection ?? PROJECT_DEFAULTS.deletionProtection;

        // Letters and digits only: nothing to escape anywhere (URL, env file, shell).
        const password = args.password !== undefined
            ? pulumi.secret(args.password)
            : pulumi.secret(new random.RandomPassword(`${name}-password`, { length: 32, special: false }, o).result);

        const subnetGroup = new aws.rds.SubnetGroup(`${name}-subnets`, { subnetIds: args.subnetIds, description: "Private subnets of the Django database", tags }, o);
        const major = (args.engineVersion ?? PROJECT_DEFAULTS.dbEngineVersion).split(".")[0];
        const parameterGroup = new aws.rds.ParameterGroup(`${name}-params`, {
            family: `postgres${major}`,
            description: "Django database: TLS required",
            parameters: [{ name: "rds.force_ssl", value: "1" }],
            tags,
        }, o);

        this.instance = new aws.rds.Instance(`${name}-postgres`, {
            engine: "postgres",
            engineVersion: args.engineVersion ?? PROJECT_DEFAULTS.dbEngineVersion,
            instanceClass: args.instanceClass ?? PROJECT_DEFAULTS.dbInstanceClass,
            allocatedStorage: args.allocatedStorage ?? PROJECT_DEFAULTS.dbAllocatedStorage,
            maxAllocatedStorage: args.maxAllocatedStorage ?? PROJECT_DEFAULTS.dbMaxAllocatedStorage,
            storageType: "gp3",
            storageEncrypted: true,
            dbName,
            username,
            password,
            dbSubnetGroupName: subnetGroup.name,
            parameterGroupName: parameterGroup.name,
            vpcSecurityGroupIds: [args.securityGroupId],
            publiclyAccessible: false,
            multiAz: args.multiAz ?? PROJECT_DEFAULTS.dbMultiAz,
            backupRetentionPeriod: args.backupRetentionDays ?? PROJECT_DEFAULTS.dbBackupRetentionDays,
            copyTagsToSnapshot: true,
            deletionProtection,
            skipFinalSnapshot: !deletionProtection,
            finalSnapshotIdentifier: deletionProtection ? `${name}-final` : undefined,
            autoMinorVersionUpgrade: true,
            allowMajorVersionUpgrade: false,
            applyImmediately: false,
            tags,
        }, { parent: this, additionalSecretOutputs: ["password"] });

        const url = pulumi
            .all([username, password, this.instance.address, this.instance.port, dbName])
            .apply(([u, pw, address, port, db]) => databaseUrl({ username: u, password: pw, address, port, dbName: db }));
        const parameter = new aws.ssm.Parameter(`${name}-url`, {
            name: `${args.parameterPrefix}/DATABASE_URL`,
            type: "SecureString",
            value: pulumi.secret(url),
            description: "Django DATABASE_URL (read by the instances at boot)",
            tags,
        }, o);

        this.endpoint = this.instance.endpoint;
        this.address = this.instance.address;
        this.urlParameterName = parameter.name;
        this.urlParameterArn = parameter.arn;
        this.registerOutputs({ endpoint: this.endpoint, urlParameterName: this.urlParameterName });
    }
}
