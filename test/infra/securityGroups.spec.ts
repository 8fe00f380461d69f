import * as assert from "assert";
import { CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST, SecurityGroups, SecurityGroupsArgs } from "../../components";
import { buildComponent } from "../support/pulumi-mocks";

const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule";

async function build(args: Partial<SecurityGroupsArgs>) {
    const built = await buildComponent((opts) => new SecurityGroups("sg", { vpcId: "vpc-1", appPort: 8000, ...args }, opts));
    const id = (role: string) => built.resources.named(`sg-${role}`).id;
    return { ...built, id };
}

describe("component: SecurityGroups", () => {
    it("lets only CloudFront reach the load balancer, on the origin port, by default", async () => {
        const { resources, id } = await build({ https: true });
        const alb = resources.ofType(INGRESS).filter((r) => r.inputs.securityGroupId === id("alb"));
        assert.strictEqual(alb.length, 1, "one rule: the prefix list weighs ~55 rules against the quota of 60");
        assert.strictEqual(alb[0].inputs.prefixListId, "pl-4fa04526");
        assert.strictEqual(alb[0].inputs.fromPort, 443);
        const call = resources.calls.find((c) => c.token === "aws:ec2/getManagedPrefixList:getManagedPrefixList")!;
        assert.strictEqual(call.inputs.name, CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST);
    });

    it("opens port 80 to CloudFront when the load balancer serves plain HTTP", async () => {
        const { resources, id } = await build({ https: false });
        const alb = resources.ofType(INGRESS).filter((r) => r.inputs.securityGroupId === id("alb"));
        assert.deepStrictEqual(alb.map((r) => r.inputs.fromPort), [80]);
    });

    it("opens 80 and 443 to the internet (IPv4 and IPv6) with albIngress internet", async () => {
        const { resources, id } = await build({ albIngress: "internet" });
        const alb = resources.ofType(INGRESS).filter((r) => r.inputs.securityGroupId === id("alb"));
        assert.deepStrictEqual(alb.map((r) => `${r.inputs.fromPort} ${r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6}`).sort(), ["443 0.0.0.0/0", "443 ::/0", "80 0.0.0.0/0", "80 ::/0"]);
    });

    it("chains ALB -> web (app port) -> EFS and DB, with management also reaching EFS and DB", async () => {
        const { resources, id } = await build({ appPort: 8080 });
        const rule = (role: string) => resources.ofType(INGRESS).filter((r) => r.inputs.securityGroupId === id(role)).map((r) => [r.inputs.fromPort, r.inputs.toPort, r.inputs.referencedSecurityGroupId]).sort();
        assert.deepStrictEqual(rule("web"), [[8080, 8080, id("alb")]]);
        assert.deepStrictEqual(rule("efs"), [[2049, 2049, id("web")], [2049, 2049, id("management")]].sort());
        assert.deepStrictEqual(rule("db"), [[5432, 5432, id("web")], [5432, 5432, id("management")]].sort());
        assert.deepStrictEqual(rule("management"), []);
    });

    it("lets the load balancer send only to the web instances' app port; EFS and DB send nothing", async () => {
        const { resources, id } = await build({});
        const egress = resources.ofType(EGRESS);
        const from = (role: string) => egress.filter((r) => r.inputs.securityGroupId === id(role));
        assert.deepStrictEqual(from("alb").map((r) => [r.inputs.fromPort, r.inputs.referencedSecurityGroupId]), [[8000, id("web")]]);
        assert.deepStrictEqual(from("efs"), []);
        assert.deepStrictEqual(from("db"), []);
        assert.strictEqual(from("web").length, 1);
        assert.strictEqual(from("management").length, 1);
    });

    it("opens SSH only from the admin range, and not at all without one", async () => {
        const withAdmin = await build({ adminCidr: "203.0.113.0/24" });
        const ssh = withAdmin.resources.ofType(INGRESS).filter((r) => r.inputs.fromPort === 22);
        assert.deepStrictEqual(ssh.map((r) => [r.inputs.securityGroupId, r.inputs.cidrIpv4]).sort(), [[withAdmin.id("web"), "203.0.113.0/24"], [withAdmin.id("management"), "203.0.113.0/24"]].sort());
        const without = await build({});
        assert.deepStrictEqual(without.resources.ofType(INGRESS).filter((r) => r.inputs.fromPort === 22), []);
    });

    it("refuses an admin range of the whole internet", () => {
        assert.throws(() => new SecurityGroups("sg", { vpcId: "vpc-1", appPort: 8000, adminCidr: "0.0.0.0/0" }), /adminCidr "0\.0\.0\.0\/0" would open SSH to the whole internet/);
    });
});
