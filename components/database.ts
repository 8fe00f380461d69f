import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { APP_DB_USER, MASTER_URL_PARAMETER, RDS_CA_BUNDLE } from "./databaseUser";
import { PROJECT_DEFAULTS } from "../settings/schema";

export interface DatabaseArgs {
    /** Private subnets (>= 2 AZs) of the DB subnet group. */
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security group allowing 5432 from the web and management instances only. */
    readonly securityGroupId: pulumi.Input<string>;
    /**
     * SSM Parameter Store prefix, e.g. "/django-fleet/prod": the app's connection string (its
     * own user, APP_DB_USER) goes to <prefix>/DATABASE_URL, the master user's to
     * <prefix>/management/DATABASE_MASTER_URL (management instance only).
     */
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

/**
 * postgres://user:password@host:port/name?sslmode=verify-full&sslrootcert=<RDS CA bundle> (pure):
 * TLS that checks the server's certificate against the RDS CA and its name against the host.
 */
export function databaseUrl(p: { username: string; password: string; address: string; port: number; dbName: string }): string {
    return `postgres://${encodeUrlPart(p.username)}:${encodeUrlPart(p.password)}@${p.address}:${p.port}/${encodeUrlPart(p.dbName)}?sslmode=verify-full&sslrootcert=${encodeUrlPart(RDS_CA_BUNDLE).replace(/%2F/g, "/")}`;
}

/**
 * RDS PostgreSQL in private subnets, encrypted, never public, TLS forced. Two SSM SecureStrings,
 * never in user data or outputs: the app's DATABASE_URL, for its own role APP_DB_USER with a
 * generated password (created by the management instance's boot, see databaseUser.ts), and the
 * master user's URL, readable by the management role only.
 */
export class Database extends pulumi.ComponentResource {
    readonly instance: aws.rds.Instance;
    /** host:port */
    readonly endpoint: pulumi.Output<string>;
    readonly address: pulumi.Output<string>;
    /** Name of the SecureString parameter holding DATABASE_URL (the app's own user). */
    readonly urlParameterName: pulumi.Output<string>;
    readonly urlParameterArn: pulumi.Output<string>;
    /** The master user's and the app role's passwords, for the Release's redaction. A Pulumi secret. */
    readonly passwords: pulumi.Output<string[]>;

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:Database", name, {}, opts);
        const o = { parent: this };
        const tags = args.tags ?? {};
        const username = args.username ?? PROJECT_DEFAULTS.dbUsername;
        const dbName = args.dbName ?? PROJECT_DEFAULTS.dbName;
        const deletionProtection = args.deletionProtection ?? PROJECT_DEFAULTS.deletionProtection;
        if (username === APP_DB_USER) throw new Error(`Database ${name}: dbUsername "${username}" is the app's own role name; choose another master user name`);

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

        // The app's own role: letters and digits, like the master's generated one.
        const appPassword = pulumi.secret(new random.RandomPassword(`${name}-app-password`, { length: 32, special: false }, o).result);
        const urlOf = (user: pulumi.Input<string>, pw: pulumi.Input<string>) => pulumi.secret(pulumi
            .all([user, pw, this.instance.address, this.instance.port, dbName])
            .apply(([u, p, address, port, db]) => databaseUrl({ username: u, password: p, address, port, dbName: db })));
        const parameter = new aws.ssm.Parameter(`${name}-url`, {
            name: `${args.parameterPrefix}/DATABASE_URL`,
            type: "SecureString",
            value: urlOf(APP_DB_USER, appPassword),
            description: `Django DATABASE_URL: the app's own role ${APP_DB_USER} (read by the instances at boot)`,
            tags,
        }, o);
        new aws.ssm.Parameter(`${name}-master-url`, {
            name: `${args.parameterPrefix}/${MASTER_URL_PARAMETER}`,
            type: "SecureString",
            value: urlOf(username, password),
            description: "The RDS master user's URL: the management instance creates the app's role with it; denied to the web role",
            tags,
        }, o);

        this.passwords = pulumi.secret(pulumi.all([password, appPassword]));
        this.endpoint = this.instance.endpoint;
        this.address = this.instance.address;
        this.urlParameterName = parameter.name;
        this.urlParameterArn = parameter.arn;
        this.registerOutputs({ endpoint: this.endpoint, urlParameterName: this.urlParameterName });
    }
}
