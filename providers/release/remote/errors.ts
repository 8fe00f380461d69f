/** A command ran longer than its time-out and was killed. Carries the output seen so far. */
export class RemoteTimeoutError extends Error {
    constructor(
        readonly where: string,
        readonly timeoutS: number,
        readonly stdout: string = "",
        readonly stderr: string = "",
    ) {
        super(`command timed out after ${timeoutS} s on ${where}`);
        this.name = "RemoteTimeoutError";
    }
}

/** The transport itself failed (connection lost, SSM delivery failed, ...). */
export class RemoteTransportError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "RemoteTransportError";
    }
}

/** The remote side wraps every command so the process group dies at the time-out (exit 124). */
export function wrapCommand(command: string, timeoutS: number): string {
    const quoted = `'${command.replace(/'/g, `'\\''`)}'`;
    return `timeout --kill-after=10 ${timeoutS} bash -c ${quoted}`;
}

export const TIMEOUT_EXIT = 124;

/**
 * Whether an exit status means `timeout` killed the command: 124, and only once the time-out
 * can have passed (it cannot fire earlier), so a command's own exit 124 keeps its code and stderr.
 */
export function timedOut(exitCode: number | null | undefined, elapsedMs: number, timeoutS: number): boolean {
    return exitCode === TIMEOUT_EXIT && elapsedMs >= timeoutS * 1000;
}
