/**
 * The django-fleet program: reads and validates the stack's config (the only place that reads
 * it), then builds the whole site. Pulumi calls the exported function; what it returns are the
 * stack outputs. Exporting a function (not top-level code) lets the tests build the program
 * once per stack config in one process.
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT, RELEASE_NAMESPACE, parseConfig, surgeInput } from "./config";
import { DjangoStack } from "./components";
import { Release } from "./providers/release";
import type { ReleaseArgs } from "./providers/release";

/**
 * Bumped whenever the Release provider's behaviour changes: dynamic providers do not notice
 * their own code changing (pulumi/pulumi #12401), so the input makes the change visible.
 */
const RELEASE_PROVIDER_VERSION = "1";

/**
 * Every set key of our two namespaces, as plain strings (unknown ones included, so typos are
 * reported). Secret values come back plain too: dbPassword, repositoryToken and inspectDatabaseUrl are wrapped in pulumi.secret below,
 * and settings.release.ssh.privateKey must be wrapped where the Release resource takes it.
 */
function rawConfig(): Record<string, string | undefined> {
    const raw: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(`${PROJECT}:`) || key.startsWith(`${RELEASE_NAMESPACE}:`)) raw[key] = value;
    }
    return raw;
}

function main() {
    // Validate everything before creating anything: one error lists every bad setting.
    const settings = parseConfig(rawConfig(), pulumi.getStack());
    const { dbPassword, repositoryToken, inspectDatabaseUrl, ...project } = settings.project;
    const secret = (v: string | undefined) => (v === undefined ? undefined : pulumi.secret(v));

    const site = new DjangoStack(PROJECT, {
        ...project,
        dbPassword: secret(dbPassword),
        repositoryToken: secret(repositoryToken),
        inspectDatabaseUrl: secret(inspectDatabaseUrl),
        // The boot wait calls AWS from this machine: give it the provider's profile, if any.
        awsProfile: new pulumi.Config("aws").get("profile"),
    });

    // The Release owns the fleet's minimum and desired capacity and the launch template's
    // default version (the group is created empty; see components/webFleet.ts). Without
    // release:version there is no release yet and no web instance runs.
    const r = settings.release;
    const t = site.releaseTarget;
    let release: Release | undefined;
    if (r.version !== undefined) {
        const remote: ReleaseArgs["remote"] = {
            transport: r.transport,
            region: t.region,
            instanceId: t.managementInstanceId,
            repositoryUrl: t.repositoryUrl,
            appDir: t.appDir,
            staticRoot: t.staticRoot,
            staticUrl: t.staticUrl,
            healthUrl: t.healthUrl,
            settingsModule: t.djangoSettingsModule,
            installCommand: r.installCommand,
            keepReleases: r.keepReleases,
            ssh: r.ssh && {
                host: r.ssh.host,
                port: r.ssh.port,
                user: r.ssh.user,
                privateKey: pulumi.secret(r.ssh.privateKey),
                hostKeySha256: r.ssh.hostKeySha256,
            },
        };
        release = new Release("release", {
            version: r.version,
            baseLaunchTemplateId: t.launchTemplateId,
            baseLaunchTemplateVersion: t.launchTemplateLatestVersion,
            autoScalingGroupName: t.autoScalingGroupName,
            targetGroupArn: t.targetGroupArn,
            // The target group's own timings: a release need not read them (a new health-check setting starts no release).
            targetGroupTimings: t.targetGroupTimings,
            listenerArn: t.listenerArn,
            managementInstanceId: t.managementInstanceId,
            distributionId: t.distributionId,
            region: t.region,
            capacity: t.capacity,
            remote,
            rollout: {
                maxSurge: surgeInput(r.maxSurge),
                bakeTimeoutS: r.bakeTimeout,
                healthyTimeoutS: r.healthyTimeout,
                drainTimeoutS: r.drainTimeout,
            },
            migrationPolicy: r.migrationPolicy,
            keepImages: r.keepImages,
            // Redacted from the Release's state and logs (a Pulumi secret: the database passwords,
            // the repository token, the inspection URL).
            secretValues: t.secretValues,
            providerVersion: RELEASE_PROVIDER_VERSION,
        }, { dependsOn: [site] });
    }

    return {
        siteUrl: site.siteUrl,
        cdnDomain: site.cdnDomain,
        albDnsName: site.albDnsName,
        autoScalingGroupName: site.autoScalingGroupName,
        launchTemplateId: site.launchTemplateId,
        launchTemplateLatestVersion: site.launchTemplateLatestVersion,
        targetGroupArn: site.targetGroupArn,
        listenerArn: site.listenerArn,
        managementInstanceId: site.managementInstanceId,
        managementReadyInstanceId: site.releaseTarget.managementInstanceId,
        efsId: site.efsId,
        dbEndpoint: site.dbEndpoint,
        distributionId: site.distributionId,
        capacity: site.releaseTarget.capacity,
        releaseVersion: settings.release.version ?? null,
        release: release && {
            plan: release.plan,
            status: release.status,
            amiId: release.amiId,
            launchTemplateVersion: release.launchTemplateVersion,
            previousLaunchTemplateVersion: release.previousLaunchTemplateVersion,
            replacedInstanceIds: release.replacedInstanceIds,
            history: release.history,
        },
    };
}

export = main;
