import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { INSPECT_DATABASE_PARAMETER, REPOSITORY_TOKEN_PARAMETER } from "./releaseAccounts";

export interface ReleaseSecretsArgs {
    /** SSM prefix, e.g. /django-fleet/prod. */
    readonly parameterPrefix: string;
    /** The repositoryToken setting (wrapped in a Pulumi secret here). @default - no parameter: the operator may create it by hand */
    readonly repositoryToken?: pulumi.Input<string>;
    /** The inspectDatabaseUrl setting (wrapped in a Pulumi secret here). @default - no parameter: migrations are not inspected at preview */
    readonly inspectDatabaseUrl?: pulumi.Input<string>;
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/**
 * The release's optional secrets, made from Pulumi secrets into SecureStrings the management
 * instance reads at run time (releaseAccounts.ts): the git credential helper's
 * `<prefix>/REPOSITORY_TOKEN` and the inspection's read-only `<prefix>/INSPECT_DATABASE_URL`.
 * InstanceRole denies both to the web role. Neither is in user data, outputs or plain state.
 */
export class ReleaseSecrets extends pulumi.ComponentResource {
    /** Every secret value made here (and the inspection URL's password alone), for the Release's redaction. A Pulumi secret. */
    readonly values: pulumi.Output<string[]>;

    constructor(name: string, args: ReleaseSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:ReleaseSecrets", name, {}, opts);
        const o = { parent: this };
        const tags = args.tags ?? {};
        const values: pulumi.Output<string>[] = [];
        if (args.repositoryToken !== undefined) {
            const token = pulumi.secret(args.repositoryToken);
            new aws.ssm.Parameter(`${name}-repository-token`, {
                name: `${args.parameterPrefix}/${REPOSITORY_TOKEN_PARAMETER}`,
                type: "SecureString",
                value: token,
                description: "The app repository's token for the management instance's git credential helper (denied to the web role)",
                tags,
            }, o);
            values.push(token);
        }
        if (args.inspectDatabaseUrl !== undefined) {
            const url = pulumi.secret(args.inspectDatabaseUrl);
            new aws.ssm.Parameter(`${name}-inspect-database-url`, {
                name: `${args.parameterPrefix}/${INSPECT_DATABASE_PARAMETER}`,
                type: "SecureString",
                value: url,
                description: "A read-only database role's URL for the release's inspection at preview (denied to the web role)",
                tags,
            }, o);
            values.push(url, pulumi.secret(url.apply((u) => decodeURIComponent(new URL(u).password))));
        }
        this.values = pulumi.secret(pulumi.all(values));
        this.registerOutputs({});
    }
}
