/**
 * The django-fleet program: reads and validates the stack's config (the only place that reads
 * it), then builds the whole site. Pulumi calls the exported function; what it returns are the
 * stack outputs. Exporting a function (not top-level code) lets the tests build the program
 * once per stack config in one process.
 */
import * as pulumi from "@pulumi/pulumi";
import { PROJECT, RELEASE_NAMESPACE, parseConfig } from "./config";
import { DjangoStack } from "./components";

/**
 * Every set key of our two namespaces, as plain strings (unknown ones included, so typos are
 * reported). Secret values come back plain too: dbPassword is wrapped in pulumi.secret below,
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
    const { dbPassword, ...project } = settings.project;

    const site = new DjangoStack(PROJECT, {
        ...project,
        dbPassword: dbPassword === undefined ? undefined : pulumi.secret(dbPassword),
        // The boot wait calls AWS from this machine: give it the provider's profile, if any.
        awsProfile: new pulumi.Config("aws").get("profile"),
    });

    // The Release resource (providers/release/resource.ts) is wired here: it takes
    // site.releaseTarget and settings.release and owns the fleet's capacity and template version.

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
    };
}

export = main;
