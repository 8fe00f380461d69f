import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { AppSettings, APP_PARAMETER_NAMES } from "./appSettings";
import { Cdn } from "./cdn";
import { Database } from "./database";
import { InstanceRole } from "./instanceRole";
import { LoadBalancer } from "./loadBalancer";
import { ManagementInstance } from "./managementInstance";
import { Network, type NetworkArgs } from "./network";
import { ReleaseSecrets } from "./releaseSecrets";
import { SecurityGroups, type SecurityGroupsArgs } from "./securityGroups";
import { StaticFiles } from "./staticFiles";
import { APP_DIR, renderUserData } from "./userData";
import { PROJECT_DEFAULTS } from "../settings/schema";
import { WebFleet } from "./webFleet";

/** The header CloudFront adds to origin requests when the load balancer takes only CloudFront traffic. */
export const ORIGIN_HEADER_NAME = "X-Origin-Verify";

/** Owner of the official Debian cloud images (https://wiki.debian.org/Cloud/AmazonEC2Image). */
export const DEBIAN_OWNER = "136693071363";

/**
 * The whole site's arguments, in the component's own terms (index.ts maps the stack settings
 * onto them). Members with a setting of the same name take its validated value; the settings'
 * defaults, bounds and meaning are in settings/schema.ts.
 */
export interface DjangoStackArgs {
    /** Stack name: tags and names. */
    readonly stack: string;
    /** SSM Parameter Store prefix of the app's settings, e.g. "/django-fleet/prod". */
    readonly parameterPrefix: string;
    /** The app's git URL (the release's remote phase clones it). */
    readonly repositoryUrl: string;
    /** An existing VPC's ids instead of a new VPC. @default - a new VPC (vpcCidr, availabilityZoneCount, natGateways) */
    readonly existingVpc?: NetworkArgs["existing"] & {};
    readonly vpcCidr: string;
    readonly availabilityZoneCount: number;
    readonly natGateways: NonNullable<NetworkArgs["natGateways"]>;
    /** Web fleet instance type. */
    readonly instanceType: string;
    /** Same CPU architecture as instanceType. */
    readonly managementInstanceType: string;
    /** CPU architecture of both instance types: picks the Debian image. */
    readonly architecture: "x86_64" | "arm64";
    /** Capacity the release applies (the group is created empty). */
    readonly minSize: number;
    readonly maxSize: number;
    readonly desiredCapacity: number;
    readonly healthCheckGracePeriod: number;
    readonly rootVolumeSize: number;
    /** @default - the latest official Debian 12 image for `architecture` */
    readonly baseAmiId?: string;
    /** @default - no key pair */
    readonly keyName?: string;
    /** @default - no SSH ingress */
    readonly adminCidr?: string;
    readonly appPort: number;
    readonly wsgiApplication: string;
    /** @default - the app's own default */
    readonly djangoSettingsModule?: string;
    readonly gunicornWorkers: number;
    /** @default - no celery beat */
    readonly celeryApp?: string;
    readonly staticRoot: string;
    readonly staticUrl: string;
    readonly healthCheckPath: string;
    readonly deregistrationDelay: number;
    readonly healthCheckInterval: number;
    readonly healthyThreshold: number;
    /** @default - HTTP only on the load balancer */
    readonly certificateArn?: string;
    /** Accept plain HTTP between CloudFront and the load balancer (required when certificateArn is unset). @default false */
    readonly plainHttpOrigin?: boolean;
    readonly albIngress: NonNullable<SecurityGroupsArgs["albIngress"]>;
    /** Whether the app account on the management instance may reach the instance metadata service. @default "block" (settings/schema.ts) */
    readonly managementAppMetadata?: "block" | "allow";
    /** @default - the CloudFront domain */
    readonly domainName?: string;
    /** Required with domainName. */
    readonly cdnCertificateArn?: string;
    readonly cdnPriceClass: string;
    readonly dbInstanceClass: string;
    readonly dbEngineVersion: string;
    readonly dbAllocatedStorage: number;
    readonly dbMaxAllocatedStorage: number;
    readonly dbName: string;
    readonly dbUsername: string;
    /** A Pulumi secret. @default - generated (RandomPassword) */
    readonly dbPassword?: pulumi.Input<string>;
    /** A Pulumi secret: the SecureString <prefix>/REPOSITORY_TOKEN (management role only). @default - none made */
    readonly repositoryToken?: pulumi.Input<string>;
    /** A Pulumi secret: the SecureString <prefix>/INSPECT_DATABASE_URL (management role only). @default - none made */
    readonly inspectDatabaseUrl?: pulumi.Input<string>;
    readonly dbMultiAz: boolean;
    readonly dbBackupRetentionDays: number;
    readonly deletionProtection: boolean;
    /** Wait for the management instance's first boot with @pulumi/command. @default true */
    readonly waitForBoot?: boolean;
    /** The stack's `aws:profile`, for the boot wait's SDK calls. @default - the environment's credentials */
    readonly awsProfile?: string;
    /** Tags added to every taggable resource. @default { Project: "django-fleet", Stack: <stack> } */
    readonly tags?: Record<string, string>;
}

/** What the Release resource needs to roll a version out onto this stack. */
export interface ReleaseTarget {
    readonly region: pulumi.Output<string>;
    readonly launchTemplateId: pulumi.Output<string>;
    readonly launchTemplateLatestVersion: pulumi.Output<number>;
    readonly autoScalingGroupName: pulumi.Output<string>;
    readonly targetGroupArn: pulumi.Output<string>;
    /** The target group's own health-check interval, healthy threshold and deregistration delay (LoadBalancer.targetGroupTimings). */
    readonly targetGroupTimings: LoadBalancer["targetGroupTimings"];
    readonly listenerArn: pulumi.Output<string>;
    /** Resolves once the management instance has finished its first boot. */
    readonly managementInstanceId: pulumi.Output<string>;
    readonly managementPrivateIp: pulumi.Output<string>;
    readonly distributionId: pulumi.Output<string>;
    /** Capacity the release applies to the (initially empty) group. */
    readonly capacity: { readonly minSize: number; readonly desiredCapacity: number; readonly maxSize: number };
    readonly repositoryUrl: string;
    readonly appDir: string;
    readonly staticRoot: string;
    readonly staticUrl: string;
    /** The management instance's local health URL. */
    readonly healthUrl: string;
    readonly djangoSettingsModule?: string;
    /** Every secret the release may meet (database passwords, repository token, inspection URL): the Release's `secretValues`. A Pulumi secret. */
    readonly secretValues: pulumi.Output<string[]>;
}

/**
 * The whole site: network, security-group chain, database, static files, load balancer, CDN,
 * web fleet and management instance, wired together.
 */
export class DjangoStack extends pulumi.ComponentResource {
    readonly network: Network;
    readonly securityGroups: SecurityGroups;
    readonly database: Database;
    readonly staticFiles: StaticFiles;
    readonly loadBalancer: LoadBalancer;
    readonly cdn: Cdn;
    readonly webFleet: WebFleet;
    readonly management: ManagementInstance;

    readonly siteUrl: pulumi.Output<string>;
    readonly cdnDomain: pulumi.Output<string>;
    readonly albDnsName: pulumi.Output<string>;
    readonly autoScalingGroupName: pulumi.Output<string>;
    readonly launchTemplateId: pulumi.Output<string>;
    readonly launchTemplateLatestVersion: pulumi.Output<number>;
    readonly targetGroupArn: pulumi.Output<string>;
    readonly listenerArn: pulumi.Output<string>;
    readonly managementInstanceId: pulumi.Output<string>;
    readonly efsId: pulumi.Output<string>;
    readonly dbEndpoint: pulumi.Output<string>;
    readonly distributionId: pulumi.Output<string>;
    readonly releaseTarget: ReleaseTarget;

    constructor(name: string, args: DjangoStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:DjangoStack", name, {}, opts);
        if (args.certificateArn === undefined && !args.plainHttpOrigin) {
            throw new Error(`DjangoStack ${name}: certificateArn is unset and plainHttpOrigin is not true: CloudFront would reach the load balancer over plain HTTP. `
                + "Set certificateArn (with domainName), or plainHttpOrigin true to accept clear text between CloudFront and the load balancer");
        }
        const o = { parent: this };
        const tags = args.tags ?? { Project: "django-fleet", Stack: args.stack };
        const region = aws.getRegionOutput({}, o).region;
        const privateSubnetCount = args.existingVpc?.privateSubnetIds.length ?? args.availabilityZoneCount;

        this.network = new Network(`${name}-net`, {
            existing: args.existingVpc,
            cidrBlock: args.vpcCidr,
            availabilityZoneCount: args.availabilityZoneCount,
            natGateways: args.natGateways,
            tags,
        }, o);

        this.securityGroups = new SecurityGroups(`${name}-sg`, {
            vpcId: this.network.vpcId,
            appPort: args.appPort,
            albIngress: args.albIngress,
            https: args.certificateArn !== undefined,
            adminCidr: args.adminCidr,
            tags,
        }, o);

        // One role per kind of instance: only the management role writes the static root and
        // reads the management-only parameters.
        const webRole = new InstanceRole(`${name}-instances`, { parameterPrefix: args.parameterPrefix, role: "web", tags }, o);
        const managementRole = new InstanceRole(`${name}-management-role`, { parameterPrefix: args.parameterPrefix, role: "management", tags }, o);

        this.database = new Database(`${name}-db`, {
            subnetIds: this.network.privateSubnetIds,
            securityGroupId: this.securityGroups.database.id,
            parameterPrefix: args.parameterPrefix,
            instanceClass: args.dbInstanceClass,
            engineVersion: args.dbEngineVersion,
            allocatedStorage: args.dbAllocatedStorage,
            maxAllocatedStorage: args.dbMaxAllocatedStorage,
            dbName: args.dbName,
            username: args.dbUsername,
            password: args.dbPassword,
            multiAz: args.dbMultiAz,
            backupRetentionDays: args.dbBackupRetentionDays,
            deletionProtection: args.deletionProtection,
            tags,
        }, o);

        this.staticFiles = new StaticFiles(`${name}-static`, {
            subnetIds: this.network.privateSubnetIds,
            subnetCount: privateSubnetCount,
            securityGroupId: this.securityGroups.efs.id,
            readerRoleArns: [webRole.roleArn],
            writerRoleArns: [managementRole.roleArn],
            tags,
        }, o);

        // CloudFront-only ingress: the prefix list admits every CloudFront distribution, the
        // secret header only this one.
        const originHeader = args.albIngress === "cloudfront"
            ? { name: ORIGIN_HEADER_NAME, value: pulumi.secret(new random.RandomPassword(`${name}-origin-secret`, { length: 40, special: false }, o).result) }
            : undefined;

        this.loadBalancer = new LoadBalancer(`${name}-lb`, {
            vpcId: this.network.vpcId,
            subnetIds: this.network.publicSubnetIds,
            securityGroupId: this.securityGroups.alb.id,
            appPort: args.appPort,
            healthCheckPath: args.healthCheckPath,
            deregistrationDelay: args.deregistrationDelay,
            healthCheckInterval: args.healthCheckInterval,
            healthyThreshold: args.healthyThreshold,
            certificateArn: args.certificateArn,
            originHeader,
            tags,
        }, o);

        this.cdn = new Cdn(`${name}-cdn`, {
            originDomainName: this.loadBalancer.dnsName,
            originProtocol: this.loadBalancer.https ? "https" : "plain-http",
            staticUrl: args.staticUrl,
            aliases: args.domainName ? [args.domainName] : [],
            certificateArn: args.cdnCertificateArn,
            priceClass: args.cdnPriceClass,
            originHeader,
            tags,
        }, o);

        const siteHost = args.domainName ? pulumi.output(args.domainName) : this.cdn.domainName;
        this.siteUrl = pulumi.interpolate`https://${siteHost}`;
        const appSettings = new AppSettings(`${name}-settings`, { parameterPrefix: args.parameterPrefix, allowedHosts: [siteHost], siteUrl: this.siteUrl, tags }, o);

        // The release's own secrets (read by the management instance at run time, hence made before it boots).
        const releaseSecrets = new ReleaseSecrets(`${name}-release-secrets`, {
            parameterPrefix: args.parameterPrefix,
            repositoryToken: args.repositoryToken,
            inspectDatabaseUrl: args.inspectDatabaseUrl,
            tags,
        }, o);

        // The first-boot image: the configured one or the latest official Debian 12 for the
        // fleet's architecture. Only the management instance ever boots it (see WebFleet).
        const ami = aws.ec2.getAmiOutput({
            owners: args.baseAmiId ? undefined : [DEBIAN_OWNER],
            mostRecent: true,
            filters: args.baseAmiId
                ? [{ name: "image-id", values: [args.baseAmiId] }]
                : [
                    { name: "name", values: [`debian-12-${args.architecture === "arm64" ? "arm64" : "amd64"}-*`] },
                    { name: "architecture", values: [args.architecture] },
                    { name: "virtualization-type", values: ["hvm"] },
                    { name: "root-device-type", values: ["ebs"] },
                ],
        }, o);

        const userData = pulumi.all([region, this.staticFiles.fileSystemId, this.staticFiles.accessPointId]).apply(([r, fsId, apId]) => renderUserData({
            region: r,
            fileSystemId: fsId,
            accessPointId: apId,
            parameterPrefix: args.parameterPrefix,
            parameterNames: ["DATABASE_URL", ...APP_PARAMETER_NAMES],
            staticRoot: args.staticRoot,
            staticUrl: args.staticUrl,
            appPort: args.appPort,
            wsgiApplication: args.wsgiApplication,
            workers: args.gunicornWorkers,
            managementAppMetadata: args.managementAppMetadata ?? (PROJECT_DEFAULTS.managementAppMetadata as "block" | "allow"),
            djangoSettingsModule: args.djangoSettingsModule,
            celeryApp: args.celeryApp,
        }));

        this.webFleet = new WebFleet(`${name}-web`, {
            subnetIds: this.network.privateSubnetIds,
            securityGroupId: this.securityGroups.web.id,
            targetGroupArn: this.loadBalancer.targetGroupArn,
            imageId: ami.id,
            rootDeviceName: ami.rootDeviceName,
            instanceType: args.instanceType,
            rootVolumeSize: args.rootVolumeSize,
            userData,
            keyName: args.keyName,
            maxSize: args.maxSize,
            healthCheckGracePeriod: args.healthCheckGracePeriod,
            instanceProfileArn: webRole.instanceProfileArn,
            tags,
        }, o); // The group starts empty: nothing boots from it before a release.

        // The management instance boots at once: its boot script mounts EFS and reads every
        // parameter, so those must exist first.
        this.management = new ManagementInstance(`${name}-mgmt`, {
            launchTemplateId: this.webFleet.launchTemplateId,
            subnetId: this.network.privateSubnetIds.apply((ids) => ids[0]),
            securityGroupId: this.securityGroups.management.id,
            instanceProfileName: managementRole.instanceProfile.name,
            instanceType: args.managementInstanceType,
            rootVolumeSize: args.rootVolumeSize,
            terminationProtection: args.deletionProtection,
            waitForBoot: args.waitForBoot === false ? undefined : { region, profile: args.awsProfile },
            tags,
        }, { parent: this, dependsOn: [this.staticFiles, this.database, appSettings, releaseSecrets] });

        this.cdnDomain = this.cdn.domainName;
        this.albDnsName = this.loadBalancer.dnsName;
        this.autoScalingGroupName = this.webFleet.autoScalingGroupName;
        this.launchTemplateId = this.webFleet.launchTemplateId;
        this.launchTemplateLatestVersion = this.webFleet.launchTemplateLatestVersion;
        this.targetGroupArn = this.loadBalancer.targetGroupArn;
        this.listenerArn = this.loadBalancer.listenerArn;
        this.managementInstanceId = this.management.instanceId;
        this.efsId = this.staticFiles.fileSystemId;
        this.dbEndpoint = this.database.endpoint;
        this.distributionId = this.cdn.distributionId;
        this.releaseTarget = {
            region,
            launchTemplateId: this.launchTemplateId,
            launchTemplateLatestVersion: this.launchTemplateLatestVersion,
            autoScalingGroupName: this.autoScalingGroupName,
            targetGroupArn: this.targetGroupArn,
            targetGroupTimings: this.loadBalancer.targetGroupTimings,
            listenerArn: this.listenerArn,
            managementInstanceId: this.management.readyInstanceId,
            managementPrivateIp: this.management.privateIp,
            distributionId: this.distributionId,
            capacity: { minSize: args.minSize, desiredCapacity: args.desiredCapacity, maxSize: args.maxSize },
            repositoryUrl: args.repositoryUrl,
            appDir: APP_DIR,
            staticRoot: args.staticRoot,
            staticUrl: args.staticUrl,
            healthUrl: `http://127.0.0.1:${args.appPort}${args.healthCheckPath}`,
            djangoSettingsModule: args.djangoSettingsModule,
            secretValues: pulumi.secret(pulumi.all([this.database.passwords, releaseSecrets.values]).apply(([db, release]) => [...db, ...release])),
        };

        this.registerOutputs({
            siteUrl: this.siteUrl,
            cdnDomain: this.cdnDomain,
            autoScalingGroupName: this.autoScalingGroupName,
            launchTemplateId: this.launchTemplateId,
            targetGroupArn: this.targetGroupArn,
            listenerArn: this.listenerArn,
            managementInstanceId: this.managementInstanceId,
            efsId: this.efsId,
            dbEndpoint: this.dbEndpoint,
            distributionId: this.distributionId,
        });
    }
}
