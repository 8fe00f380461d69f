/**
 * The local cloud: a second adapter of the Cloud port (the first is providers/release/aws),
 * so the release executor that drives AWS drives a fleet on 127.0.0.1 unchanged.
 *
 *   Cloud method                      here
 *   --------------------------------  -----------------------------------------------------
 *   createImage / waitForImage        `cp -a` of the management instance's current release
 *                                     directory (code, venv, staticfiles.json) into
 *                                     <workDir>/images/<ami-id>/<release>: immutable
 *   describeImages / deleteImage      the image table; delete removes the copy
 *   launch template versions          { imageId } records; the default version is what new
 *                                     instances start from
 *   describeGroup / updateGroupSize   a supervisor (reconcile loop every 200 ms) keeping
 *   suspend/resumeProcesses           `desiredCapacity` gunicorn instances, each from its own
 *   terminateInstance                 (hard-linked) copy of the image, on its own 127.0.0.1 port; honours
 *   set/deleteGroupTag(s)             Launch, Terminate, ReplaceUnhealthy suspension, min/max,
 *                                     scale-in protection, tags (the deploy lock)
 *   describeTargetHealth              HAProxy's server states in the ALB's terms
 *   deregisterTargets                 HAProxy drain, slot freed after the deregistration delay
 *   registerTargets                   back into HAProxy once its drain is over
 *   lastScalingFailure                the latest instance whose boot failed
 *   describeTemplateVersions /        the version records (description, default) and the
 *   defaultTemplateImageId            default version's image
 *   describeTargetGroup               the health-check interval/threshold and the delay above
 *   add/remove/findMaintenanceRule(s) HAProxy answers 503 with the page for every request
 *   createInvalidation / wait         no CDN locally: recorded (`invalidations`), complete at once
 *
 * LocalCloud holds the names (group, target group, listener, launch template), the group's tags,
 * the maintenance rule and the invalidations, and checks the names it is given. The group and
 * the target group its instances register in are a Fleet (fleet.ts: the supervisor, ELB health
 * checks, each instance's lifecycle, drains); images and the launch template an ImageStore
 * (images.ts). Errors quote AWS's own messages where the executor may rely on them (aws-style.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { Cloud, GroupState, TargetGroupTimings, TargetHealthState } from "../../providers/release/ports";
import { Activities } from "./activities";
import { CloudError, Ids } from "./aws-style";
import { Fleet, FleetInstance, FleetOptions } from "./fleet";
import { Haproxy } from "./haproxy";
import { IMAGE_METHODS, ImageMethods, ImageStore } from "./images";

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

/** The image and launch-template methods are the ImageStore's own, bound to it by the constructor. */
export interface LocalCloud extends ImageMethods {}

export class LocalCloud implements Cloud {
    readonly groupName: string;
    readonly targetGroupArn: string;
    readonly listenerArn: string;
    readonly launchTemplateId: string;
    readonly invalidations: { id: string; distributionId: string; paths: string[] }[] = [];

    private readonly workDir: string;
    private readonly tags: Record<string, string> = {};
    private readonly images: ImageStore;
    private readonly group: Fleet;
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
        this.group = new Fleet(opts, { groupName: this.groupName, workDir: this.workDir, images: this.images, activities, log: this.log });
        // Plain (writable, configurable) properties: a Proxy over the cloud may return them bound.
        for (const m of IMAGE_METHODS) (this as Record<string, unknown>)[m] = this.images[m].bind(this.images);
    }

    /** Starts HAProxy and the group's supervisor. */
    async start(): Promise<void> {
        for (const d of ["images", "instances"]) fs.mkdirSync(path.join(this.workDir, d), { recursive: true });
        await this.group.start();
    }

    /** The load balancer's URL: http://127.0.0.1:<port>. */
    get url(): string {
        return `http://127.0.0.1:${this.balancer.port}`;
    }

    get balancer(): Haproxy {
        return this.group.balancer;
    }

    /** Stops the supervisor, every instance and HAProxy. Safe to call twice. */
    stop(): Promise<void> {
        return this.group.stop();
    }

    /** Live instances with their port and release, for checks and the report. */
    fleet(): FleetInstance[] {
        return this.group.list();
    }

    // -- the auto-scaling group ---------------------------------------------------------------

    async describeGroup(groupName: string): Promise<GroupState> {
        this.checkGroup(groupName);
        return {
            name: this.groupName,
            ...this.group.describe(),
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
        return this.group.lastScalingFailure(sinceMs);
    }

    async updateGroupSize(groupName: string, size: { minSize?: number; maxSize?: number; desiredCapacity?: number }): Promise<void> {
        this.checkGroup(groupName);
        await this.group.resize(size);
    }

    async suspendProcesses(groupName: string, processes: string[]): Promise<void> {
        this.checkGroup(groupName);
        this.group.suspend(processes);
    }

    async resumeProcesses(groupName: string, processes: string[]): Promise<void> {
        this.checkGroup(groupName);
        this.group.resume(processes);
    }

    async terminateInstance(instanceId: string, decrementDesiredCapacity: boolean): Promise<void> {
        this.group.terminate(instanceId, decrementDesiredCapacity);
    }

    // -- the target group and the listener -----------------------------------------------------

    async describeTargetHealth(targetGroupArn: string): Promise<Record<string, TargetHealthState>> {
        this.checkTargetGroup(targetGroupArn);
        return this.balancer.targetHealth();
    }

    async deregisterTargets(targetGroupArn: string, instanceIds: string[]): Promise<void> {
        this.checkTargetGroup(targetGroupArn);
        for (const id of instanceIds) this.group.deregister(id);
    }

    /** Back into the load balancer (after its drain, if one is under way), as RegisterTargets does. */
    async registerTargets(targetGroupArn: string, instanceIds: string[]): Promise<void> {
        this.checkTargetGroup(targetGroupArn);
        for (const id of instanceIds) await this.group.register(id);
    }

    async deregistrationDelayS(targetGroupArn: string): Promise<number> {
        this.checkTargetGroup(targetGroupArn);
        return this.group.deregistrationDelayS;
    }

    async describeTargetGroup(targetGroupArn: string): Promise<TargetGroupTimings> {
        this.checkTargetGroup(targetGroupArn);
        const h = this.balancer.health;
        return { deregistrationDelayS: this.group.deregistrationDelayS, healthCheckIntervalS: h.intervalS, healthyThreshold: h.healthyThreshold };
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
