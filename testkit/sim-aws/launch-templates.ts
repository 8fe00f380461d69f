/**
 * The simulated EC2 launch template (one, `ltId`): its versions, its default version, and
 * CreateLaunchTemplateVersion's ClientToken idempotency.
 */
import { awsError, Handlers } from "./service";

interface TemplateVersion {
    data: any;
    description?: string;
}

export class SimLaunchTemplates {
    readonly templates = new Map<number, TemplateVersion>();
    defaultVersion = 1;
    /** ClientToken -> the request it created and its version (EC2 idempotency). */
    readonly templateTokens = new Map<string, { request: string; version: number }>();

    constructor(readonly ltId: string) {
        this.templates.set(1, {
            data: {
                ImageId: "ami-base0000000000000",
                InstanceType: "t3.small",
                UserData: "IyEvYmluL2Jhc2gK",
                MetadataOptions: { HttpTokens: "required", HttpEndpoint: "enabled" },
                BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { Encrypted: true, VolumeSize: 20, VolumeType: "gp3" } }],
                SecurityGroupIds: ["sg-0web"],
                IamInstanceProfile: { Arn: "arn:aws:iam::123456789012:instance-profile/web" },
            },
            description: "base (Pulumi)",
        });
    }

    latest() {
        return Math.max(...this.templates.keys());
    }

    /** The image a version launches (undefined for a version that does not exist). */
    imageOf(v: number) {
        return this.templates.get(v)?.data?.ImageId as string;
    }

    /** A launch template version on the given image (as a previous release would have made). */
    addReleaseVersion(imageId: string, makeDefault: boolean, version: string): number {
        const v = this.latest() + 1;
        // The description a release writes (providers/release/planner.ts releaseVersionDescription).
        this.templates.set(v, { data: { ...this.templates.get(1)!.data, ImageId: imageId }, description: `release ${version} (base v1)` });
        if (makeDefault) this.defaultVersion = v;
        return v;
    }

    /** Pulumi changes the base template: a new version (not default). */
    addBaseVersion(change: Record<string, unknown>): number {
        const v = this.latest() + 1;
        this.templates.set(v, { data: { ...this.templates.get(1)!.data, ...change }, description: "base (Pulumi)" });
        return v;
    }

    private check(id: string) {
        if (id !== this.ltId) throw awsError("InvalidLaunchTemplateId.NotFound", `The specified launch template, with template ID ${id}, does not exist.`);
    }

    readonly handlers: Handlers = {
        DescribeLaunchTemplates: (input) => {
            this.check(input.LaunchTemplateIds?.[0]);
            return {
                LaunchTemplates: [{ LaunchTemplateId: this.ltId, LaunchTemplateName: "web", DefaultVersionNumber: this.defaultVersion, LatestVersionNumber: this.latest() }],
            };
        },

        /** Each version once, however many of the requested names ("$Default", "$Latest", numbers) resolve to it. */
        DescribeLaunchTemplateVersions: (input) => {
            this.check(input.LaunchTemplateId);
            const out = [];
            const seen = new Set<number>();
            for (const v of input.Versions ?? []) {
                const n = v === "$Default" ? this.defaultVersion : v === "$Latest" ? this.latest() : Number(v);
                const tv = this.templates.get(n);
                if (!tv) throw awsError("InvalidLaunchTemplateId.VersionNotFound", `Could not find launch template version ${v}`);
                if (seen.has(n)) continue;
                seen.add(n);
                out.push({ LaunchTemplateId: this.ltId, VersionNumber: n, VersionDescription: tv.description, DefaultVersion: n === this.defaultVersion, LaunchTemplateData: JSON.parse(JSON.stringify(tv.data)) });
            }
            return { LaunchTemplateVersions: out };
        },

        CreateLaunchTemplateVersion: (input) => {
            this.check(input.LaunchTemplateId);
            if (input.ClientToken !== undefined) {
                if (typeof input.ClientToken !== "string" || input.ClientToken.length > 128 || !/^[\x00-\x7f]*$/.test(input.ClientToken)) {
                    throw awsError("InvalidParameterValue", "simulator: ClientToken must be at most 128 ASCII characters");
                }
                const request = JSON.stringify({ ...input, ClientToken: undefined });
                const seen = this.templateTokens.get(input.ClientToken);
                if (seen) {
                    if (seen.request !== request) throw awsError("IdempotentParameterMismatch", "simulator: ClientToken reused with different parameters");
                    return { LaunchTemplateVersion: { LaunchTemplateId: this.ltId, VersionNumber: seen.version, DefaultVersion: this.defaultVersion === seen.version } };
                }
            }
            if (!input.LaunchTemplateData?.ImageId) throw awsError("InvalidParameterValue", "simulator: LaunchTemplateData.ImageId missing");
            let data = JSON.parse(JSON.stringify(input.LaunchTemplateData));
            if (input.SourceVersion) data = { ...this.templates.get(Number(input.SourceVersion))!.data, ...data };
            const v = this.latest() + 1;
            this.templates.set(v, { data, description: input.VersionDescription });
            if (input.ClientToken !== undefined) this.templateTokens.set(input.ClientToken, { request: JSON.stringify({ ...input, ClientToken: undefined }), version: v });
            return { LaunchTemplateVersion: { LaunchTemplateId: this.ltId, VersionNumber: v, DefaultVersion: false } };
        },

        ModifyLaunchTemplate: (input) => {
            this.check(input.LaunchTemplateId);
            const v = Number(input.DefaultVersion);
            if (!this.templates.has(v)) throw awsError("InvalidLaunchTemplateId.VersionNotFound", `Could not find launch template version ${v}`);
            this.defaultVersion = v;
            return { LaunchTemplate: { LaunchTemplateId: this.ltId, DefaultVersionNumber: v } };
        },
    };
}
