/**
 * The local cloud's images and its launch template.
 *
 *   createImage / waitForImage        `cp -a` of the management instance's current release
 *                                     directory (code, venv, staticfiles.json) into
 *                                     <workDir>/images/<ami-id>/<release>: immutable
 *   describeImages / deleteImage      the image table; delete removes the copy
 *   launch template versions          { imageId } records; the default version is what new
 *                                     instances start from (version 1: the bare image)
 *   describeTemplateVersions /        the version records (description, default) and the
 *   defaultTemplateImageId            default version's image
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { setTimeout as sleep } from "timers/promises";
import { promisify } from "util";
import { Cloud, ImageState, LaunchTemplateState, TemplateVersionInfo } from "../../providers/release/ports";
import { Activities } from "./activities";
import { CloudError, Ids } from "./aws-style";

const run = promisify(execFile);

export interface LocalImage {
    state: ImageState;
    dir: string;
    /** The release directory name the image holds (the version). */
    release: string;
}

interface TemplateVersion {
    version: number;
    imageId: string | null;
    description: string;
}

/** The Cloud methods of images and launch templates (LocalCloud forwards them here). */
type ImageMethod = "createImage" | "waitForImage" | "describeImages" | "deleteImage" | "describeLaunchTemplate" | "createLaunchTemplateVersion" | "setDefaultLaunchTemplateVersion" | "describeTemplateVersions" | "defaultTemplateImageId";

export class ImageStore implements Pick<Cloud, ImageMethod> {
    private readonly images = new Map<string, LocalImage>();
    private readonly templates: TemplateVersion[] = [{ version: 1, imageId: null, description: "base: the bare image" }];
    private defaultVersion = 1;
    private readonly templateTokens = new Map<string, number>();
    private readonly ids = new Ids();

    constructor(
        /** Images go to <workDir>/images; managementInstances: each one's app directory, by id. */
        private readonly opts: { workDir: string; launchTemplateId: string; managementInstances: Record<string, string> },
        private readonly activities: Activities,
        private readonly log: (line: string) => void,
    ) {}

    /** What a new instance starts from: the default template version and its image (none: the bare image). */
    launchSpec(): { version: number; image: LocalImage | undefined } {
        const template = this.templates.find((t) => t.version === this.defaultVersion)!;
        return { version: template.version, image: template.imageId ? this.images.get(template.imageId) : undefined };
    }

    async createImage(instanceId: string, name: string, tags: Record<string, string>): Promise<string> {
        const appDir = this.opts.managementInstances[instanceId];
        if (!appDir) throw new CloudError("InvalidInstanceID.NotFound", `The instance ID '${instanceId}' does not exist`);
        let releaseDir: string;
        try {
            releaseDir = fs.realpathSync(path.join(appDir, "current"));
        } catch {
            throw new CloudError("IncorrectInstanceState", `instance ${instanceId} has no current release (${path.join(appDir, "current")} is missing)`);
        }
        if ([...this.images.values()].some((i) => i.state.name === name && i.state.state !== "deregistered")) {
            throw new CloudError("InvalidAMIName.Duplicate", `AMI name ${name} is already in use`);
        }
        const imageId = this.ids.next("ami-");
        const release = path.basename(releaseDir);
        const dir = path.join(this.opts.workDir, "images", imageId);
        const image: LocalImage = {
            state: { imageId, state: "pending", name, tags: { ...tags }, snapshotIds: [this.ids.next("snap-")], creationDate: new Date().toISOString() },
            dir,
            release,
        };
        this.images.set(imageId, image);
        this.log(`image ${imageId}: snapshot of ${releaseDir}`);
        this.activities.track(
            (async () => {
                try {
                    fs.mkdirSync(dir, { recursive: true });
                    await run("cp", ["-a", releaseDir, path.join(dir, release)]);
                    image.state.state = "available";
                } catch (e) {
                    image.state.state = "failed";
                    this.log(`image ${imageId}: copy failed: ${(e as Error).message}`);
                }
            })(),
        );
        return imageId;
    }

    async waitForImage(imageId: string, timeoutS: number): Promise<void> {
        const deadline = Date.now() + timeoutS * 1000;
        for (;;) {
            const image = this.images.get(imageId);
            if (!image) throw new CloudError("InvalidAMIID.NotFound", `The image id '[${imageId}]' does not exist`);
            if (image.state.state === "available") return;
            if (image.state.state !== "pending") throw new Error(`image ${imageId} is ${image.state.state}`);
            if (Date.now() > deadline) throw new Error(`image ${imageId} still pending after ${timeoutS} s`);
            await sleep(100);
        }
    }

    async describeImages(filter: { imageIds?: string[]; tags?: Record<string, string> }): Promise<ImageState[]> {
        return [...this.images.values()]
            .map((i) => i.state)
            .filter((s) => s.state !== "deregistered")
            .filter((s) => !filter.imageIds || filter.imageIds.includes(s.imageId))
            .filter((s) => !filter.tags || Object.entries(filter.tags).every(([k, v]) => s.tags[k] === v))
            .map((s) => ({ ...s, tags: { ...s.tags }, snapshotIds: [...s.snapshotIds] }));
    }

    async deleteImage(imageId: string): Promise<void> {
        const image = this.images.get(imageId);
        if (!image) throw new CloudError("InvalidAMIID.NotFound", `The image id '[${imageId}]' does not exist`);
        image.state.state = "deregistered";
        fs.rmSync(image.dir, { recursive: true, force: true });
    }

    async describeLaunchTemplate(launchTemplateId: string): Promise<LaunchTemplateState> {
        this.checkTemplate(launchTemplateId);
        return { id: this.opts.launchTemplateId, defaultVersion: this.defaultVersion, latestVersion: this.templates[this.templates.length - 1].version };
    }

    async createLaunchTemplateVersion(launchTemplateId: string, baseVersion: number, imageId: string, description: string, clientToken?: string): Promise<number> {
        this.checkTemplate(launchTemplateId);
        const seen = clientToken === undefined ? undefined : this.templateTokens.get(clientToken);
        if (seen !== undefined) return seen;
        if (!this.templates.some((t) => t.version === baseVersion)) {
            throw new CloudError("InvalidLaunchTemplateId.VersionNotFound", `Could not find launch template version ${baseVersion} of ${launchTemplateId}`);
        }
        if (!this.images.has(imageId)) throw new CloudError("InvalidAMIID.NotFound", `The image id '[${imageId}]' does not exist`);
        const version = this.templates[this.templates.length - 1].version + 1;
        this.templates.push({ version, imageId, description });
        if (clientToken !== undefined) this.templateTokens.set(clientToken, version);
        this.log(`launch template ${this.opts.launchTemplateId} v${version}: ${imageId} (${this.images.get(imageId)!.release})`);
        return version;
    }

    async setDefaultLaunchTemplateVersion(launchTemplateId: string, version: number): Promise<void> {
        this.checkTemplate(launchTemplateId);
        if (!this.templates.some((t) => t.version === version)) {
            throw new CloudError("InvalidLaunchTemplateId.VersionNotFound", `Could not find launch template version ${version} of ${launchTemplateId}`);
        }
        this.defaultVersion = version;
    }

    async describeTemplateVersions(launchTemplateId: string, versions: string[]): Promise<TemplateVersionInfo[]> {
        this.checkTemplate(launchTemplateId);
        const latest = this.templates[this.templates.length - 1].version;
        return versions.map((v) => {
            const n = v === "$Default" ? this.defaultVersion : v === "$Latest" ? latest : Number(v);
            const t = this.templates.find((x) => x.version === n);
            if (!t) throw new CloudError("InvalidLaunchTemplateId.VersionNotFound", `Could not find launch template version ${v} of ${launchTemplateId}`);
            // A local version's whole data is its image.
            return { version: t.version, description: t.description, isDefault: t.version === this.defaultVersion, imageId: t.imageId, data: t.imageId ? { ImageId: t.imageId } : {} };
        });
    }

    async defaultTemplateImageId(launchTemplateId: string): Promise<string | null> {
        this.checkTemplate(launchTemplateId);
        return this.templates.find((t) => t.version === this.defaultVersion)?.imageId ?? null;
    }

    private checkTemplate(id: string): void {
        if (id !== this.opts.launchTemplateId) throw new CloudError("InvalidLaunchTemplateId.NotFound", `The specified launch template, with template ID ${id}, does not exist.`);
    }
}
