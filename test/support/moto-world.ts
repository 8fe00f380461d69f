/**
 * The stack's AWS world, built in moto through the real SDK v3 clients (as Pulumi would build it
 * with components/*): a VPC with two subnets in two zones, a security group, a target group with
 * the Django health check, an ALB with an HTTP listener forwarding to it, the base launch template
 * (IMDSv2, encrypted root volume, instance tags), an auto-scaling group at capacity 0 on the
 * template's $Default version, a management instance from the same template, and a CloudFront
 * distribution in front of the ALB.
 *
 * moto departure: launching from a launch-template version that has UserData fails with HTTP 500
 * in moto 5.2.3, so the base template here has no UserData (the real one has: components/userData.ts).
 *
 * buildMotoWorld() returns the ids the Release resource takes (ReleaseArgs in
 * providers/release/resource.ts) in `release`, and the rest of the world for assertions.
 */
import { AutoScalingClient, CreateAutoScalingGroupCommand } from "@aws-sdk/client-auto-scaling";
import { CloudFrontClient, CreateDistributionCommand } from "@aws-sdk/client-cloudfront";
import {
    CreateLaunchTemplateCommand,
    CreateSecurityGroupCommand,
    CreateSubnetCommand,
    CreateVpcCommand,
    DescribeImagesCommand,
    EC2Client,
    RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import {
    CreateListenerCommand,
    CreateLoadBalancerCommand,
    CreateTargetGroupCommand,
    ElasticLoadBalancingV2Client,
    ModifyTargetGroupAttributesCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { randomBytes } from "crypto";
import type { ReleaseInputs } from "../../providers/release/inputs";
import { MOTO_REGION } from "./moto";

export interface MotoClients {
    ec2: EC2Client;
    asg: AutoScalingClient;
    elb: ElasticLoadBalancingV2Client;
    cf: CloudFrontClient;
}

/** SDK clients with an explicit endpoint (the test's own view of the world; the adapter uses AWS_ENDPOINT_URL). */
export function motoClients(endpoint: string, region = MOTO_REGION): MotoClients {
    const config = { region, endpoint, credentials: { accessKeyId: "testing", secretAccessKey: "testing" }, maxAttempts: 1 };
    return {
        ec2: new EC2Client(config),
        asg: new AutoScalingClient(config),
        elb: new ElasticLoadBalancingV2Client(config),
        cf: new CloudFrontClient({ ...config, region: "us-east-1" }),
    };
}

/** What the Release resource takes from the stack (ReleaseArgs). */
export type ReleaseIds = Pick<
    ReleaseInputs,
    "baseLaunchTemplateId" | "baseLaunchTemplateVersion" | "autoScalingGroupName" | "targetGroupArn" | "listenerArn" | "managementInstanceId" | "distributionId" | "region"
>;

export interface MotoWorld {
    release: ReleaseIds;
    vpcId: string;
    subnetIds: string[];
    securityGroupId: string;
    loadBalancerArn: string;
    loadBalancerDns: string;
    baseImageId: string;
    launchTemplateName: string;
    /** The group's configured maximum (it is created at min 0, desired 0). */
    maxSize: number;
}

export interface MotoWorldOptions {
    region?: string;
    /** Names are prefixed with it, so several worlds can share one moto. @default random */
    name?: string;
    /** @default 4 */
    maxSize?: number;
    /** Target group timings. @default components/loadBalancer.ts's: delay 30 s, interval 30 s, healthy 3 */
    deregistrationDelayS?: number;
    healthCheckIntervalS?: number;
    healthyThreshold?: number;
    /**
     * The health check's own timeout. @default moto's (5 s for HTTP), which moto requires to be
     * smaller than the interval: give it with an interval under 5 s.
     */
    healthCheckTimeoutS?: number;
}

export async function buildMotoWorld(endpoint: string, opts: MotoWorldOptions = {}): Promise<MotoWorld> {
    const region = opts.region ?? MOTO_REGION;
    const name = opts.name ?? `fleet-${randomBytes(3).toString("hex")}`;
    const maxSize = opts.maxSize ?? 4;
    const c = motoClients(endpoint, region);
    try {
        const vpc = await c.ec2.send(new CreateVpcCommand({ CidrBlock: "10.0.0.0/16" }));
        const vpcId = vpc.Vpc!.VpcId!;
        const subnetIds: string[] = [];
        for (const [i, az] of ["a", "b"].entries()) {
            const s = await c.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.0.${i + 1}.0/24`, AvailabilityZone: `${region}${az}` }));
            subnetIds.push(s.Subnet!.SubnetId!);
        }
        const sg = await c.ec2.send(new CreateSecurityGroupCommand({ GroupName: `${name}-web`, Description: "web instances", VpcId: vpcId }));
        const securityGroupId = sg.GroupId!;

        const tg = await c.elb.send(
            new CreateTargetGroupCommand({
                Name: `${name}-tg`,
                Protocol: "HTTP",
                Port: 8000,
                VpcId: vpcId,
                TargetType: "instance",
                HealthCheckPath: "/health/",
                HealthCheckIntervalSeconds: opts.healthCheckIntervalS ?? 30,
                ...(opts.healthCheckTimeoutS !== undefined ? { HealthCheckTimeoutSeconds: opts.healthCheckTimeoutS } : {}),
                HealthyThresholdCount: opts.healthyThreshold ?? 3,
                UnhealthyThresholdCount: 2,
            }),
        );
        const targetGroupArn = tg.TargetGroups![0].TargetGroupArn!;
        await c.elb.send(
            new ModifyTargetGroupAttributesCommand({
                TargetGroupArn: targetGroupArn,
                Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: String(opts.deregistrationDelayS ?? 30) }],
            }),
        );
        const lb = await c.elb.send(new CreateLoadBalancerCommand({ Name: `${name}-alb`, Subnets: subnetIds, SecurityGroups: [securityGroupId], Type: "application" }));
        const loadBalancerArn = lb.LoadBalancers![0].LoadBalancerArn!;
        const loadBalancerDns = lb.LoadBalancers![0].DNSName!;
        const listener = await c.elb.send(
            new CreateListenerCommand({ LoadBalancerArn: loadBalancerArn, Protocol: "HTTP", Port: 80, DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }] }),
        );
        const listenerArn = listener.Listeners![0].ListenerArn!;

        // Any image moto carries will do as the base image (the release bakes its own).
        const images = await c.ec2.send(new DescribeImagesCommand({}));
        const linux = (images.Images ?? []).filter((i) => String(i.Platform ?? "").toLowerCase() !== "windows" && i.State === "available");
        const baseImageId = (linux.find((i) => /ubuntu|amzn/i.test(i.Name ?? "")) ?? linux[0])?.ImageId;
        if (!baseImageId) throw new Error("moto world: moto lists no available Linux image");

        const launchTemplateName = `${name}-lt`;
        const lt = await c.ec2.send(
            new CreateLaunchTemplateCommand({
                LaunchTemplateName: launchTemplateName,
                VersionDescription: "base",
                LaunchTemplateData: {
                    ImageId: baseImageId,
                    InstanceType: "t3.small",
                    SecurityGroupIds: [securityGroupId],
                    MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled", HttpPutResponseHopLimit: 1 },
                    BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { VolumeSize: 16, VolumeType: "gp3", Encrypted: true, DeleteOnTermination: true } }],
                    TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "Role", Value: "django" }] }],
                    // No UserData: see the header (moto 5.2.3 cannot launch from a version with it).
                },
            }),
        );
        const launchTemplateId = lt.LaunchTemplate!.LaunchTemplateId!;
        const baseLaunchTemplateVersion = Number(lt.LaunchTemplate!.LatestVersionNumber);

        const autoScalingGroupName = `${name}-web`;
        await c.asg.send(
            new CreateAutoScalingGroupCommand({
                AutoScalingGroupName: autoScalingGroupName,
                LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: "$Default" },
                MinSize: 0,
                MaxSize: maxSize,
                DesiredCapacity: 0,
                VPCZoneIdentifier: subnetIds.join(","),
                TargetGroupARNs: [targetGroupArn],
                HealthCheckType: "ELB",
                HealthCheckGracePeriod: 300,
                Tags: [{ Key: "Name", Value: `${name}-web`, PropagateAtLaunch: true, ResourceId: autoScalingGroupName, ResourceType: "auto-scaling-group" }],
            }),
        );

        const mgmt = await c.ec2.send(
            new RunInstancesCommand({
                MinCount: 1,
                MaxCount: 1,
                LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: "$Default" },
                SubnetId: subnetIds[0],
                TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "Name", Value: `${name}-management` }] }],
            }),
        );
        const managementInstanceId = mgmt.Instances![0].InstanceId!;

        const dist = await c.cf.send(
            new CreateDistributionCommand({
                DistributionConfig: {
                    CallerReference: `${name}-cdn`,
                    Comment: `${name} CDN`,
                    Enabled: true,
                    Origins: {
                        Quantity: 1,
                        Items: [
                            {
                                Id: "alb",
                                DomainName: loadBalancerDns,
                                CustomOriginConfig: { HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: "http-only" },
                            },
                        ],
                    },
                    DefaultCacheBehavior: {
                        TargetOriginId: "alb",
                        ViewerProtocolPolicy: "redirect-to-https",
                        MinTTL: 0,
                        ForwardedValues: { QueryString: true, Cookies: { Forward: "all" } },
                        TrustedSigners: { Enabled: false, Quantity: 0 },
                    },
                },
            }),
        );
        const distributionId = dist.Distribution!.Id!;

        return {
            release: {
                baseLaunchTemplateId: launchTemplateId,
                baseLaunchTemplateVersion,
                autoScalingGroupName,
                targetGroupArn,
                listenerArn,
                managementInstanceId,
                distributionId,
                region,
            },
            vpcId,
            subnetIds,
            securityGroupId,
            loadBalancerArn,
            loadBalancerDns,
            baseImageId,
            launchTemplateName,
            maxSize,
        };
    } finally {
        for (const client of Object.values(c)) client.destroy();
    }
}
