/**
 * The remote phase of a release: createRemotePhase(settings) picks the transport from
 * settings.transport and returns a RemotePhase (see phase.ts for the steps, commands.ts for the
 * exact commands). The transports are imported at module scope, so the Release provider's
 * closure serialization captures them by value (Pulumi's provider host cannot resolve a relative
 * `require` of the program's TypeScript files); they `require` their npm packages (ssh2, the SSM
 * client) only inside their methods, so nothing creates an SDK client at module scope.
 */
import type { Remote, RemotePhase } from "../ports";
import { RemotePhaseSettings, resolveSettings } from "./commands";
import { LocalRemote } from "./local";
import { RemoteReleasePhase } from "./phase";
import { SshRemote } from "./ssh";
import { SsmRemote } from "./ssm";
import { RELEASE_DEFAULTS } from "../../../settings/schema";

export interface CreateRemotePhaseOptions {
    /** Use this transport instead of the one settings.transport names (tests, the rehearsal). */
    remote?: Remote;
    /** For transport "local": the working directory. */
    localCwd?: string;
    /** For transport "ssm": an SSM client (tests pass a mocked one). */
    ssmClient?: import("@aws-sdk/client-ssm").SSMClient;
}

/** Builds the transport named by settings.transport; SSH connects here (host key verified). */
export async function createRemote(settings: RemotePhaseSettings, options: CreateRemotePhaseOptions = {}): Promise<Remote> {
    const timeout = settings.commandTimeoutS ?? 900;
    switch (settings.transport ?? RELEASE_DEFAULTS.transport) {
        case "ssh": {
            if (!settings.ssh) throw new Error("[ssh] settings are required for the ssh transport");
            return SshRemote.connect(settings.ssh, { defaultTimeoutS: timeout });
        }
        case "ssm": {
            if (!settings.instanceId) throw new Error("[instanceId] is required for the ssm transport");
            return new SsmRemote({ instanceId: settings.instanceId, region: settings.region, client: options.ssmClient, defaultTimeoutS: timeout, runAs: settings.ssmRunAs });
        }
        case "local": {
            return new LocalRemote({ cwd: options.localCwd, defaultTimeoutS: timeout });
        }
        default:
            throw new Error(`[transport] must be "ssm", "ssh" or "local", not "${settings.transport}"`);
    }
}

/**
 * The remote phase for these settings. Validates the settings now; the transport connects on
 * first use (one connection for the phase's lifetime; close() ends it).
 */
export async function createRemotePhase(settings: RemotePhaseSettings, options: CreateRemotePhaseOptions = {}): Promise<RemotePhase> {
    const cfg = resolveSettings(settings);
    const remote = options.remote;
    return new RemoteReleasePhase(cfg, remote ?? (() => createRemote(settings, options)));
}

export type { RemotePhaseSettings, RemotePhaseExtras } from "./commands";
export { RemoteReleasePhase } from "./phase";
export { classifyPlan, classifyOperation } from "./migrations";
