/**
 * The point of no return, end to end with real Django and PostgreSQL: the real remote phase (over
 * OpenSSH into the example site) applies the example app's v3, a RenameField, under migration
 * policy maintenance; then a later step fails on the AWS side (the simulated AWS refuses
 * ec2:CreateImage, so the bake fails). The release must not put v2 back onto the renamed schema:
 * the management instance stays on v3, the maintenance page (the ALB listener rule) stays on, the
 * column stays renamed, and the outcome names the schema state, what was applied and the ways
 * forward.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { runRelease } from "../../providers/release/executor";
import { MAINTENANCE_TAG } from "../../providers/release/engine/tags";
import { realClock } from "../../providers/release/ports";
import { createRemotePhase } from "../../providers/release/remote";
import { awsError } from "../../testkit/sim-aws/service";
import { inputs } from "../../testkit/fakes";
import { runningFleet } from "../../testkit/world";
import { ExampleSite, httpGet, startExampleSite } from "../../testkit/site";

describe("point of no return end to end (real Django, PostgreSQL, OpenSSH; simulated AWS)", function () {
    this.timeout(300_000);
    let site: ExampleSite;

    before(async function () {
        site = await startExampleSite();
        // The inspection runs django_fleet's deploy checks, which need STATIC_ROOT; site.ts's
        // inspection env lacks it (test/remote/e2e.spec.ts's inspect cases fail on it the same way).
        fs.appendFileSync(site.settings.inspectEnvFile!, `STATIC_ROOT=${site.staticRoot}\n`);
        // The site as a release left it: v2 live on the management instance, with a product.
        const phase = await createRemotePhase(site.settings);
        try {
            await phase.apply("v1", { migrationPolicy: "refuse", log: () => undefined });
            site.pg.psql("INSERT INTO catalog_product (name) VALUES ('Teapot')");
            await phase.apply("v2", { migrationPolicy: "refuse", log: () => undefined });
        } finally {
            await phase.close();
        }
    });
    after(async () => site?.stop());

    it("v2 -> v3 (RenameField) under maintenance, then the bake fails: failed, not rolled back; v3 and the renamed column stay, the page stays on, the outcome says why and what next", async function () {
        const w = runningFleet(2);
        const deployed = { ...w.deployed, version: "v2" };
        // The AWS side fails after the remote phase: the deploy role may not create the image.
        w.sim.inject = (c) => (c.command === "CreateImage" ? awsError("UnauthorizedOperation", "You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/deploy is not authorized to perform: ec2:CreateImage", 403) : undefined);
        const lines: string[] = [];
        let error: any;
        try {
            await runRelease({
                cloud: w.sim.cloud(),
                remotePhase: () => createRemotePhase(site.settings),
                clock: realClock,
                log: (l) => lines.push(l),
                inputs: inputs(w.sim, { version: "v3", migrationPolicy: "maintenance", remote: { ...site.settings }, rollout: { maxSurge: 1 } }),
                deployed,
                owner: "shop/prod/web-release",
            });
        } catch (e) {
            error = e;
        }
        assert.equal(error?.outcome, "failed", `${error?.message ?? "no error"}\n${lines.join("\n")}`);
        const m: string = error.message;
        // The outcome: the schema state, what was applied, the ways forward.
        assert.match(m, /failed at bake: .*not authorized to perform: ec2:CreateImage/);
        assert.match(m, /NOT rolled back: past the point of no return/);
        assert.match(m, /Applied: catalog\.0003_rename_name_title RenameField \(RENAME_COLUMN\)/);
        assert.match(m, /The database schema is now ahead of v2, so v2 was not put back: the management instance stays on v3/);
        assert.match(m, /maintenance page \(.+\) stays on/);
        assert.match(m, /Ways forward: release a fixed version .* or migrate backwards by hand .*python manage\.py migrate catalog <the migration before 0003_rename_name_title>.* and then release v2 again/);
        // The management instance still runs v3: never reverted.
        assert.equal(fs.readlinkSync(path.join(site.appDir, "current")), "releases/v3");
        assert.ok(!lines.some((l) => /revert|management instance back/.test(l)), lines.join("\n"));
        const page = await httpGet(site.mgmtPort, "/");
        assert.equal(page.status, 200, page.body.slice(0, 500));
        assert.match(page.body, /Catalog \(v3\)[\s\S]*Teapot/);
        // The database has the renamed column (and the migration recorded), not the old one.
        const cols = site.pg.psql("SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'catalog_product'");
        assert.ok(cols.split(",").includes("title") && !cols.split(",").includes("name"), cols);
        assert.equal(site.pg.psql("SELECT count(*) FROM django_migrations WHERE name = '0003_rename_name_title'"), "1");
        // The maintenance page (the listener rule) stays on; the fleet was never touched; the lock is released.
        assert.equal(w.sim.rules.size, 1, "maintenance page stays on");
        assert.equal(w.sim.apiCalls((c) => c.command === "ModifyLaunchTemplate").length, 0);
        assert.deepEqual(w.sim.fleetVersions(), [w.deployed.launchTemplateVersion]);
        // Lock and progress tags released (a fixed version can go out at once); the marker that makes it look for the page stays.
        assert.deepEqual([...w.sim.group.tags.keys()], [MAINTENANCE_TAG], "lock and progress tags released");
    });
});
