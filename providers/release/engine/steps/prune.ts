/** Step prune: deregisters release AMIs beyond the newest `keepImages`, never one in use. */
import type { Cloud, ImageState } from "../../ports";
import type { RunState } from "../run-state";
import { errText } from "../types";

/**
 * Deregisters release AMIs of `group` beyond the newest `keep` (and their snapshots), never one in
 * `inUse`. Resolves with the removed image ids. `listed`: the group's images as this run last
 * listed them (the bake's last look), instead of a new listing.
 */
export async function pruneImages(cloud: Cloud, group: string, keep: number, inUse: (string | undefined)[], launchTemplateId?: string, listed?: ImageState[] | null): Promise<string[]> {
    const images = listed ?? (await cloud.describeImages({ tags: { "release:group": group } }));
    const sorted = images
        .filter((im) => im.state === "available" || im.state === "failed")
        .sort((a, b) => (b.creationDate ?? "").localeCompare(a.creationDate ?? ""));
    const keepIds = new Set([...sorted.slice(0, keep).map((x) => x.imageId), ...inUse.filter((x): x is string => !!x)]);
    // The AMI of the live default launch template version is what the group launches next: in use,
    // whoever made it the default. Read only when something would be deleted (one call fewer); a
    // failed read fails the pruning before anything is deleted.
    if (launchTemplateId && sorted.some((im) => !keepIds.has(im.imageId))) {
        const live = await cloud.defaultTemplateImageId(launchTemplateId);
        if (live) keepIds.add(live);
    }
    const removed: string[] = [];
    for (const im of sorted) {
        if (keepIds.has(im.imageId)) continue;
        await cloud.deleteImage(im.imageId);
        removed.push(im.imageId);
    }
    return removed;
}

export async function prune(rs: RunState) {
    try {
        const removed = await pruneImages(rs.c.cloud, rs.group, rs.i.keepImages, [rs.p.amiId, rs.c.deployed?.amiId], rs.i.baseLaunchTemplateId, rs.groupImages);
        if (removed.length) rs.log(`pruned AMIs ${removed.join(", ")}`);
    } catch (e) {
        rs.p.warnings.push(`pruning old AMIs failed: ${errText(e)}`);
    }
}
