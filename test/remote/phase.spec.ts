/** The remote phase's sequencing over a scripted transport (no SSH): steps, policies, failures. */
import { strict as assert } from "assert";
import { CommandResult, Remote, RemotePhaseError, RunOptions } from "../../providers/release/ports";
import * as c from "../../providers/release/remote/commands";
import { RemoteTimeoutError } from "../../providers/release/remote/errors";
import { InspectionUnavailableError, RemoteReleasePhase } from "../../providers/release/remote/phase";

const cfg = c.resolveSettings({ transport: "ssh", repositoryUrl: "https://git.example.com/shop.git" });

type Answer = Partial<CommandResult> | Error;

/** A Remote that records commands and answers from a script keyed by the command builders. */
class ScriptedRemote implements Remote {
    commands: string[] = [];
    closed = 0;
    constructor(private readonly answer: (command: string) => Answer | undefined) {}
    describe() {
        return "scripted";
    }
    async run(command: string, opts: RunOptions = {}): Promise<CommandResult> {
        this.commands.push(command);
        const a = this.answer(command) ?? {};
        if (a instanceof Error) throw a;
        for (const line of (a.stdout ?? "").split("\n").filter(Boolean)) opts.onLine?.(line, "stdout");
        return { exitCode: 0, stdout: "", stderr: "", durationMs: 1, ...a };
    }
    async close() {
        this.closed += 1;
    }
}

const planJson = (...operations: object[]) => JSON.stringify({ database: "default", pending: ["catalog.0002"], operations });
const addNullable = { app: "catalog", migration: "0002_d", operation: "AddField", description: "Add field d to product", field: { null: true, unique: false, primaryKey: false, hasDefault: false, manyToMany: false } };
const rename = { app: "catalog", migration: "0003_r", operation: "RenameField", description: "Rename field name on product to title" };

function script(version: string, over: Record<string, Answer> = {}, plan = planJson(addNullable)) {
    const base: Record<string, Answer> = {
        [c.checkout(cfg, version)]: { stdout: `current=v1\ncommit=abc123\n` },
        [c.install(cfg, version)]: { stdout: "Requirement already satisfied: Django\n" },
        [c.migrationPlan(cfg, version)]: { stdout: `${plan}\n` },
        [c.inspectCheckout(cfg, version)]: { stdout: `current=v1\ncommit=abc123\n` },
        [c.inspectInstall(cfg, version)]: { stdout: "Requirement already satisfied: Django\n" },
        [c.inspectPlan(cfg, version)]: { stdout: `${plan}\n` },
        [c.collectStatic(cfg, version, "v1")]: { stdout: `3 static files copied\nchanged-static-paths=["/static/js/app.js"]\n` },
    };
    return (command: string) => (command in over ? over[command] : base[command]);
}

const names = (remote: ScriptedRemote, version: string, previous = "v1") => {
    const known: Record<string, string> = {
        [c.checkout(cfg, version)]: "checkout",
        [c.install(cfg, version)]: "install",
        [c.migrationPlan(cfg, version)]: "plan",
        [c.inspectCheckout(cfg, version)]: "inspect checkout",
        [c.inspectInstall(cfg, version)]: "inspect install",
        [c.inspectPlan(cfg, version)]: "inspect plan",
        [c.migrate(cfg, version)]: "migrate",
        [c.collectStatic(cfg, version, previous)]: "collectstatic",
        [c.switchCurrent(cfg, version)]: "switch",
        [c.switchCurrent(cfg, previous)]: `switch ${previous}`,
        [c.restart(cfg)]: "restart",
        [c.healthCheck(cfg, version)]: "health",
        [c.healthCheck(cfg, previous)]: `health ${previous}`,
        [c.maintenanceOn(cfg)]: "maintenance on",
        [c.maintenanceOff(cfg)]: "maintenance off",
        [c.prune(cfg, [version, previous])]: "prune",
    };
    return remote.commands.map((cmd) => known[cmd] ?? `?? ${cmd}`);
};

async function rejection(p: Promise<unknown>): Promise<RemotePhaseError> {
    try {
        await p;
    } catch (e) {
        assert.ok(e instanceof RemotePhaseError, String(e));
        return e;
    }
    assert.fail("expected a RemotePhaseError");
}

describe("remote phase sequencing", function () {
    it("apply runs every step in order and reports migrations and changed static paths", async function () {
        const remote = new ScriptedRemote(script("v2"));
        const lines: string[] = [];
        const result = await new RemoteReleasePhase(cfg, remote).apply("v2", { migrationPolicy: "refuse", log: (l) => lines.push(l) });
        assert.deepEqual(names(remote, "v2"), ["checkout", "install", "plan", "migrate", "collectstatic", "switch", "restart", "health", "prune"]);
        assert.equal(result.version, "v2");
        assert.equal(result.commit, "abc123");
        assert.equal(result.previousVersion, "v1");
        assert.deepEqual(result.changedStaticPaths, ["/static/js/app.js"]);
        assert.deepEqual(result.migrations, {
            verdict: "safe",
            operations: [{ app: "catalog", migration: "0002_d", operation: "AddField", description: "Add field d to product", code: null, safety: "safe" }],
        });
        assert.ok(result.durationS >= 0);
        assert.ok(lines.includes("--> checkout") && lines.includes("    Requirement already satisfied: Django"));
        assert.ok(lines.includes("    safe     catalog.0002_d AddField: Add field d to product"));
    });

    it("skips migrate when nothing is pending", async function () {
        const remote = new ScriptedRemote(script("v2", {}, JSON.stringify({ database: "default", pending: [], operations: [] })));
        const result = await new RemoteReleasePhase(cfg, remote).apply("v2", { migrationPolicy: "refuse", log: () => undefined });
        assert.equal(result.migrations.verdict, "none");
        assert.ok(!names(remote, "v2").includes("migrate"));
    });

    it("runs migrate for a pending migration without operations (a merge migration is still recorded)", async function () {
        const remote = new ScriptedRemote(script("v2", {}, JSON.stringify({ database: "default", pending: ["catalog.0004_merge"], operations: [] })));
        const result = await new RemoteReleasePhase(cfg, remote).apply("v2", { migrationPolicy: "refuse", log: () => undefined });
        assert.equal(result.migrations.verdict, "none");
        assert.ok(names(remote, "v2").includes("migrate"));
    });

    it("refuse: breaking operations stop the release after the plan, listing them", async function () {
        const remote = new ScriptedRemote(script("v3", {}, planJson(addNullable, rename)));
        const e = await rejection(new RemoteReleasePhase(cfg, remote).apply("v3", { migrationPolicy: "refuse", log: () => undefined }));
        assert.equal(e.step, "migrations");
        assert.equal(
            e.message,
            `v3 has 1 migration operation(s) that break the version still serving; nothing was applied.\n` +
                `  catalog.0003_r: RenameField (Rename field name on product to title) RENAME_COLUMN\n` +
                `Set the migration policy to "maintenance" (maintenance page while it goes out) or "allow" to release it.`,
        );
        assert.deepEqual(names(remote, "v3"), ["checkout", "install", "plan"]);
    });

    it("maintenance: the flag is set before migrate and removed after the health check", async function () {
        const remote = new ScriptedRemote(script("v3", {}, planJson(rename)));
        await new RemoteReleasePhase(cfg, remote).apply("v3", { migrationPolicy: "maintenance", log: () => undefined });
        assert.deepEqual(names(remote, "v3"), ["checkout", "install", "plan", "maintenance on", "migrate", "collectstatic", "switch", "restart", "health", "maintenance off", "prune"]);
    });

    it("allow: breaking operations go out without the maintenance page", async function () {
        const remote = new ScriptedRemote(script("v3", {}, planJson(rename)));
        const lines: string[] = [];
        await new RemoteReleasePhase(cfg, remote).apply("v3", { migrationPolicy: "allow", log: (l) => lines.push(l) });
        assert.deepEqual(names(remote, "v3"), ["checkout", "install", "plan", "migrate", "collectstatic", "switch", "restart", "health", "prune"]);
        assert.ok(lines.includes(`    1 breaking/unknown operation(s) allowed by policy "allow"`));
    });

    it("a failing command becomes RemotePhaseError with its step and stderr; nothing after it runs", async function () {
        const stderr = "Traceback (most recent call last):\n  ...\ndjango.db.utils.ProgrammingError: column \"x\" does not exist\n";
        const remote = new ScriptedRemote(script("v2", { [c.migrate(cfg, "v2")]: { exitCode: 1, stderr } }));
        const e = await rejection(new RemoteReleasePhase(cfg, remote).apply("v2", { migrationPolicy: "refuse", log: () => undefined }));
        assert.equal(e.step, "migrate");
        assert.equal(e.message, `migrate failed on scripted (exit 1): django.db.utils.ProgrammingError: column "x" does not exist`);
        assert.equal(e.stderr, stderr);
        assert.deepEqual(names(remote, "v2"), ["checkout", "install", "plan", "migrate"]);
    });

    it("a long stderr keeps its end", async function () {
        const stderr = `${"x".repeat(10000)}\nthe cause\n`;
        const remote = new ScriptedRemote(script("v2", { [c.install(cfg, "v2")]: { exitCode: 2, stderr } }));
        const e = await rejection(new RemoteReleasePhase(cfg, remote).apply("v2", { migrationPolicy: "refuse", log: () => undefined }));
        assert.equal(e.step, "install");
        assert.equal(e.stderr.length, 4003);
        assert.ok(e.stderr.startsWith("...") && e.stderr.endsWith("the cause\n"));
    });

    it("a failed health check switches current back to the previous release before failing", async function () {
        const remote = new ScriptedRemote(script("v2", { [c.healthCheck(cfg, "v2")]: { exitCode: 1, stderr: "health check of http://127.0.0.1:8000/health/ failed after 60s: 503\n" } }));
        const e = await rejection(new RemoteReleasePhase(cfg, remote).apply("v2", { migrationPolicy: "refuse", log: () => undefined }));
        assert.equal(e.step, "health");
        assert.match(e.message, /failed after 60s: 503/);
        assert.deepEqual(names(remote, "v2"), ["checkout", "install", "plan", "migrate", "collectstatic", "switch", "restart", "health", "switch v1", "restart"]);
    });

    it("a failed migrate under maintenance leaves the page on and says so", async function () {
        const remote = new ScriptedRemote(script("v3", { [c.migrate(cfg, "v3")]: { exitCode: 1, stderr: "boom\n" } }, planJson(rename)));
        const e = await rejection(new RemoteReleasePhase(cfg, remote).apply("v3", { migrationPolicy: "maintenance", log: () => undefined }));
        assert.equal(e.step, "migrate");
        assert.match(e.message, /maintenance mode left on/);
        assert.deepEqual(names(remote, "v3"), ["checkout", "install", "plan", "maintenance on", "migrate"]);
    });

    it("a time-out names the step and keeps the output seen so far", async function () {
        const remote = new ScriptedRemote(script("v2", { [c.collectStatic(cfg, "v2", "v1")]: new RemoteTimeoutError("scripted", 900, "", "Copying 'js/app.js'\n") }));
        const e = await rejection(new RemoteReleasePhase(cfg, remote).apply("v2", { migrationPolicy: "refuse", log: () => undefined }));
        assert.equal(e.step, "collectstatic");
        assert.equal(e.message, "collectstatic timed out after 900 s on scripted");
        assert.equal(e.stderr, "Copying 'js/app.js'\n");
    });

    it("pruning problems do not fail a release that is already serving", async function () {
        const remote = new ScriptedRemote(script("v2", { [c.prune(cfg, ["v2", "v1"])]: { exitCode: 1, stderr: "rm: cannot remove\n" } }));
        const lines: string[] = [];
        const result = await new RemoteReleasePhase(cfg, remote).apply("v2", { migrationPolicy: "refuse", log: (l) => lines.push(l) });
        assert.equal(result.version, "v2");
        assert.ok(lines.some((l) => l.startsWith("    warning: pruning old releases failed")));
    });

    it("a plan the transport cut is read back from the plan file in chunks", async function () {
        const full = planJson(...Array.from({ length: 300 }, (_, i) => ({ ...addNullable, description: `Add field f${i} to product` })));
        assert.ok(full.length > 40000);
        const file = `/var/lib/fleet-inspect/v2/${c.PLAN_FILE}`;
        const remote = new ScriptedRemote((command) => {
            if (command === c.inspectPlan(cfg, "v2")) return { stdout: full.slice(0, 24000), truncated: true };
            const m = /^tail -c \+(\d+) (\S+) \| head -c (\d+)$/.exec(command);
            if (m && m[2] === file) return { stdout: `${full}\n`.slice(Number(m[1]) - 1, Number(m[1]) - 1 + Number(m[3])) };
            return script("v2")(command);
        });
        const lines: string[] = [];
        const inspection = await new RemoteReleasePhase(cfg, remote).inspect("v2", (l) => lines.push(l));
        assert.equal(inspection.migrations.operations.length, 300);
        assert.equal(inspection.migrations.operations[299].description, "Add field f299 to product");
        assert.deepEqual(remote.commands.slice(3), [c.readChunk(file, 0, 20000), c.readChunk(file, 20000, 20000), c.readChunk(file, 40000, 20000)]);
        assert.ok(lines.includes(`    the transport cut the output: reading ${file} back in 20000-character chunks`));
    });

    it("changed static paths the transport cut are read back from their file", async function () {
        const paths = Array.from({ length: 1500 }, (_, i) => `/static/img/picture-${i}.png`);
        const text = JSON.stringify(paths);
        const file = `/srv/app/releases/v2/${c.CHANGED_STATIC_FILE}`;
        const remote = new ScriptedRemote((command) => {
            if (command === c.collectStatic(cfg, "v2", "v1")) return { stdout: `1500 static files copied\nchanged-static-paths=${text}`.slice(0, 24000), truncated: true };
            if (command === c.readChunk(file, 0, 20000)) return { stdout: text.slice(0, 20000) };
            if (command === c.readChunk(file, 20000, 20000)) return { stdout: text.slice(20000, 40000) };
            if (command === c.readChunk(file, 40000, 20000)) return { stdout: text.slice(40000) };
            return script("v2")(command);
        });
        const result = await new RemoteReleasePhase(cfg, remote).apply("v2", { migrationPolicy: "refuse", log: () => undefined });
        assert.deepEqual(result.changedStaticPaths, paths);
    });

    it("inspect resolves and classifies without migrating or switching", async function () {
        const remote = new ScriptedRemote(script("v3", {}, planJson(addNullable, rename)));
        const inspection = await new RemoteReleasePhase(cfg, remote).inspect("v3");
        assert.deepEqual(names(remote, "v3"), ["inspect checkout", "inspect install", "inspect plan"], "the candidate's code runs only as the inspection account");
        assert.equal(inspection.currentVersion, "v1");
        assert.equal(inspection.commit, "abc123");
        assert.equal(inspection.migrations.verdict, "breaking");
    });

    it("inspect without read-only database credentials rejects with InspectionUnavailableError", async function () {
        const remote = new ScriptedRemote(script("v2", { [c.inspectPlan(cfg, "v2")]: { exitCode: 3, stderr: "no read-only database credentials for the inspection: /run/fleet-inspect/env is missing or unreadable\n" } }));
        const e = await rejection(new RemoteReleasePhase(cfg, remote).inspect("v2"));
        assert.ok(e instanceof InspectionUnavailableError);
        assert.equal(e.name, "InspectionUnavailableError");
        assert.equal(e.message, "migrations of v2 not inspected: no read-only database credentials for the inspection: /run/fleet-inspect/env is missing or unreadable");
    });

    it("inspect on an instance without the inspection account rejects with InspectionUnavailableError", async function () {
        const stderr = "the inspection account is not set up on this instance (sudo -n /usr/local/sbin/django-fleet-as-inspect -- true failed): the boot script of this version creates it\n";
        const remote = new ScriptedRemote(script("v2", { [c.inspectCheckout(cfg, "v2")]: { exitCode: 3, stderr } }));
        const e = await rejection(new RemoteReleasePhase(cfg, remote).inspect("v2"));
        assert.ok(e instanceof InspectionUnavailableError);
        assert.equal(e.message, `migrations of v2 not inspected: ${stderr.trim()}`);
        assert.deepEqual(names(remote, "v2"), ["inspect checkout"]);
    });

    it("a closed phase neither announces nor runs another step (a rollback after an interruption)", async function () {
        const remote = new ScriptedRemote(() => undefined);
        const phase = new RemoteReleasePhase(cfg, remote);
        await phase.close();
        const lines: string[] = [];
        const e = await rejection(phase.revert("v1", (l) => lines.push(l)));
        assert.equal(e.step, "connect");
        assert.equal(e.message, "the remote phase was closed: no further command runs");
        assert.deepEqual([lines, remote.commands], [[], []]);
    });

    it("a current name that is no release name is refused before it reaches another command", async function () {
        const remote = new ScriptedRemote(script("v2", { [c.checkout(cfg, "v2")]: { stdout: "current=x$(touch${IFS}PWNED)\ncommit=abc123\n" } }));
        const e = await rejection(new RemoteReleasePhase(cfg, remote).apply("v2", { migrationPolicy: "refuse", log: () => undefined }));
        assert.equal(e.step, "checkout");
        assert.match(e.message, /^\/srv\/app\/current points at "x\$\(touch\$\{IFS\}PWNED\)", which is no release name/);
        assert.deepEqual(names(remote, "v2"), ["checkout"]);
    });

    it("revert switches back, clears maintenance, restarts and checks health", async function () {
        const remote = new ScriptedRemote(() => undefined);
        await new RemoteReleasePhase(cfg, remote).revert("v1");
        assert.deepEqual(names(remote, "v2"), ["switch v1", "maintenance off", "restart", "health v1"]);
    });

    it("an invalid version is refused before any command runs", async function () {
        const remote = new ScriptedRemote(() => undefined);
        const e = await rejection(new RemoteReleasePhase(cfg, remote).apply("../../etc", { migrationPolicy: "refuse", log: () => undefined }));
        assert.equal(e.step, "checkout");
        assert.deepEqual(remote.commands, []);
    });

    it("connects once, on first use; a failed connection is step connect; close closes it", async function () {
        let connects = 0;
        const remote = new ScriptedRemote(script("v2"));
        const phase = new RemoteReleasePhase(cfg, async () => {
            connects += 1;
            return remote;
        });
        assert.equal(connects, 0);
        await phase.inspect("v2");
        await phase.inspect("v2");
        assert.equal(connects, 1);
        await phase.close();
        assert.equal(remote.closed, 1);

        const broken = new RemoteReleasePhase(cfg, async () => {
            throw new Error("connect ECONNREFUSED 10.0.1.5:22");
        });
        const e = await rejection(broken.inspect("v2"));
        assert.equal(e.step, "connect");
        assert.equal(e.message, "cannot reach the management instance: connect ECONNREFUSED 10.0.1.5:22");
    });
});
