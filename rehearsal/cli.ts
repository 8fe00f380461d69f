/**
 * npm run rehearse -- [--repo PATH] [--from v1] [--to v2] [--instances 3] [--max-surge 1]
 *                     [--json] [--keep] [--database sqlite|postgres] [...]
 *
 * Checks the prerequisites (and says exactly what to install), runs the rehearsal, prints the
 * timeline and the traffic report (or one JSON object with --json; progress then goes to
 * stderr). Exit status: 0 when the release succeeded, no request failed and every instance
 * serves the new version; 1 otherwise; 2 for bad arguments or missing prerequisites; 130/143
 * when interrupted. Every process it started is stopped on exit, on SIGINT/SIGTERM and on errors.
 *
 * Test hook (test/rehearsal): REHEARSAL_TEST_SLOW_INSTALL_S=N makes the install step of the
 * release of --to wait N more seconds (RehearsalOptions.slowInstallS), so that a test can
 * interrupt the CLI while a remote command runs.
 */
import { MigrationPolicy } from "../providers/release/ports";
import { formatMissing, missingPrerequisites } from "./prereqs";
import { parseEnvAssignment } from "./app";
import { DEFAULT_INSTALL_COMMAND, Rehearsal, RehearsalOptions } from "./rehearsal";
import { formatReport } from "./report";

export interface CliArgs {
    options: RehearsalOptions;
    json: boolean;
    verbose: boolean;
    help: boolean;
}

export const USAGE = `Usage: npm run rehearse -- [options]

Releases a Django app through the release executor onto a local fleet (gunicorn instances
behind HAProxy on 127.0.0.1) under live traffic, and reports what the traffic saw.

  --repo PATH|URL        the app's git repository (default: the example app, tags v1..v4)
  --from VERSION         the version the fleet starts on (default v1)
  --to VERSION           the version released under traffic (default v2)
  --instances N          fleet size (default 3)
  --max-surge N|P%       new instances per wave (default 1)
  --migration-policy P   refuse | maintenance | allow (default refuse)
  --database D           sqlite | postgres (default sqlite; postgres starts a private server)
  --transport T          local | ssh: how the remote phase reaches the management instance
                         (default local; ssh starts a private sshd on 127.0.0.1)
  --healthy-timeout S    seconds a wave's new instances may take to be healthy (default 60)
  --settings MODULE      the app's settings module (default: read from manage.py)
  --wsgi TARGET          gunicorn's WSGI target (default: <settings package>.wsgi:application)
  --install CMD          installs the app in its release directory, whose virtualenv is venv/
                         (default: ${DEFAULT_INSTALL_COMMAND})
  --host NAME            Host header of the traffic (default: the first ALLOWED_HOSTS entry
                         the app reports once it runs)
  --env KEY=VALUE        more environment for the app (env file, instances, remote commands);
                         repeatable; wins over the rehearsal's STATIC_ROOT, ALLOWED_HOSTS, ...
  --rate N               page visits per second (default 15)
  --work-dir DIR         where the run's files go (default: a new temp dir)
  --keep                 keep the work dir (logs, images, instances) afterwards
  --json                 print one JSON object (progress goes to stderr)
  --verbose              also print every remote command's output
  --help`;

export function parseArgs(argv: string[]): CliArgs {
    const options: RehearsalOptions = {};
    const args: CliArgs = { options, json: false, verbose: false, help: false };
    const problems: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
        const value = () => {
            const v = inline ?? argv[++i];
            if (v === undefined || (inline === undefined && v.startsWith("--"))) {
                problems.push(`${flag} needs a value`);
                return "";
            }
            return v;
        };
        const int = (name: string, min: number) => {
            const v = value();
            const n = Number(v);
            if (!Number.isInteger(n) || n < min) problems.push(`${name} must be an integer >= ${min}, got "${v}"`);
            return n;
        };
        switch (flag) {
            case "--repo": options.repo = value(); break;
            case "--from": options.from = value(); break;
            case "--to": options.to = value(); break;
            case "--instances": options.instances = int("--instances", 1); break;
            case "--max-surge": {
                const v = value();
                if (/^\d+$/.test(v) && Number(v) >= 1) options.maxSurge = Number(v);
                else if (/^\d+(\.\d+)?%$/.test(v) && parseFloat(v) > 0) options.maxSurge = v;
                else problems.push(`--max-surge must be a count >= 1 or a percentage like 25%, got "${v}"`);
                break;
            }
            case "--migration-policy": {
                const v = value();
                if (!["refuse", "maintenance", "allow"].includes(v)) problems.push(`--migration-policy must be refuse, maintenance or allow, got "${v}"`);
                options.migrationPolicy = v as MigrationPolicy;
                break;
            }
            case "--database": {
                const v = value();
                if (v !== "sqlite" && v !== "postgres") problems.push(`--database must be sqlite or postgres, got "${v}"`);
                options.database = v as "sqlite" | "postgres";
                break;
            }
            case "--transport": {
                const v = value();
                if (v !== "local" && v !== "ssh") problems.push(`--transport must be local or ssh, got "${v}"`);
                options.transport = v as "local" | "ssh";
                break;
            }
            case "--healthy-timeout": options.healthyTimeoutS = int("--healthy-timeout", 1); break;
            case "--settings": options.settings = value(); break;
            case "--wsgi": options.wsgi = value(); break;
            case "--install": options.installCommand = value(); break;
            case "--host": {
                const v = value();
                if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(v)) problems.push(`--host must be a host name (letters, digits, "." and "-", optional :port), got "${v}"`);
                options.host = v;
                break;
            }
            case "--env": {
                try {
                    const [k, v] = parseEnvAssignment(value());
                    options.env = { ...options.env, [k]: v };
                } catch (e) {
                    problems.push((e as Error).message);
                }
                break;
            }
            case "--rate": options.visitsPerS = int("--rate", 1); break;
            case "--work-dir": options.workDir = value(); break;
            case "--keep": options.keep = true; break;
            case "--json": args.json = true; break;
            case "--verbose": args.verbose = true; break;
            case "--help": case "-h": args.help = true; break;
            default: problems.push(`unknown option "${a}"`);
        }
    }
    if (problems.length) throw new UsageError(problems.join("; "));
    return args;
}

export class UsageError extends Error {}

/** Lines worth showing live: not the remote commands' own output (unless --verbose). */
export function isHeadline(line: string): boolean {
    return !/^\s*\[release [^\]]+\] {5,}/.test(line) && !/^ {8,}/.test(line);
}

async function main(): Promise<number> {
    let args: CliArgs;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`rehearse: ${(e as Error).message}\n\n${USAGE}\n`);
        return 2;
    }
    if (args.help) {
        process.stdout.write(USAGE + "\n");
        return 0;
    }
    const missing = missingPrerequisites({ database: args.options.database ?? "sqlite", transport: args.options.transport });
    if (missing.length) {
        process.stderr.write(formatMissing(missing) + "\n");
        return 2;
    }
    const started = Date.now();
    const progress = (line: string) => {
        if (!args.verbose && !isHeadline(line)) return;
        const stamp = `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s]`;
        (args.json ? process.stderr : process.stdout).write(`${stamp} ${line}\n`);
    };
    const slow = Number(process.env.REHEARSAL_TEST_SLOW_INSTALL_S ?? 0);
    const rehearsal = new Rehearsal({ ...args.options, log: progress, ...(slow > 0 ? { slowInstallS: slow } : {}) });
    progress(`work dir ${rehearsal.workDir}${args.options.keep ? " (kept)" : ""}`);

    let stopping = false; // set by SIGINT/SIGTERM: cleanup runs, then the process exits 130/143
    const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        progress(`${signal}: stopping every process the rehearsal started`);
        void rehearsal.cleanup().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    try {
        const result = await rehearsal.run();
        if (stopping) return new Promise<number>(() => undefined); // the signal handler exits
        await rehearsal.cleanup();
        if (args.json) process.stdout.write(JSON.stringify(result) + "\n");
        else process.stdout.write(formatReport(result, result.loadBalancerUrl) + "\n");
        return result.ok ? 0 : 1;
    } catch (e) {
        if (stopping) return new Promise<number>(() => undefined); // the signal handler exits
        const err = e as Error;
        (args.json ? process.stderr : process.stdout).write(`rehearsal failed: ${args.verbose ? err.stack : err.message}\n`);
        await rehearsal.cleanup();
        if (args.json) process.stdout.write(JSON.stringify({ ok: false, error: (e as Error).message }) + "\n");
        return 1;
    }
}

if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (e) => {
            process.stderr.write(`rehearse: ${(e as Error).stack ?? e}\n`);
            process.exit(1);
        },
    );
}
