import * as assert from "assert";
import { LoadBalancer, ORIGIN_RULE_PRIORITY, TLS_POLICY } from "../../components";
import { buildComponent, promiseOf } from "../support/pulumi-mocks";

const ARGS = { vpcId: "vpc-1", subnetIds: ["subnet-a", "subnet-b"], securityGroupId: "sg-alb" };

describe("component: LoadBalancer", () => {
    describe("without a certificate", () => {
        let built: Awaited<ReturnType<typeof buildComponent<LoadBalancer>>>;
        before(async () => {
            built = await buildComponent((opts) => new LoadBalancer("lb", ARGS, opts));
        });

        it("is an internet-facing ALB in the public subnets that drops invalid headers", () => {
            const alb = built.resources.one("aws:lb/loadBalancer:LoadBalancer").inputs;
            assert.strictEqual(alb.internal, false);
            assert.strictEqual(alb.loadBalancerType, "application");
            assert.deepStrictEqual(alb.subnets, ["subnet-a", "subnet-b"]);
            assert.deepStrictEqual(alb.securityGroups, ["sg-alb"]);
            assert.strictEqual(alb.dropInvalidHeaderFields, true);
        });

        it("health-checks the Django health view: 2 x 30 s to fail, 3 x 30 s to pass", () => {
            const tg = built.resources.one("aws:lb/targetGroup:TargetGroup").inputs;
            assert.strictEqual(tg.port, 8000);
            assert.strictEqual(tg.protocol, "HTTP");
            assert.strictEqual(tg.deregistrationDelay, 30);
            assert.deepStrictEqual(
                { path: tg.healthCheck.path, matcher: tg.healthCheck.matcher, interval: tg.healthCheck.interval, timeout: tg.healthCheck.timeout, healthy: tg.healthCheck.healthyThreshold, unhealthy: tg.healthCheck.unhealthyThreshold },
                { path: "/health/", matcher: "200", interval: 30, timeout: 5, healthy: 3, unhealthy: 2 },
            );
        });

        it("forwards HTTP to the target group, and exports that listener", async () => {
            const listener = built.resources.one("aws:lb/listener:Listener");
            assert.strictEqual(listener.inputs.port, 80);
            assert.deepStrictEqual(listener.inputs.defaultActions, [{ type: "forward", targetGroupArn: built.resources.one("aws:lb/targetGroup:TargetGroup").state.arn }]);
            assert.strictEqual(await promiseOf(built.component.listenerArn), listener.state.arn);
            assert.strictEqual(built.component.https, false);
        });
    });

    it("with an origin header: 403 by default, forward only when the header matches (below the maintenance rule's priority)", async () => {
        const built = await buildComponent((opts) => new LoadBalancer("lb", { ...ARGS, originHeader: { name: "X-Origin-Verify", value: "s3cret" } }, opts));
        const listener = built.resources.one("aws:lb/listener:Listener");
        assert.deepStrictEqual(listener.inputs.defaultActions, [{ type: "fixed-response", fixedResponse: { statusCode: "403", contentType: "text/plain", messageBody: "Forbidden" } }]);
        const rule = built.resources.one("aws:lb/listenerRule:ListenerRule").inputs;
        assert.strictEqual(rule.listenerArn, listener.state.arn);
        assert.strictEqual(rule.priority, ORIGIN_RULE_PRIORITY);
        assert.ok(ORIGIN_RULE_PRIORITY > 1, "priority 1 stays free for the release's maintenance rule");
        assert.deepStrictEqual(rule.conditions, [{ httpHeader: { httpHeaderName: "X-Origin-Verify", values: ["s3cret"] } }]);
        assert.deepStrictEqual(rule.actions, [{ type: "forward", targetGroupArn: built.resources.one("aws:lb/targetGroup:TargetGroup").state.arn }]);
    });

    describe("with a certificate and custom settings", () => {
        let built: Awaited<ReturnType<typeof buildComponent<LoadBalancer>>>;
        const cert = "arn:aws:acm:eu-west-1:123456789012:certificate/abc";
        before(async () => {
            built = await buildComponent((opts) => new LoadBalancer("lb", { ...ARGS, certificateArn: cert, appPort: 9000, healthCheckPath: "/status/", deregistrationDelay: 5 }, opts));
        });

        it("serves HTTPS with the TLS 1.3/1.2 policy and exports the HTTPS listener", async () => {
            const https = built.resources.named("lb-https");
            assert.strictEqual(https.inputs.protocol, "HTTPS");
            assert.strictEqual(https.inputs.port, 443);
            assert.strictEqual(https.inputs.sslPolicy, TLS_POLICY);
            assert.strictEqual(https.inputs.certificateArn, cert);
            assert.strictEqual(https.inputs.defaultActions[0].type, "forward");
            assert.strictEqual(await promiseOf(built.component.listenerArn), https.state.arn);
        });

        it("redirects HTTP to HTTPS permanently", () => {
            const http = built.resources.named("lb-http");
            assert.deepStrictEqual(http.inputs.defaultActions, [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]);
        });

        it("uses the configured port, health path and deregistration delay", () => {
            const tg = built.resources.one("aws:lb/targetGroup:TargetGroup").inputs;
            assert.deepStrictEqual([tg.port, tg.healthCheck.path, tg.deregistrationDelay], [9000, "/status/", 5]);
        });
    });
});
