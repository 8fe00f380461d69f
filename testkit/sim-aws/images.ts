/**
 * The simulated EC2 images and their snapshots: CreateImage from the management instance (pending
 * for `amiCreationS`, then available or failed), DescribeImages, DeregisterImage, DeleteSnapshot;
 * and the faults an image carries into the instances launched from it.
 */
import { awsError, Handlers, IdSequence, SimTimings } from "./service";

export interface ImageFaults {
    /** Instances from this image never pass the health check. */
    neverHealthy?: boolean;
    /** Launching instances from this image fails (the group records a failed activity). */
    launchFails?: boolean;
    /** The image ends in state "failed" instead of "available". */
    creationFails?: boolean;
}

interface SimImage {
    id: string;
    name: string;
    createdAt: number;
    tags: Record<string, string>;
    snapshots: string[];
    faults: ImageFaults;
    deregistered: boolean;
}

export class SimImages {
    readonly images = new Map<string, SimImage>();
    readonly snapshots = new Set<string>();
    /** Faults applied to the next image CreateImage makes. */
    nextImageFaults: ImageFaults = {};

    constructor(
        private readonly t: SimTimings,
        private readonly ids: IdSequence,
        /** The management instance: the only one CreateImage images. */
        private readonly mgmtId: string,
    ) {}

    /** A release AMI as if baked earlier. */
    add(tags: Record<string, string>, faults: ImageFaults, createdAt: number): string {
        return this.make((id) => `img-${id}`, tags, faults, createdAt);
    }

    /** The faults of an image (undefined for an image the simulator does not know). */
    faults(imageId: string): ImageFaults | undefined {
        return this.images.get(imageId)?.faults;
    }

    /** An image and its one snapshot. */
    private make(name: (id: string) => string, tags: Record<string, string>, faults: ImageFaults, createdAt: number): string {
        const id = this.ids.next("ami");
        const snap = this.ids.next("snap");
        this.snapshots.add(snap);
        this.images.set(id, { id, name: name(id), createdAt, tags, snapshots: [snap], faults, deregistered: false });
        return id;
    }

    private state(im: SimImage) {
        if (im.deregistered) return "deregistered";
        if (Date.now() < im.createdAt + this.t.amiCreationS * 1000) return "pending";
        return im.faults.creationFails ? "failed" : "available";
    }

    readonly handlers: Handlers = {
        CreateImage: (input) => {
            if (input.InstanceId !== this.mgmtId) throw awsError("InvalidInstanceID.NotFound", `The instance ID '${input.InstanceId}' does not exist`);
            for (const im of this.images.values()) {
                if (im.name === input.Name && !im.deregistered) throw awsError("InvalidAMIName.Duplicate", `AMI name ${input.Name} is already in use by AMI ${im.id}`);
            }
            const tags: Record<string, string> = {};
            for (const ts of input.TagSpecifications ?? []) if (ts.ResourceType === "image") for (const t of ts.Tags) tags[t.Key] = t.Value;
            const id = this.make(() => input.Name, tags, this.nextImageFaults, Date.now());
            this.nextImageFaults = {};
            return { ImageId: id };
        },

        DescribeImages: (input) => {
            let list = [...this.images.values()].filter((im) => !im.deregistered);
            if (input.ImageIds) {
                for (const id of input.ImageIds) {
                    if (!this.images.has(id) || this.images.get(id)!.deregistered) throw awsError("InvalidAMIID.NotFound", `The image id '[${id}]' does not exist`);
                }
                list = list.filter((im) => input.ImageIds.includes(im.id));
            }
            for (const f of input.Filters ?? []) {
                if (f.Name.startsWith("tag:")) {
                    const k = f.Name.slice(4);
                    list = list.filter((im) => f.Values.includes(im.tags[k]));
                }
            }
            return {
                Images: list.map((im) => ({
                    ImageId: im.id,
                    Name: im.name,
                    State: this.state(im),
                    CreationDate: new Date(im.createdAt).toISOString(),
                    Tags: Object.entries(im.tags).map(([Key, Value]) => ({ Key, Value })),
                    BlockDeviceMappings: im.snapshots.map((s) => ({ DeviceName: "/dev/xvda", Ebs: { SnapshotId: s } })),
                    StateReason: im.faults.creationFails ? { Code: "Client.InternalError", Message: "simulated image failure" } : undefined,
                })),
            };
        },

        DeregisterImage: (input) => {
            const im = this.images.get(input.ImageId);
            if (!im || im.deregistered) throw awsError("InvalidAMIID.Unavailable", `The image id '[${input.ImageId}]' is no longer available`);
            im.deregistered = true;
            return {};
        },

        DeleteSnapshot: (input) => {
            if (!this.snapshots.has(input.SnapshotId)) throw awsError("InvalidSnapshot.NotFound", `The snapshot '${input.SnapshotId}' does not exist.`);
            for (const im of this.images.values()) {
                if (!im.deregistered && im.snapshots.includes(input.SnapshotId)) {
                    throw awsError("InvalidSnapshot.InUse", `The snapshot ${input.SnapshotId} is currently in use by ${im.id}`);
                }
            }
            this.snapshots.delete(input.SnapshotId);
            return {};
        },
    };
}
