import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

export interface AppSettingsArgs {
    /** SSM prefix, e.g. /django-fleet/prod. */
    readonly parameterPrefix: string;
    /** Host names Django answers for (ALLOWED_HOSTS). */
    readonly allowedHosts: pulumi.Input<pulumi.Input<string>[]>;
    /** Public URL of the site, e.g. https://www.example.com (SITE_URL, CSRF_TRUSTED_ORIGINS). */
    readonly siteUrl: pulumi.Input<string>;
    /** @default {} */
    readonly tags?: Record<string, string>;
}

/** Names of the parameters AppSettings writes (besides DATABASE_URL from Database). */
export const APP_PARAMETER_NAMES = ["SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SITE_URL"] as const;

/**
 * The Django settings that live in SSM Parameter Store next to DATABASE_URL: a generated
 * SECRET_KEY (SecureString, kept in the stack state as a secret) and the site's host names.
 */
export class AppSettings extends pulumi.ComponentResource {
    readonly parameterNames: pulumi.Output<string[]>;

    constructor(name: string, args: AppSettingsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-fleet:index:AppSettings", name, {}, opts);
        const o = { parent: this };
        const tags = args.tags ?? {};
        const param = (key: string, type: "String" | "SecureString", value: pulumi.Input<string>, description: string) =>
            new aws.ssm.Parameter(`${name}-${key.toLowerCase().replace(/_/g, "-")}`, { name: `${args.parameterPrefix}/${key}`, type, value, description, tags }, o);

        // 64 letters and digits: ~380 bits, and nothing to quote in an env file.
        const secretKey = new random.RandomPassword(`${name}-secret-key`, { length: 64, special: false }, o);
        const params = [
            param("SECRET_KEY", "SecureString", pulumi.secret(secretKey.result), "Django SECRET_KEY"),
            param("ALLOWED_HOSTS", "String", pulumi.output(args.allowedHosts).apply((h) => h.join(",")), "Django ALLOWED_HOSTS, comma-separated"),
            param("CSRF_TRUSTED_ORIGINS", "String", args.siteUrl, "Django CSRF_TRUSTED_ORIGINS, comma-separated"),
            param("SITE_URL", "String", args.siteUrl, "Public URL of the site"),
        ];
        this.parameterNames = pulumi.all(params.map((p) => p.name));
        this.registerOutputs({ parameterNames: this.parameterNames });
    }
}
