/**
 * Finding 6 of issue 10: a secret printed on stderr by a failing remote command must not reach
 * the resource's state (status.reason, history[].reason, progress) nor its log lines.
 */
import * as assert from "node:assert/strict";
import { installVirtualClock, VirtualClock } from "../../testkit/sim-aws/clock";
import { SimAws } from "../../testkit/sim-aws";
import { releaseFailure } from "../../testkit/provider-world";
import { ReleaseProvider } from "../../providers/release/provider";
import { realClock } from "../../providers/release/ports";
import { REDACTED, Redactor, secretValuesOf } from "../../providers/release/redact";
import { FakeRemotePhase, rawArgs } from "../../testkit/fakes";

const KEY_BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW";
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${KEY_BODY}\nQyNTUxOQAAACBc3ZtV2nH9yW0\n-----END OPENSSH PRIVATE KEY-----\n`;
const DB_PASSWORD = "Db-Passw0rd-from-the-stack-91";
const TOKEN = "ghp_0123456789abcdefTOKEN";

describe("redaction of secrets (issue 10, finding 6)", () => {
    describe("Redactor", () => {
        it("finds secrets by key name at any depth and in secretValues", () => {
            const found = secretValuesOf({ remote: { ssh: { privateKey: PRIVATE_KEY, host: "10.0.0.5" }, repositoryUrl: "https://x/y.git" }, secretValues: [DB_PASSWORD], dbPassword: "pw-123456" });
            assert.deepEqual(found.sort(), [DB_PASSWORD, PRIVATE_KEY, "pw-123456"].sort());
        });

        it("replaces whole values, each long line of a key, and URL passwords", () => {
            const r = new Redactor([PRIVATE_KEY, DB_PASSWORD]);
            assert.equal(r.redact(`psql: password ${DB_PASSWORD} rejected`), `psql: password ${REDACTED} rejected`);
            assert.equal(r.redact(`key line: ${KEY_BODY}`), `key line: ${REDACTED}`);
            assert.equal(r.redact(`fatal: https://bot:${TOKEN}@git.example.com/a.git not found`), `fatal: https://bot:${REDACTED}@git.example.com/a.git not found`);
            assert.equal(r.redact("nothing secret here"), "nothing secret here");
        });
    });

    describe("the Release provider", () => {
        let vc: VirtualClock;
        let sim: SimAws;
        let remote: FakeRemotePhase;
        let lines: string[];
        let provider: ReleaseProvider;

        beforeEach(() => {
            vc = installVirtualClock();
            sim = new SimAws();
            remote = new FakeRemotePhase(null);
            lines = [];
            provider = new ReleaseProvider({ cloud: () => sim.cloud(), remotePhase: async () => remote, clock: realClock, log: (l) => lines.push(l) });
        });
        afterEach(() => vc.uninstall());

        const news = (over: Record<string, any> = {}) => {
            const a = rawArgs(sim, { version: "v1.0.0", capacity: { minSize: 2, maxSize: 4, desiredCapacity: 2 }, secretValues: [DB_PASSWORD], ...over });
            a.remote.ssh.privateKey = PRIVATE_KEY;
            return { ...a, lockOwner: "shop/prod/web-release", __provider: "serialized" };
        };

        it("a failing remote command's stderr with secrets: none in status, history, progress or the log", async () => {
            const first = (await vc.drive(provider.check({}, news()))).inputs;
            const r = await vc.drive(provider.create(first));
            remote.failAt = {
                step: "migrate",
                stderr: `Traceback (most recent call last):\ndjango.db.utils.OperationalError: password ${DB_PASSWORD} for user django\nssh key ${KEY_BODY}\nfatal: could not read https://bot:${TOKEN}@git.example.com/shop.git`,
            };
            const v2 = (await vc.drive(provider.check(first, news({ version: "v1.1.0" })))).inputs;
            const failed = await releaseFailure(vc.drive(provider.update(r.id, r.outs, v2)));
            const props: any = failed.properties;
            assert.match(props.status.reason, /remote\/migrate/);
            assert.match(props.status.reason, /OperationalError: password \[redacted\] for user django/, "the cause is kept, the secret is not");
            const state = JSON.stringify({ status: props.status, history: props.history, progress: props.progress, message: failed.message });
            for (const secret of [DB_PASSWORD, KEY_BODY, TOKEN]) {
                assert.ok(!state.includes(secret), `${secret} in the state: ${state}`);
                const leaked = lines.filter((l) => l.includes(secret));
                assert.deepEqual(leaked, [], `${secret} in the log`);
            }
            assert.ok(lines.some((l) => l.includes(REDACTED)), "the failure was logged (redacted)");
            assert.equal(props.history[props.history.length - 1].reason, props.status.reason);
        });
    });
});
