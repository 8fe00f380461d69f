/** What every SDK client of the release gets, whichever module creates it. */

/**
 * Prefixes a failed call's message with its API action (after the SDK's retries), so an error
 * says which call failed: `DescribeAutoScalingGroups: connect ECONNREFUSED 127.0.0.1:443`.
 * The error's name, code and metadata are kept.
 */
export function nameTheCall(next: (args: any) => Promise<any>, context: { commandName?: string }) {
    return async (args: any) => {
        try {
            return await next(args);
        } catch (e: any) {
            const action = String(context.commandName ?? "").replace(/Command$/, "");
            if (e && typeof e === "object" && action && typeof e.message === "string" && !e.message.startsWith(`${action}: `)) {
                e.message = `${action}: ${e.message}`;
            }
            throw e;
        }
    };
}

/** Adds nameTheCall to a client (SDK v3 middleware stack, initialize step: after all retries). */
export function nameCalls<C extends { middlewareStack: { add: Function } }>(client: C): C {
    client.middlewareStack.add(nameTheCall, { step: "initialize", name: "djangoFleetNameTheCall" });
    return client;
}
