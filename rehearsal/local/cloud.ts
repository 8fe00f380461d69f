/**
 * The local cloud: a second adapter of the Cloud port (the first is providers/release/aws),
 * so the release executor that drives AWS drives a fleet on 127.0.0.1 unchanged.
 *
 *   Cloud method                      here
 *   --------------------------------  -----------------------------------------------------
 *   images and launch template        images.ts (ImageStore): copies of the management
 *   versions                          instance's release directory, the version records
 *   describeGroup / updateGroupSize   fleet.ts (Fleet): a supervisor (reconcile loop every
 *   suspend/resumeProcesses           200 ms) keeping `desiredCapacity` gunicorn instances,
 *   terminateInstance                 each from its own (hard-linked) copy of the image, on
 *   lastScalingFailure                its own 127.0.0.1 port; honours Launch, Terminate,
 *                                     ReplaceUnhealthy suspension, min/max, scale-in protection
 *   describeTargetHealth              fleet.ts: HAProxy's server states in the ALB's terms
 *   de/registerTargets                fleet.ts: HAProxy drain, slot freed after the delay
 *   describeTargetGroup               the health-check interval/threshold and the delay
 *   set/deleteGroupTag(s)             here: the group's tags (the deploy lock)
 *   add/remove/findMaintenanceRule(s) here: HAProxy answers 503 with the page for every request
 *   createInvalidation / wait         here: no CDN locally, recorded (`invalidations`), complete at once
 *
 * LocalCloud holds the names (group, target group, listener), the group's tags, the maintenance
 * rule and the invalidations, checks the names it is given, and forwards the rest; ImageStore
 * checks the launch template's id. The group and
 * the target group its instances register in are a Fleet (fleet.ts: the supervisor, ELB health
 * checks, each instance's lifecycle, drains); images and the launch template an ImageStore
 * (images.ts). Errors quote AWS's own messages where the executor may rely on them (aws-style.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { Cloud, GroupState, ImageState, LaunchTemplateState, TargetGroupTimings, TargetHealthState, TemplateVersionInfo } from "../../providers/release/ports";
import { Activities } from "./activities";
import { CloudError, Ids } from "./aws-style";
import { Fleet, FleetInstance, FleetOptions } from "./fleet";
import { Haproxy } from "./haproxy";
import { ImageStore } from "./images";

export interface LocalCloudOptions extends FleetOptions {
    /** Everything of the run lives here: images/, instances/, haproxy/. */
    workDir: string;
    /** @default "rehearsal-asg" */
    groupName?: string;
    /** @default "arn:local:elasticloadbalancing:targetgroup/rehearsal" */
    targetGroupArn?: string;
    /** @default "arn:local:elasticloadbalancing:listener/rehearsal" */
    listenerArn?: string;
    /** @default "lt-local" */
    launchTemplateId?: string;
    /** Management instances by id: the app directory holding `current` -> releases/<version>. */
    managementInstances: Record<string, string>;
    /** Activity lines (launch, InService, drain, terminate). */
    log?: (line: string) => void;
}

export class LocalCloud implements Cloud {
    readonly groupName: string;
    readonly targetGroupArn: string;
    readonly listenerArn: string;
    readonly launchTemplateId: string;
    readonly invalidations: { id: string; distributionId: string; paths: string[] }[] = [];

    private readonly workDir: string;
    private readonly tags: Record<string, string> = {};
    private readonly images: ImageStore;
    private readonly asg: Fleet;
    private maintenanceRule: string | null = null;
    private readonly log: (line: string) => void;
    private readonly ids = new Ids();

    constructor(opts: LocalCloudOptions) {
        this.workDir = opts.workDir;
        this.groupName = opts.groupName ?? "rehearsal-asg";
        this.targetGroupArn = opts.targetGroupArn ?? "arn:local:elasticloadbalancing:targetgroup/rehearsal";
        this.listenerArn = opts.listenerArn ?? "arn:local:elasticloadbalancing:listener/rehearsal";
        this.launchTemplateId = opts.launchTemplateId ?? "lt-local";
        this.log = opts.log ?? (() => undefined);
        const activities = new Activities(this.log);
        this.images = new ImageStore({ workDir: this.workDir, launchTemplateId: this.launchTemplateId, managementInstances: opts.managementInstances }, activities, this.log);
        this.asg = new Fleet(opts, { groupName: this.groupName, workDir: this.workDir, images: this.images, activities, log: this.log });
    }

    /** Starts HAProxy and the group's supervisor. */
    async start(): Promise<void> {
        for (const d of ["images", "instances"]) fs.mkdirSync(path.join(this.workDir, d), { recursive: true });
        await this.asg.start();
    }

    /** The load balancer's URL: http://127.0.0.1:<port>. */
    get url(): string {
        return `http://127.0.0.1:${this.balancer.port}`;
    }

    get balancer(): Haproxy {
        return this.asg.balancer;
    }

    /** Stops the supervisor, every instance and HAProxy. Safe to call twice. */
    stop(): Promise<void> {
        return this.asg.stop();
    }

    /** Live instances with their port and release, for checks and the report. */
    fleet(): FleetInstance[] {
        return this.asg.list();
    }

    // -- the auto-scaling group ---------------------------------------------------------------

    async describeGroup(groupName: string): Promise<GroupState> {
        this.checkGroup(groupName);
        return {
            name: this.groupName,
            ...this.asg.describe(),
            tags: { ...this.tags },
            launchTemplate: { id: this.launchTemplateId, version: "$Default" },
        };
    }

    async setGroupTag(groupName: string, key: string, value: string): Promise<void> {
        this.checkGroup(groupName);
        this.tags[key] = value;
    }

    async deleteGroupTag(groupName: string, key: string): Promise<void> {
        this.checkGroup(groupName);
        delete this.tags[key];
    }

    async deleteGroupTags(groupName: string, keys: string[]): Promise<void> {
        this.checkGroup(groupName);
        for (const k of keys) delete this.tags[k];
    }

    async lastScalingFailure(groupName: string, sinceMs: number): Promise<string | null> {
        this.checkGroup(groupName);
        return this.asg.lastScalingFailure(sinceMs);
    }

    async updateGroupSize(groupName: string, size: { minSize?: number; maxSize?: number; desiredCapacity?: number }): Promise<void> {
        this.checkGroup(groupName);
        await this.asg.resize(size);
    }

    async suspendProcesses(groupName: string, processes: string[]): Promise<void> {
        this.checkGroup(groupName);
        this.asg.suspend(processes);
    }

    async resumeProcesses(groupName: string, processes: string[]): Promise<void> {
        this.checkGroup(groupName);
        this.asg.resume(processes);
    }

    async terminateInstance(instanceId: string, decrementDesiredCapacity: boolean): Promise<void> {
        this.asg.terminate(instanceId, decrementDesiredCapacity);
    }

    // -- images and the launch template: images.ts -------------------------------------------

    createImage(instanceId: string, name: string, tags: Record<string, string>): Promise<string> {
        return this.images.createImage(instanceId, name, tags);
    }
    waitForImage(imageId: string, timeoutS: number): Promise<void> {
        return this.images.waitForImage(imageId, timeoutS);
    }
    describeImages(filter: { imageIds?: string[]; tags?: Record<string, string> }): Promise<ImageState[]> {
        return this.images.describeImages(filter);
    }
    deleteImage(imageId: string): Promise<void> {
        return this.images.deleteImage(imageId);
    }
    describeLaunchTemplate(launchTemplateId: string): Promise<LaunchTemplateState> {
        return this.images.describeLaunchTemplate(launchTemplateId);
    }
    createLaunchTemplateVersion(launchTemplateId: string, baseVersion: number, imageId: string, description: string, clientToken?: string): Promise<number> {
        return this.images.createLaunchTemplateVersion(launchTemplateId, baseVersion, imageId, description, clientToken);
    }
    setDefaultLaunchTemplateVersion(launchTemplateId: string, version: number): Promise<void> {
        return this.images.setDefaultLaunchTemplateVersion(launchTemplateId, version);
    }
    describeTemplateVersions(launchTemplateId: string, versions: string[]): Promise<TemplateVersionInfo[]> {
        return this.images.describeTemplateVersions(launchTemplateId, versions);
    }
    defaultTemplateImageId(launchTemplateId: string): Promise<string | null> {
        return this.images.defaultTemplateImageId(launchTemplateId);
    }

    // -- the target group and the listener -----------------------------------------------------

    async describeTargetHealth(targetGroupArn: string): Promise<Record<string, TargetHealthState>> {
        this.checkTargetGroup(targetGroupArn);
        return this.balancer.targetHealth();
    }

    async deregisterTargets(targetGroupArn: string, instanceIds: string[]): Promise<void> {
        this.checkTargetGroup(targetGroupArn);
        for (const id of instanceIds) this.asg.deregister(id);
    }

    /** Back into the load balancer (after its drain, if one is under way), as RegisterTargets does. */
    async registerTargets(targetGroupArn: string, instanceIds: string[]): Promise<void> {
        this.checkTargetGroup(targetGroupArn);
        for (const id of instanceIds) await this.asg.register(id);
    }

    async deregistrationDelayS(targetGroupArn: string): Promise<number> {
        this.checkTargetGroup(targetGroupArn);
        return this.asg.deregistrationDelayS;
    }

    async describeTargetGroup(targetGroupArn: string): Promise<TargetGroupTimings> {
        this.checkTargetGroup(targetGroupArn);
        const h = this.balancer.health;
        return { deregistrationDelayS: this.asg.deregistrationDelayS, healthCheckIntervalS: h.intervalS, healthyThreshold: h.healthyThreshold };
    }

    async addMaintenanceRule(listenerArn: string, html: string): Promise<string> {
        if (listenerArn !== this.listenerArn) throw new CloudError("ListenerNotFound", `One or more listeners not found: ${listenerArn}`);
        await this.balancer.setMaintenance(html);
        this.maintenanceRule = `${this.listenerArn}/rule/maintenance-${this.ids.next("", 8)}`;
        this.log("listener: maintenance page on");
        return this.maintenanceRule;
    }

    async findMaintenanceRules(listenerArn: string): Promise<string[]> {
        if (listenerArn !== this.listenerArn) throw new CloudError("ListenerNotFound", `One or more listeners not found: ${listenerArn}`);
        return this.maintenanceRule ? [this.maintenanceRule] : [];
    }

    async removeMaintenanceRule(ruleArn: string): Promise<void> {
        if (ruleArn !== this.maintenanceRule) throw new CloudError("RuleNotFound", `One or more rules not found: ${ruleArn}`);
        await this.balancer.setMaintenance(null);
        this.maintenanceRule = null;
        this.log("listener: maintenance page off");
    }

    // -- the CDN: none locally ------------------------------------------------------------------

    async createInvalidation(distributionId: string, paths: string[], _callerReference: string): Promise<string> {
        const id = this.ids.next("I", 13).toUpperCase();
        this.invalidations.push({ id, distributionId, paths: [...paths] });
        this.log(`cdn ${distributionId}: invalidation ${id} of ${paths.join(", ") || "(nothing)"} (no CDN locally: complete at once)`);
        return id;
    }

    async waitForInvalidation(_distributionId: string, invalidationId: string, _timeoutS: number): Promise<void> {
        if (!this.invalidations.some((i) => i.id === invalidationId)) throw new CloudError("NoSuchInvalidation", `The specified invalidation does not exist: ${invalidationId}`);
    }

    private checkGroup(groupName: string): void {
        if (groupName !== this.groupName) throw new CloudError("ValidationError", `AutoScalingGroup name not found - AutoScalingGroup ${groupName} not found`);
    }

    private checkTargetGroup(arn: string): void {
        if (arn !== this.targetGroupArn) throw new CloudError("TargetGroupNotFound", `One or more target groups not found: ${arn}`);
    }
}
