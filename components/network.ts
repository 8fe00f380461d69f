import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_DEFAULTS } from "../settings/schema";

export interface NetworkArgs {
    /**
     * Use an existing VPC instead of creating one. The public subnets need a route to an
     * internet gateway (load balancer), the private ones a NAT route (instances fetch packages,
     * reach SSM). Conflicts with cidrBlock, availabilityZoneCount and natGateways.
     * @default - a new VPC is created
     */
    readonly existing?: {
        readonly vpcId: pulumi.Input<string>;
        readonly publicSubnetIds: pulumi.Input<string>[];
        readonly privateSubnetIds: pulumi.Input<string>[];
    };
    /** CIDR of the new VPC; each subnet gets a 1/16th slice of it. @default PROJECT_DEFAULTS.vpcCidr */
    readonly cidrBlock?: string;
    /** Availability zones spanned, one public and one private subnet each. @default PROJECT_DEFAULTS.availabilityZoneCount */
    readonly availabilityZoneCount?: number;
    /** "one-per-az" keeps private egress up through an AZ outage; "single" is cheaper. @default PROJECT_DEFAULTS.natGateways */
    readonly natGateways?: "one-per-az" | "single";
    /** Tags added to every resource. @default {} */
    readonly tags?: Record<string, string>;
}

/** Splits an IPv4 CIDR into `count` consecutive blocks four bits longer (pure). */
export function subnetCidrs(cidr: string, count: number): string[] {
    const [ip, prefixText] = cidr.split("/");
    const prefix = Number(prefixText);
    const base = ip.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
    const size = 2 ** (32 - (prefix + 4));
    if (count > 16) throw new Error(`subnetCidrs: ${count} subnets do not fit in ${cidr} (at most 16)`);
    return Array.from({ length: count }, (_, i) => {
        const n = base + i * size;
        return `${[24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".")}/${prefix + 4}`;
    });
}

/**
 * The VPC: public subnets (load balancer, NAT gateways) and private subnets (instances, EFS,
 * database) over at least two availability zones, or an existing VPC's ids passed through.
 */
export class Network extends pulumi.ComponentResource {
    readonly vpcId: pulumi.Output<string>;
    readonly publicSubnetIds: pulumi.Output<string[]>;
    readonly privateSubnetIds: pulumi.Output<string[]>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:Network", name, {}, opts);
        if (args.existing) {
            this.vpcId = pulumi.output(args.existing.vpcId);
            this.publicSubnetIds = pulumi.output(args.existing.publicSubnetIds);
            this.privateSubnetIds = pulumi.output(args.existing.privateSubnetIds);
        } else {
            const built = createVpc(this, name, args);
            this.vpcId = built.vpc.id;
            this.publicSubnetIds = pulumi.all(built.publicSubnets.map((s) => s.id));
            this.privateSubnetIds = pulumi.all(built.privateSubnets.map((s) => s.id));
        }
        this.registerOutputs({ vpcId: this.vpcId, publicSubnetIds: this.publicSubnetIds, privateSubnetIds: this.privateSubnetIds });
    }
}

function createVpc(parent: pulumi.Resource, name: string, args: NetworkArgs) {
    const cidrBlock = args.cidrBlock ?? PROJECT_DEFAULTS.vpcCidr;
    const azCount = args.availabilityZoneCount ?? PROJECT_DEFAULTS.availabilityZoneCount;
    const natMode = args.natGateways ?? PROJECT_DEFAULTS.natGateways;
    const tags = args.tags ?? {};
    const opts = { parent };

    // The zone names are needed to name and count subnets, so they are resolved at plan time.
    const zones = aws.getAvailabilityZonesOutput({ state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] }, opts);
    const zone = (i: number) => zones.names.apply((names) => {
        if (names.length < azCount) throw new Error(`availabilityZoneCount (${azCount}) > zones available in the region (${names.length})`);
        return names[i];
    });
    const cidrs = subnetCidrs(cidrBlock, azCount * 2);

    const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock, enableDnsHostnames: true, enableDnsSupport: true, tags: { ...tags, Name: `${name}-vpc` } }, opts);
    // CIS 5.4: the VPC's default security group allows nothing; every resource here gets its own.
    new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, tags: { ...tags, Name: `${name}-default (unused)` } }, opts);
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { ...tags, Name: `${name}-igw` } }, opts);

    const publicRoutes = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: vpc.id, tags: { ...tags, Name: `${name}-public` } }, opts);
    new aws.ec2.Route(`${name}-public-default`, { routeTableId: publicRoutes.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id }, opts);

    const publicSubnets: aws.ec2.Subnet[] = [];
    const privateSubnets: aws.ec2.Subnet[] = [];
    const nats: aws.ec2.NatGateway[] = [];
    for (let i = 0; i < azCount; i++) {
        const az = zone(i);
        const pub = new aws.ec2.Subnet(`${name}-public-${i}`, {
            vpcId: vpc.id,
            cidrBlock: cidrs[i],
            availabilityZone: az,
            // The load balancer and NAT gateways get their own addresses; nothing else lives here.
            mapPublicIpOnLaunch: false,
            tags: { ...tags, Name: `${name}-public-${i}`, Tier: "public" },
        }, opts);
        new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: pub.id, routeTableId: publicRoutes.id }, opts);
        publicSubnets.push(pub);

        if (natMode === "one-per-az" || i === 0) {
            const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: { ...tags, Name: `${name}-nat-${i}` } }, { parent, dependsOn: [igw] });
            nats.push(new aws.ec2.NatGateway(`${name}-nat-${i}`, { allocationId: eip.id, subnetId: pub.id, tags: { ...tags, Name: `${name}-nat-${i}` } }, { parent, dependsOn: [igw] }));
        }

        const priv = new aws.ec2.Subnet(`${name}-private-${i}`, {
            vpcId: vpc.id,
            cidrBlock: cidrs[azCount + i],
            availabilityZone: az,
            mapPublicIpOnLaunch: false,
            tags: { ...tags, Name: `${name}-private-${i}`, Tier: "private" },
        }, opts);
        const rt = new aws.ec2.RouteTable(`${name}-private-rt-${i}`, { vpcId: vpc.id, tags: { ...tags, Name: `${name}-private-${i}` } }, opts);
        new aws.ec2.Route(`${name}-private-default-${i}`, { routeTableId: rt.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nats[natMode === "one-per-az" ? i : 0].id }, opts);
        new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: priv.id, routeTableId: rt.id }, opts);
        privateSubnets.push(priv);
    }
    return { vpc, publicSubnets, privateSubnets };
}
