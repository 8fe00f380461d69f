/**
 * What Pulumi serializes for the Release resource: a small closure that loads the provider's
 * real implementation (provider.ts) inside Pulumi's dynamic-provider host.
 *
 * Why: Pulumi does not run a dynamic provider in the program's process. It serializes the
 * provider object's closure to text (`__provider` in the resource's inputs and state) and
 * evaluates that text in its dynamic-provider host (`@pulumi/pulumi/cmd/dynamic-provider`,
 * started by the CLI with the project directory as its working directory). The closure
 * serializer does not preserve everything JavaScript can express: module-level Sets and Maps
 * become plain objects (pulumi/pulumi#2704), Error subclasses lose their message
 * (pulumi/pulumi#10974), and the whole captured module graph is re-emitted as text. So nothing
 * of the release engine is captured here. The closure captures one string (the entry's path,
 * relative to the project directory) and, on each call, requires the entry module the ordinary
 * way: TypeScript through ts-node (a dependency of this project, and what Pulumi itself uses to
 * run index.ts), with Node's module cache, real classes, Sets and Errors.
 *
 * Consequences, decided:
 * - Stored state (`__provider` of an existing resource) runs today's provider.ts, so a fix
 *   reaches refresh and destroy of resources created before it. Bump `providerVersion` when a
 *   change must show in `pulumi preview`.
 * - The host must run in the project directory (Pulumi's CLI does so). Anywhere else, every call
 *   fails with an error naming the directory and the missing file.
 * - What this closure may reference: `require`, `process` and its parameters; nothing from
 *   module scope (the host tier, test/host/, fails if the serialized text grows past 20 KB or
 *   stops working in the real host).
 */
import type * as pulumi from "@pulumi/pulumi";

/** The provider implementation, relative to the Pulumi project directory. */
export const PROVIDER_ENTRY = "providers/release/provider.ts";

type Method = "check" | "diff" | "create" | "update" | "read" | "delete";

/** The object Pulumi serializes: each method forwards to a ReleaseProvider loaded in the host. */
export function hostedProvider(entry: string = PROVIDER_ENTRY): pulumi.dynamic.ResourceProvider {
    const call = (method: Method, args: unknown[]): Promise<any> => {
        const path = require("path");
        const fs = require("fs");
        const dir = process.cwd();
        const file = path.resolve(dir, entry);
        if (!fs.existsSync(file)) {
            return Promise.reject(
                new Error(
                    `django-fleet Release provider: ${file} does not exist. Pulumi starts its dynamic-provider host in the ` +
                        `project directory (here ${dir}); run pulumi from the django-fleet project, with its node modules installed (npm ci).`,
                ),
            );
        }
        if (!require.extensions[".ts"]) {
            const tsNode = require(require.resolve("ts-node", { paths: [dir] }));
            tsNode.register({ transpileOnly: true, project: path.join(dir, "tsconfig.json") });
        }
        const impl = new (require(file).ReleaseProvider)();
        return impl[method](...args);
    };
    return {
        check: (olds: any, news: any) => call("check", [olds, news]),
        diff: (id: string, olds: any, news: any) => call("diff", [id, olds, news]),
        create: (inputs: any) => call("create", [inputs]),
        update: (id: string, olds: any, news: any) => call("update", [id, olds, news]),
        read: (id: string, props: any) => call("read", [id, props]),
        delete: (id: string, props: any) => call("delete", [id, props]),
    };
}
