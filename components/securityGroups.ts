import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_DEFAULTS } from "../settings/schema";

/** The CloudFront origin-facing managed prefix list (AWS-owned, same name in every region). */
export const CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing";

export interface SecurityGroupsArgs {
    readonly vpcId: pulumi.Input<string>;
    /** Port gunicorn listens on, opened from the load balancer to the web instances only. */
    readonly appPort: number;
    /**
     * Who reaches the load balancer. "internet": 0.0.0.0/0 and ::/0 on 80 and 443.
     * "cloudfront": the CloudFront origin-facing prefix list on the origin port only (443 with a
     * certificate, else 80); one rule, because that list weighs ~55 rules against the
     * security group's quota of 60.
     * @default PROJECT_DEFAULTS.albIngress
     */
    readonly albIngress?: "cloudfront" | "internet";
    /** Whether the load balancer serves HTTPS (decides the CloudFront origin port). @default false */
    readonly https?: boolean;
    /** IPv4 CIDR allowed to SSH to the web and management instances; never 0.0.0.0/0. @default - no SSH ingress */
    readonly adminCidr?: string;
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * The security-group chain: internet or CloudFront -> ALB 80/443 -> web app port -> EFS 2049
 * and DB 5432; management -> EFS and DB; SSH only from adminCidr. Rules are separate
 * resources (aws.vpc.SecurityGroup{Ingress,Egress}Rule), so groups can reference each other.
 */
export class SecurityGroups extends pulumi.ComponentResource {
    readonly alb: aws.ec2.SecurityGroup;
    readonly web: aws.ec2.SecurityGroup;
    readonly management: aws.ec2.SecurityGroup;
    readonly efs: aws.ec2.SecurityGroup;
    readonly database: aws.ec2.SecurityGroup;

    constructor(name: string, args: SecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:SecurityGroups", name, {}, opts);
        if (args.adminCidr !== undefined && /\/0$/.test(args.adminCidr)) {
            throw new Error(`SecurityGroups ${name}: adminCidr "${args.adminCidr}" would open SSH to the whole internet`);
        }
        const tags = args.tags ?? {};
        const o = { parent: this };
        const group = (role: string, description: string) =>
            new aws.ec2.SecurityGroup(`${name}-${role}`, { vpcId: args.vpcId, description, tags: { ...tags, Name: `${name}-${role}` } }, o);
        const ingress = (rule: string, groupId: pulumi.Input<string>, port: number, from: { cidrIpv4?: string; cidrIpv6?: string; referencedSecurityGroupId?: pulumi.Input<string>; prefixListId?: pulumi.Input<string> }, description: string) =>
            new aws.vpc.SecurityGroupIngressRule(`${name}-${rule}`, { securityGroupId: groupId, ipProtocol: "tcp", fromPort: port, toPort: port, description, ...from, tags }, o);
        const egressAll = (role: string, groupId: pulumi.Input<string>, description: string) => {
            new aws.vpc.SecurityGroupEgressRule(`${name}-${role}-egress`, { securityGroupId: groupId, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0", description, tags }, o);
        };

        this.alb = group("alb", "Load balancer: HTTP/HTTPS from viewers");
        this.web = group("web", "Web instances: app port from the load balancer");
        this.management = group("management", "Management instance: outbound only (SSM), SSH from the admin range");
        this.efs = group("efs", "EFS: NFS from web and management instances");
        this.database = group("db", "PostgreSQL: from web and management instances");

        // Viewers -> ALB.
        if ((args.albIngress ?? PROJECT_DEFAULTS.albIngress) === "cloudfront") {
            const pl = aws.ec2.getManagedPrefixListOutput({ name: CLOUDFRONT_ORIGIN_FACING_PREFIX_LIST }, o);
            const port = args.https ? 443 : 80;
            ingress(`alb-in-${port}-cloudfront`, this.alb.id, port, { prefixListId: pl.id }, `HTTP${args.https ? "S" : ""} from CloudFront`);
        } else {
            for (const port of [80, 443]) {
                ingress(`alb-in-${port}`, this.alb.id, port, { cidrIpv4: "0.0.0.0/0" }, `Port ${port} from anywhere (IPv4)`);
                ingress(`alb-in-${port}-v6`, this.alb.id, port, { cidrIpv6: "::/0" }, `Port ${port} from anywhere (IPv6)`);
            }
        }
        // ALB -> web, and nothing else.
        new aws.vpc.SecurityGroupEgressRule(`${name}-alb-to-web`, { securityGroupId: this.alb.id, ipProtocol: "tcp", fromPort: args.appPort, toPort: args.appPort, referencedSecurityGroupId: this.web.id, description: "To the web instances' app port", tags }, o);
        ingress("web-in-app", this.web.id, args.appPort, { referencedSecurityGroupId: this.alb.id }, "App port from the load balancer");

        // Web and management -> EFS and DB.
        for (const [client, sg] of [["web", this.web], ["management", this.management]] as const) {
            ingress(`efs-in-${client}`, this.efs.id, 2049, { referencedSecurityGroupId: sg.id }, `NFS from ${client} instances`);
            ingress(`db-in-${client}`, this.database.id, 5432, { referencedSecurityGroupId: sg.id }, `PostgreSQL from ${client} instances`);
        }

        // SSH only from the admin range.
        if (args.adminCidr !== undefined) {
            ingress("web-in-ssh", this.web.id, 22, { cidrIpv4: args.adminCidr }, "SSH from the admin range");
            ingress("management-in-ssh", this.management.id, 22, { cidrIpv4: args.adminCidr }, "SSH from the admin range");
        }

        // Instances reach packages, git, SSM and other AWS APIs through the NAT gateways.
        egressAll("web", this.web.id, "Outbound (packages, SSM, EFS, DB) through NAT");
        egressAll("management", this.management.id, "Outbound (packages, git, SSM, EFS, DB) through NAT");
        // EFS and the database initiate nothing: no egress rules.

        this.registerOutputs({ albId: this.alb.id, webId: this.web.id, managementId: this.management.id, efsId: this.efs.id, databaseId: this.database.id });
    }
}
