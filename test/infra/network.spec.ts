import * as assert from "assert";
import { Network, subnetCidrs } from "../../components";
import { buildComponent, promiseOf } from "../support/pulumi-mocks";

describe("component: Network", () => {
    it("subnetCidrs slices the VPC CIDR into consecutive /+4 blocks", () => {
        assert.deepStrictEqual(subnetCidrs("10.0.0.0/16", 4), ["10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20"]);
        assert.deepStrictEqual(subnetCidrs("10.20.0.0/24", 2), ["10.20.0.0/28", "10.20.0.16/28"]);
        assert.throws(() => subnetCidrs("10.0.0.0/16", 17), /do not fit/);
    });

    describe("a new VPC over two AZs with the defaults", () => {
        let built: Awaited<ReturnType<typeof buildComponent<Network>>>;
        before(async () => {
            built = await buildComponent((opts) => new Network("net", {}, opts));
        });

        it("creates public and private subnets in distinct zones with their own CIDRs", () => {
            const subnets = built.resources.ofType("aws:ec2/subnet:Subnet");
            assert.deepStrictEqual(subnets.map((s) => [s.name, s.inputs.cidrBlock, s.inputs.availabilityZone]).sort(), [
                ["net-private-0", "10.0.32.0/20", "eu-west-1a"],
                ["net-private-1", "10.0.48.0/20", "eu-west-1b"],
                ["net-public-0", "10.0.0.0/20", "eu-west-1a"],
                ["net-public-1", "10.0.16.0/20", "eu-west-1b"],
            ]);
            assert.strictEqual(built.resources.one("aws:ec2/vpc:Vpc").inputs.cidrBlock, "10.0.0.0/16");
            assert.strictEqual(built.resources.one("aws:ec2/vpc:Vpc").inputs.enableDnsHostnames, true, "EFS mount names resolve");
        });

        it("routes public subnets to the internet gateway and each private subnet to its own zone's NAT", () => {
            const routes = built.resources.ofType("aws:ec2/route:Route");
            const igw = built.resources.one("aws:ec2/internetGateway:InternetGateway");
            assert.strictEqual(built.resources.named("net-public-default").inputs.gatewayId, igw.id);
            const nats = built.resources.ofType("aws:ec2/natGateway:NatGateway");
            assert.strictEqual(nats.length, 2);
            assert.deepStrictEqual(nats.map((n) => n.inputs.subnetId).sort(), built.resources.ofType("aws:ec2/subnet:Subnet").filter((s) => s.name.startsWith("net-public")).map((s) => s.id).sort());
            assert.strictEqual(built.resources.named("net-private-default-0").inputs.natGatewayId, built.resources.named("net-nat-0").id);
            assert.strictEqual(built.resources.named("net-private-default-1").inputs.natGatewayId, built.resources.named("net-nat-1").id);
            assert.strictEqual(routes.length, 3);
        });

        it("locks down the VPC's default security group", () => {
            const sg = built.resources.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup");
            assert.ok(!sg.inputs.ingress?.length && !sg.inputs.egress?.length);
        });

        it("exposes the ids", async () => {
            assert.strictEqual(await promiseOf(built.component.vpcId), built.resources.one("aws:ec2/vpc:Vpc").id);
            assert.deepStrictEqual(await promiseOf(built.component.privateSubnetIds), [built.resources.named("net-private-0").id, built.resources.named("net-private-1").id]);
            assert.deepStrictEqual(await promiseOf(built.component.publicSubnetIds), [built.resources.named("net-public-0").id, built.resources.named("net-public-1").id]);
        });
    });

    it("shares one NAT gateway when natGateways is single", async () => {
        const built = await buildComponent((opts) => new Network("net", { availabilityZoneCount: 3, natGateways: "single", cidrBlock: "10.20.0.0/16" }, opts));
        const nat = built.resources.one("aws:ec2/natGateway:NatGateway");
        for (let i = 0; i < 3; i++) assert.strictEqual(built.resources.named(`net-private-default-${i}`).inputs.natGatewayId, nat.id);
        assert.strictEqual(built.resources.ofType("aws:ec2/subnet:Subnet").length, 6);
        assert.strictEqual(built.resources.named("net-private-2").inputs.cidrBlock, "10.20.80.0/20");
    });

    it("passes an existing VPC through without creating anything", async () => {
        const built = await buildComponent((opts) => new Network("net", { existing: { vpcId: "vpc-1", publicSubnetIds: ["subnet-a", "subnet-b"], privateSubnetIds: ["subnet-c", "subnet-d"] } }, opts));
        assert.deepStrictEqual(built.resources.resources.map((r) => r.type), ["django-fleet:index:Network"]);
        assert.strictEqual(await promiseOf(built.component.vpcId), "vpc-1");
        assert.deepStrictEqual(await promiseOf(built.component.privateSubnetIds), ["subnet-c", "subnet-d"]);
    });
});
