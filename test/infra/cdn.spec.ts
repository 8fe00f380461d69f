import * as assert from "assert";
import { Cdn, MANAGED, UNCACHED_ERROR_CODES } from "../../components";
import { buildComponent, promiseOf } from "../support/pulumi-mocks";

const DIST = "aws:cloudfront/distribution:Distribution";

describe("component: Cdn", () => {
    describe("in front of a plain-HTTP origin (an explicit choice)", () => {
        let built: Awaited<ReturnType<typeof buildComponent<Cdn>>>;
        before(async () => {
            built = await buildComponent((opts) => new Cdn("cdn", { originDomainName: "alb.example.elb.amazonaws.com", originProtocol: "plain-http" }, opts));
        });

        it("uses the load balancer as its only origin, over HTTP", () => {
            const d = built.resources.one(DIST).inputs;
            assert.strictEqual(d.origins.length, 1);
            assert.strictEqual(d.origins[0].domainName, "alb.example.elb.amazonaws.com");
            assert.strictEqual(d.origins[0].customOriginConfig.originProtocolPolicy, "http-only");
        });

        it("caches /static/* long and compressed", () => {
            const [b] = built.resources.one(DIST).inputs.orderedCacheBehaviors;
            assert.strictEqual(b.pathPattern, "/static/*");
            assert.strictEqual(b.cachePolicyId, MANAGED.cachingOptimized);
            assert.strictEqual(b.compress, true);
            assert.strictEqual(b.viewerProtocolPolicy, "redirect-to-https");
            assert.deepStrictEqual(b.allowedMethods, ["GET", "HEAD", "OPTIONS"]);
        });

        it("forwards only the viewer's Host on static requests (an HTTPS origin's certificate is checked against it)", () => {
            const [b] = built.resources.one(DIST).inputs.orderedCacheBehaviors;
            const policy = built.resources.one("aws:cloudfront/originRequestPolicy:OriginRequestPolicy");
            assert.strictEqual(b.originRequestPolicyId, policy.id);
            assert.deepStrictEqual(policy.inputs.headersConfig, { headerBehavior: "whitelist", headers: { items: ["Host"] } });
            assert.deepStrictEqual(policy.inputs.cookiesConfig, { cookieBehavior: "none" });
            assert.deepStrictEqual(policy.inputs.queryStringsConfig, { queryStringBehavior: "none" });
        });

        it("passes everything else through uncached with the viewer's headers, cookies and query", () => {
            const b = built.resources.one(DIST).inputs.defaultCacheBehavior;
            assert.strictEqual(b.cachePolicyId, MANAGED.cachingDisabled);
            assert.strictEqual(b.originRequestPolicyId, MANAGED.allViewerOriginRequest);
            assert.strictEqual(b.viewerProtocolPolicy, "redirect-to-https");
            assert.ok(b.allowedMethods.includes("POST"));
        });

        it("never caches error responses, 404 included", () => {
            const errors = built.resources.one(DIST).inputs.customErrorResponses;
            assert.deepStrictEqual(errors.map((e: any) => e.errorCode), [...UNCACHED_ERROR_CODES]);
            assert.ok(errors.some((e: any) => e.errorCode === 404));
            for (const e of errors) assert.strictEqual(e.errorCachingMinTtl, 0);
        });

        it("uses the CloudFront certificate and domain without aliases", async () => {
            const d = built.resources.one(DIST).inputs;
            assert.deepStrictEqual(d.viewerCertificate, { cloudfrontDefaultCertificate: true });
            assert.deepStrictEqual(d.aliases ?? [], []);
            assert.strictEqual(await promiseOf(built.component.domainName), "d111111abcdef8.cloudfront.net");
        });
    });

    it("serves an alias with its us-east-1 certificate, connects to the origin over HTTPS, and follows STATIC_URL", async () => {
        const cert = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
        const built = await buildComponent((opts) => new Cdn("cdn", { originDomainName: "alb", originProtocol: "https", aliases: ["www.example.com"], certificateArn: cert, staticUrl: "/assets/" }, opts));
        const d = built.resources.one(DIST).inputs;
        assert.deepStrictEqual(d.aliases, ["www.example.com"]);
        assert.deepStrictEqual(d.viewerCertificate, { acmCertificateArn: cert, sslSupportMethod: "sni-only", minimumProtocolVersion: "TLSv1.2_2021" });
        assert.strictEqual(d.origins[0].customOriginConfig.originProtocolPolicy, "https-only");
        assert.deepStrictEqual(d.origins[0].customOriginConfig.originSslProtocols, ["TLSv1.2"]);
        assert.strictEqual(d.orderedCacheBehaviors[0].pathPattern, "/assets/*");
    });

    it("sends the origin header with every origin request", async () => {
        const built = await buildComponent((opts) => new Cdn("cdn", { originDomainName: "alb", originProtocol: "https", originHeader: { name: "X-Origin-Verify", value: "s3cret" } }, opts));
        assert.deepStrictEqual(built.resources.one(DIST).inputs.origins[0].customHeaders, [{ name: "X-Origin-Verify", value: "s3cret" }]);
    });

    it("has no default origin protocol: plain HTTP must be asked for", () => {
        assert.throws(() => new Cdn("cdn", { originDomainName: "alb" } as any), /originProtocol undefined must be "https" or, as an explicit choice, "plain-http"/);
    });

    it("refuses aliases without a certificate", () => {
        assert.throws(() => new Cdn("cdn", { originDomainName: "alb", originProtocol: "https", aliases: ["www.example.com"] }), /aliases \(www\.example\.com\) need a certificateArn/);
    });
});
