import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_DEFAULTS } from "../settings/schema";

/** AWS managed policies (fixed ids, the same in every account). */
export const MANAGED = {
    cachingOptimized: "658327ea-f89d-4fab-a63d-7e88639e58f6",
    cachingDisabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    allViewerOriginRequest: "216adef6-5c7f-47e4-b989-5492eafa07d3",
} as const;

/** Error codes whose responses CloudFront must not cache (an origin hiccup or a not-yet-known hashed file). */
export const UNCACHED_ERROR_CODES = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504] as const;

export interface CdnArgs {
    /** DNS name CloudFront connects to: the load balancer's. */
    readonly originDomainName: pulumi.Input<string>;
    /**
     * How CloudFront connects to the origin: "https" (the load balancer has a certificate
     * covering `aliases`, checked against the forwarded Host) or "plain-http", which sends the
     * origin header, cookies and form posts in clear text across the internet and must be
     * an explicit choice (the plainHttpOrigin setting). No default.
     */
    readonly originProtocol: "https" | "plain-http";
    /** STATIC_URL: `${staticUrl}*` is cached long and compressed. @default PROJECT_DEFAULTS.staticUrl */
    readonly staticUrl?: string;
    /** Viewer host names (CloudFront aliases). @default [] */
    readonly aliases?: string[];
    /** ACM certificate in us-east-1 for the aliases. Required with aliases. @default - the *.cloudfront.net certificate */
    readonly certificateArn?: pulumi.Input<string>;
    /** @default PROJECT_DEFAULTS.cdnPriceClass */
    readonly priceClass?: string;
    /** Header sent with every origin request (the load balancer's proof that it comes from here). @default - none */
    readonly originHeader?: { readonly name: string; readonly value: pulumi.Input<string> };
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * CloudFront in front of the load balancer. STATIC_URL is cached long (hashed file names
 * change with content) and compressed; everything else passes through uncached with the
 * viewer's headers, cookies and query strings. Error responses are never cached (min TTL 0),
 * so a hashed file requested before every instance knows it is not stuck as a 404.
 */
export class Cdn extends pulumi.ComponentResource {
    readonly distribution: aws.cloudfront.Distribution;
    readonly staticOriginRequestPolicy: aws.cloudfront.OriginRequestPolicy;
    readonly distributionId: pulumi.Output<string>;
    readonly domainName: pulumi.Output<string>;

    constructor(name: string, args: CdnArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:Cdn", name, {}, opts);
        const aliases = args.aliases ?? [];
        if (args.originProtocol !== "https" && args.originProtocol !== "plain-http") {
            throw new Error(`Cdn ${name}: originProtocol ${JSON.stringify(args.originProtocol)} must be "https" or, as an explicit choice, "plain-http"`);
        }
        if (aliases.length > 0 && args.certificateArn === undefined) {
            throw new Error(`Cdn ${name}: aliases (${aliases.join(", ")}) need a certificateArn (ACM, us-east-1)`);
        }
        const originId = "alb";
        const staticUrl = args.staticUrl ?? PROJECT_DEFAULTS.staticUrl;

        // Static requests carry the viewer's Host to the load balancer, as the default behaviour
        // does: over HTTPS CloudFront checks the origin's certificate against that host (the
        // certificate covers the site's domain, not the load balancer's *.elb name), and the app
        // sees the same host for pages and assets. Host is not part of the cache key.
        this.staticOriginRequestPolicy = new aws.cloudfront.OriginRequestPolicy(`${name}-static-origin`, {
            comment: `${name}: static files, forward the viewer's Host only`,
            headersConfig: { headerBehavior: "whitelist", headers: { items: ["Host"] } },
            cookiesConfig: { cookieBehavior: "none" },
            queryStringsConfig: { queryStringBehavior: "none" },
        }, { parent: this });

        this.distribution = new aws.cloudfront.Distribution(`${name}-distribution`, {
            enabled: true,
            isIpv6Enabled: true,
            httpVersion: "http2and3",
            comment: `${name}: Django site`,
            priceClass: args.priceClass ?? PROJECT_DEFAULTS.cdnPriceClass,
            aliases,
            origins: [{
                originId,
                domainName: args.originDomainName,
                customHeaders: args.originHeader ? [{ name: args.originHeader.name, value: args.originHeader.value }] : undefined,
                customOriginConfig: {
                    httpPort: 80,
                    httpsPort: 443,
                    originProtocolPolicy: args.originProtocol === "https" ? "https-only" : "http-only",
                    originSslProtocols: ["TLSv1.2"],
                    originReadTimeout: 60,
                    originKeepaliveTimeout: 5,
                },
            }],
            defaultCacheBehavior: {
                targetOriginId: originId,
                viewerProtocolPolicy: "redirect-to-https",
                allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                cachedMethods: ["GET", "HEAD"],
                cachePolicyId: MANAGED.cachingDisabled,
                originRequestPolicyId: MANAGED.allViewerOriginRequest,
                compress: true,
            },
            orderedCacheBehaviors: [{
                pathPattern: `${staticUrl}*`,
                targetOriginId: originId,
                viewerProtocolPolicy: "redirect-to-https",
                allowedMethods: ["GET", "HEAD", "OPTIONS"],
                cachedMethods: ["GET", "HEAD"],
                cachePolicyId: MANAGED.cachingOptimized,
                originRequestPolicyId: this.staticOriginRequestPolicy.id,
                compress: true,
            }],
            customErrorResponses: UNCACHED_ERROR_CODES.map((errorCode) => ({ errorCode, errorCachingMinTtl: 0 })),
            restrictions: { geoRestriction: { restrictionType: "none" } },
            viewerCertificate: args.certificateArn !== undefined
                ? { acmCertificateArn: args.certificateArn, sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" }
                : { cloudfrontDefaultCertificate: true },
            tags: args.tags ?? {},
        }, { parent: this });

        this.distributionId = this.distribution.id;
        this.domainName = this.distribution.domainName;
        this.registerOutputs({ distributionId: this.distributionId, domainName: this.domainName });
    }
}
