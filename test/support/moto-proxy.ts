/**
 * The loopback proxy in front of moto (test support only): forwards every request to moto and
 * corrects the departures listed in test/support/moto.ts's header, numbered the same way here.
 * The service comes from the SigV4 credential scope, the action from the query-protocol body
 * (EC2, Auto Scaling, ELBv2) or the REST path (CloudFront).
 */
import * as http from "http";

interface Forwarded {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: Buffer;
}

export interface ProxyState {
    server: http.Server;
    requests: Record<string, number>;
    corrections: Record<string, number>;
}

const TEMPLATE_VERSION_TAG = "aws:ec2launchtemplate:version";

function serviceOf(req: http.IncomingMessage): string {
    const m = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(String(req.headers.authorization ?? ""));
    return m ? m[1] : "unknown";
}

function xmlEscape(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function createProxy(motoEndpoint: string): ProxyState {
    const target = new URL(motoEndpoint);
    const requests: Record<string, number> = {};
    const corrections: Record<string, number> = {};
    const corrected = (name: string) => (corrections[name] = (corrections[name] ?? 0) + 1);
    /** (3) template id + ClientToken -> the request's parameters and moto's first answer. */
    const templateTokens = new Map<string, { params: string; answer: Forwarded }>();

    function forward(req: http.IncomingMessage, body: Buffer): Promise<Forwarded> {
        const headers = { ...req.headers, "content-length": String(body.length) };
        delete headers["transfer-encoding"];
        return new Promise((resolve, reject) => {
            const out = http.request(
                { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c) => chunks.push(c));
                    res.on("end", () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
                    res.on("error", reject);
                },
            );
            out.on("error", reject);
            out.end(body);
        });
    }

    /** A query-protocol call straight to moto, unsigned-looking but accepted (moto checks no signature). */
    async function query(service: string, params: Record<string, string>): Promise<string> {
        const res = await rawQuery(service, params);
        const text = res.body.toString();
        if (res.status !== 200) throw new Error(`moto-proxy: ${service} ${params.Action} answered ${res.status}: ${text.slice(0, 500)}`);
        return text;
    }

    function rawQuery(service: string, params: Record<string, string>): Promise<Forwarded> {
        const body = Buffer.from(new URLSearchParams(params).toString());
        return new Promise<Forwarded>((resolve, reject) => {
            const out = http.request(
                {
                    host: target.hostname,
                    port: target.port,
                    method: "POST",
                    path: "/",
                    headers: {
                        "content-type": "application/x-www-form-urlencoded; charset=utf-8",
                        "content-length": String(body.length),
                        authorization: `AWS4-HMAC-SHA256 Credential=testing/20200101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
                    },
                },
                (r) => {
                    const chunks: Buffer[] = [];
                    r.on("data", (c) => chunks.push(c));
                    r.on("end", () => resolve({ status: r.statusCode ?? 502, headers: r.headers, body: Buffer.concat(chunks) }));
                },
            );
            out.on("error", reject);
            out.end(body);
        });
    }

    /** (1) CreateImage without the snapshot tag specification, then CreateTags on its snapshots. */
    async function createImage(req: http.IncomingMessage, params: URLSearchParams): Promise<Forwarded> {
        const specs = new Map<string, [string, string][]>();
        const rest: [string, string][] = [];
        for (const [k, v] of params) {
            const m = /^TagSpecification\.(\d+)\.(.*)$/.exec(k);
            if (m) {
                if (!specs.has(m[1])) specs.set(m[1], []);
                specs.get(m[1])!.push([m[2], v]);
            } else rest.push([k, v]);
        }
        const snapshotSpecs = [...specs.values()].filter((s) => s.some(([k, v]) => k === "ResourceType" && v === "snapshot"));
        if (!snapshotSpecs.length) return forward(req, Buffer.from(params.toString()));
        const kept = [...specs.values()].filter((s) => !snapshotSpecs.includes(s));
        const out = new URLSearchParams(rest);
        kept.forEach((s, i) => s.forEach(([k, v]) => out.append(`TagSpecification.${i + 1}.${k}`, v)));
        const answer = await forward(req, Buffer.from(out.toString()));
        const imageId = /<imageId>([^<]+)<\/imageId>/.exec(answer.body.toString())?.[1];
        if (answer.status !== 200 || !imageId) return answer;
        const described = await query("ec2", { Action: "DescribeImages", Version: "2016-11-15", "ImageId.1": imageId });
        const snapshots = [...described.matchAll(/<snapshotId>([^<]+)<\/snapshotId>/g)].map((m) => m[1]);
        const tags: Record<string, string> = {};
        for (const spec of snapshotSpecs) {
            const keys = new Map<string, { key?: string; value?: string }>();
            for (const [k, v] of spec) {
                const m = /^Tag\.(\d+)\.(Key|Value)$/.exec(k);
                if (!m) continue;
                const t = keys.get(m[1]) ?? {};
                if (m[2] === "Key") t.key = v;
                else t.value = v;
                keys.set(m[1], t);
            }
            for (const t of keys.values()) if (t.key !== undefined) tags[t.key] = t.value ?? "";
        }
        if (snapshots.length && Object.keys(tags).length) {
            const p: Record<string, string> = { Action: "CreateTags", Version: "2016-11-15" };
            snapshots.forEach((s, i) => (p[`ResourceId.${i + 1}`] = s));
            Object.entries(tags).forEach(([k, v], i) => {
                p[`Tag.${i + 1}.Key`] = k;
                p[`Tag.${i + 1}.Value`] = v;
            });
            await query("ec2", p);
        }
        corrected("ec2:CreateImage snapshot tags");
        return answer;
    }

    /** (2) Each group instance's LaunchTemplate.Version from its aws:ec2launchtemplate:version tag. */
    async function instanceVersions(answer: Forwarded, action: string): Promise<Forwarded> {
        if (answer.status !== 200) return answer;
        const xml = answer.body.toString();
        const ids = [...xml.matchAll(/<InstanceId>(i-[^<]+)<\/InstanceId>/g)].map((m) => m[1]);
        if (!ids.length) return answer;
        const p: Record<string, string> = { Action: "DescribeInstances", Version: "2016-11-15" };
        [...new Set(ids)].forEach((id, i) => (p[`InstanceId.${i + 1}`] = id));
        const described = await query("ec2", p);
        const version: Record<string, string> = {};
        // Each <instanceId> is followed by that instance's own tagSet before the next instance's id.
        for (const item of described.split("<instanceId>").slice(1)) {
            const id = /^([^<]+)</.exec(item)?.[1];
            const tag = new RegExp(`<key>${TEMPLATE_VERSION_TAG}</key>\\s*<value>([^<]*)</value>`).exec(item)?.[1];
            if (id && tag) version[id] = tag;
        }
        let changed = false;
        // An instance member: <InstanceId>i-..</InstanceId> ... <LaunchTemplate>..<Version>N</Version>..</LaunchTemplate>, within one <member>.
        const fixed = xml.replace(/<member>((?:(?!<member>|<\/member>)[\s\S])*?<InstanceId>(i-[^<]+)<\/InstanceId>(?:(?!<member>|<\/member>)[\s\S])*?)<\/member>/g, (whole, inner: string, id: string) => {
            const v = version[id];
            if (!v) return whole;
            const next = inner.replace(/(<LaunchTemplate>(?:(?!<\/LaunchTemplate>)[\s\S])*?<Version>)([^<]*)(<\/Version>)/, (_m, a, old, b) => {
                if (old !== v) changed = true;
                return `${a}${xmlEscape(v)}${b}`;
            });
            return `<member>${next}</member>`;
        });
        if (!changed) return answer;
        corrected(`autoscaling:${action} instance versions`);
        return { ...answer, body: Buffer.from(fixed) };
    }

    /** (3) CreateLaunchTemplateVersion honours ClientToken. */
    async function createTemplateVersion(req: http.IncomingMessage, params: URLSearchParams): Promise<Forwarded> {
        const token = params.get("ClientToken");
        const template = params.get("LaunchTemplateId") ?? params.get("LaunchTemplateName");
        if (!token || !template) return forward(req, Buffer.from(params.toString()));
        const key = `${template}\u0000${token}`;
        const sorted = [...params].filter(([k]) => k !== "ClientToken").sort(([a], [b]) => a.localeCompare(b));
        const signature = JSON.stringify(sorted);
        const seen = templateTokens.get(key);
        if (seen) {
            corrected("ec2:CreateLaunchTemplateVersion ClientToken");
            if (seen.params === signature) return seen.answer;
            const msg = `Client token ${token} was used with different parameters.`;
            return xmlError(400, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>IdempotentParameterMismatch</Code><Message>${xmlEscape(msg)}</Message></Error></Errors><RequestID>moto-proxy</RequestID></Response>`);
        }
        const answer = await forward(req, Buffer.from(params.toString()));
        if (answer.status === 200) templateTokens.set(key, { params: signature, answer });
        return answer;
    }

    /**
     * (5) Auto Scaling calls on an instance or group that does not exist: moto answers HTTP 500 (an
     * HTML page, which the SDK retries); AWS answers 400 ValidationError.
     */
    async function autoScalingUnknown(req: http.IncomingMessage, params: URLSearchParams, action: string): Promise<Forwarded> {
        const answer = await forward(req, Buffer.from(params.toString()));
        if (answer.status !== 500) return answer;
        let msg: string | null = null;
        if (action === "TerminateInstanceInAutoScalingGroup") {
            const id = params.get("InstanceId") ?? "";
            const known = await query("autoscaling", { Action: "DescribeAutoScalingInstances", Version: "2011-01-01", "InstanceIds.member.1": id });
            if (!known.includes(`<InstanceId>${id}</InstanceId>`)) msg = `Instance Id not found - No managed instance found for instance ID: ${id}`;
        } else {
            const group = params.get("AutoScalingGroupName") ?? params.get("Tags.member.1.ResourceId") ?? "";
            const known = await query("autoscaling", { Action: "DescribeAutoScalingGroups", Version: "2011-01-01", "AutoScalingGroupNames.member.1": group });
            if (!known.includes(`<AutoScalingGroupName>${xmlEscape(group)}</AutoScalingGroupName>`)) msg = `AutoScalingGroup name not found - AutoScalingGroup ${group} not found`;
        }
        if (msg === null) return answer;
        corrected(`autoscaling:${action} unknown ${action === "TerminateInstanceInAutoScalingGroup" ? "instance" : "group"}`);
        return xmlError(
            400,
            `<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>${xmlEscape(msg)}</Message></Error><RequestId>moto-proxy</RequestId></ErrorResponse>`,
        );
    }

    /** (6) DeleteRule of a rule that does not exist: moto succeeds; AWS answers RuleNotFound (moto's DescribeRules error is that answer). */
    async function deleteRule(req: http.IncomingMessage, params: URLSearchParams): Promise<Forwarded> {
        const probe = await rawQuery("elasticloadbalancing", { Action: "DescribeRules", Version: "2015-12-01", "RuleArns.member.1": params.get("RuleArn") ?? "" });
        if (probe.status === 400 && probe.body.toString().includes("<Code>RuleNotFound</Code>")) {
            corrected("elasticloadbalancing:DeleteRule unknown rule");
            return probe;
        }
        return forward(req, Buffer.from(params.toString()));
    }

    /** (4) CloudFront: invalidation status COMPLETED -> Completed. */
    function cloudFront(answer: Forwarded): Forwarded {
        const xml = answer.body.toString();
        if (!xml.includes("<Status>COMPLETED</Status>")) return answer;
        corrected("cloudfront invalidation status");
        return { ...answer, body: Buffer.from(xml.replace(/<Status>COMPLETED<\/Status>/g, "<Status>Completed</Status>")) };
    }

    function xmlError(status: number, xml: string): Forwarded {
        return { status, headers: { "content-type": "text/xml" }, body: Buffer.from(xml) };
    }

    async function handle(req: http.IncomingMessage, body: Buffer): Promise<Forwarded> {
        const service = serviceOf(req);
        const form = String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded");
        const params = form ? new URLSearchParams(body.toString()) : null;
        const action = params?.get("Action") ?? `${req.method} ${String(req.url).split("?")[0].replace(/\/(distribution|invalidation)\/[^/]+/g, "/$1/{id}")}`;
        const name = `${service}:${action}`;
        requests[name] = (requests[name] ?? 0) + 1;
        if (service === "ec2" && params && action === "CreateImage") return createImage(req, params);
        if (service === "ec2" && params && action === "CreateLaunchTemplateVersion") return createTemplateVersion(req, params);
        if (service === "autoscaling" && params && !action.startsWith("Describe")) return autoScalingUnknown(req, params, action);
        if (service === "elasticloadbalancing" && params && action === "DeleteRule") return deleteRule(req, params);
        const answer = await forward(req, body);
        if (service === "autoscaling" && (action === "DescribeAutoScalingGroups" || action === "DescribeAutoScalingInstances")) return instanceVersions(answer, action);
        if (service === "cloudfront" && String(req.url).includes("/invalidation")) return cloudFront(answer);
        return answer;
    }

    const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => {
            handle(req, Buffer.concat(chunks)).then(
                (a) => {
                    const headers = { ...a.headers, "content-length": String(a.body.length) };
                    delete headers["transfer-encoding"];
                    res.writeHead(a.status, headers);
                    res.end(a.body);
                },
                (e) => {
                    res.writeHead(502, { "content-type": "text/plain" });
                    res.end(`moto-proxy: ${e?.stack ?? e}`);
                },
            );
        });
    });
    return { server, requests, corrections };
}
