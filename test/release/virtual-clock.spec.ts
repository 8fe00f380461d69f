/**
 * The virtual clock (testkit/sim-aws/clock.ts) against the one real I/O of a simulated release:
 * the SDK's read of its shared files, once per process. Run in a fresh process (the read is
 * cached for the life of a process) whose AWS_CONFIG_FILE is a FIFO this spec writes to only
 * after a while, with a timer that is always due (as pipeline.spec.ts's sampler): no virtual time
 * may pass while the read is pending.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");

const CHILD = `
const { installVirtualClock } = require("./testkit/sim-aws/clock");
const { SimAws } = require("./testkit/sim-aws");
(async () => {
    const vc = installVirtualClock();
    const sim = new SimAws();
    setInterval(() => undefined, 1000);
    const t0 = Date.now();
    process.stdout.write("ready;");
    await vc.drive(sim.cloud().describeGroup(sim.groupName));
    process.stdout.write(JSON.stringify({ virtualS: (Date.now() - t0) / 1000 }));
    process.exit(0);
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

describe("virtual clock: the SDK's shared files are read before virtual time runs", function () {
    this.timeout(30000);

    it("a read held back for 500 ms of real time lets no virtual time pass, even with a timer always due", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-clock-"));
        try {
            const fifo = path.join(dir, "config");
            execFileSync("mkfifo", [fifo]);
            const child = spawn(process.execPath, ["-r", "./test/support/register.js", "-e", CHILD], {
                cwd: ROOT,
                env: { ...process.env, AWS_CONFIG_FILE: fifo, AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "none") },
                stdio: ["ignore", "pipe", "pipe"],
            });
            // Held open for writing (O_RDWR does not wait for a reader): the child's read of the
            // file blocks until this end writes and closes.
            const writer = fs.openSync(fifo, fs.constants.O_RDWR);
            let out = "";
            let err = "";
            child.stderr.on("data", (d) => (err += d));
            const ready = new Promise<void>((r) => child.stdout.on("data", (d) => ((out += d), out.includes("ready;") && r())));
            const exited = new Promise<number | null>((r) => child.on("exit", r));
            await Promise.race([ready, exited]);
            await new Promise((r) => setTimeout(r, 500));
            fs.writeSync(writer, "[default]\n");
            fs.closeSync(writer);
            assert.equal(await exited, 0, err);
            const r = JSON.parse(out.slice(out.indexOf("ready;") + 6));
            assert.ok(r.virtualS < 5, `${r.virtualS} virtual seconds passed while the SDK's read was pending`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
