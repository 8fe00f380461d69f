/**
 * What the rehearsal prints with a failure: the last lines of the log that explains it. The
 * remote phase's steps print their output (pip for install, Django for the migration plan and
 * migrate, collectstatic) and gunicorn writes its own log (the management instance's and each
 * instance's): a "health check failed: Connection refused" whose cause is a
 * ModuleNotFoundError in gunicorn's log is shown with that log.
 */
import * as fs from "fs";
import * as path from "path";
import type { PhaseOptions, RemotePhase } from "../providers/release/ports";

export interface Diagnosis {
    /** What the lines are: "install step output (pip)", "gunicorn log <path>", ... */
    source: string;
    lines: string[];
}

const STEP_SOURCE: Record<string, string> = {
    install: "install step output (pip)",
    migrations: "migration plan output (manage.py fleet_migration_plan, with the django_fleet checks)",
    migrate: "migrate output (manage.py migrate)",
    collectstatic: "collectstatic output",
    checkout: "checkout output (git)",
};

/** The remote steps' output, recorded from the phase's log lines ("--> step", then indented lines). */
export class StepOutputs {
    private current: string | null = null;
    private readonly byStep = new Map<string, string[]>();

    record(line: string): void {
        const start = /^--> (\S+)/.exec(line);
        if (start) {
            this.current = start[1];
            this.byStep.set(this.current, []);
            return;
        }
        if (!this.current || !line.startsWith("    ")) return;
        const text = line.slice(4);
        if (new RegExp(`^${this.current}: exit \\d+ in `).test(text)) return;
        const lines = this.byStep.get(this.current)!;
        lines.push(text);
        if (lines.length > 200) lines.shift();
    }

    /** The last `n` output lines of `step`'s latest run. */
    tail(step: string, n = 15): string[] {
        return (this.byStep.get(step) ?? []).slice(-n);
    }

    /** The phase, with every log line of inspect/apply/revert also recorded here. */
    wrap(phase: RemotePhase): RemotePhase {
        const tee = (log?: (l: string) => void) => (l: string) => {
            this.record(l);
            log?.(l);
        };
        return {
            inspect: (version, log) => phase.inspect(version, tee(log)),
            apply: (version, opts: PhaseOptions) => phase.apply(version, { ...opts, log: tee(opts.log) }),
            revert: (version, log) => phase.revert(version, tee(log)),
            close: () => phase.close(),
        };
    }
}

/** The last `n` lines of a file ([] when it does not exist). */
export function tailFile(file: string, n = 15): string[] {
    try {
        const lines = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim());
        return lines.slice(-n);
    } catch {
        return [];
    }
}

/** Every gunicorn.log under the work directory (the management instance's and each instance's). */
export function gunicornLogs(workDir: string): string[] {
    const out: string[] = [];
    const walk = (dir: string, depth: number) => {
        if (depth > 6) return;
        let entries: fs.Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            return;
        }
        for (const e of entries) {
            const p = path.join(dir, e.name);
            if (e.isDirectory() && !["releases", "venv", "repo.git", "static", "images"].includes(e.name)) walk(p, depth + 1);
            else if (e.isFile() && e.name === "gunicorn.log") out.push(p);
        }
    };
    walk(workDir, 0);
    return out;
}

const ERROR_LINE = /Traceback|Error|error:|Exception|exited/;

/**
 * The logs that explain `reason`: the failed remote step's output, and for a failed start,
 * health check or ramp, the gunicorn logs that hold an error (newest first, at most two).
 */
export function diagnose(reason: string, steps: StepOutputs, workDir: string, n = 15): Diagnosis[] {
    const out: Diagnosis[] = [];
    const step = /\b(checkout|install|migrations|migrate|collectstatic|switch|restart|health) (?:failed|timed out)/.exec(reason)?.[1];
    if (step && step !== "health" && step !== "restart") {
        const lines = steps.tail(step, n);
        if (lines.length) out.push({ source: STEP_SOURCE[step] ?? `${step} output`, lines });
    }
    if (!step || step === "health" || step === "restart" || /health|InService|unhealthy|gunicorn/i.test(reason)) {
        const logs = gunicornLogs(workDir)
            .map((file) => ({ file, lines: tailFile(file, n), mtime: fs.statSync(file).mtimeMs }))
            .filter((l) => l.lines.some((line) => ERROR_LINE.test(line)))
            .sort((a, b) => b.mtime - a.mtime)
            .slice(0, 2);
        for (const l of logs) out.push({ source: `gunicorn log ${l.file}`, lines: l.lines });
    }
    return out;
}

/** The diagnosis as text, indented under the error. */
export function formatDiagnosis(ds: Diagnosis[]): string {
    return ds.map((d) => [`  last lines of the ${d.source}:`, ...d.lines.map((l) => `    | ${l}`)].join("\n")).join("\n");
}
