/** Step bake: an AMI of the management instance, resumed when an interrupted run left one pending. */
import { BAKE_FIRST_LOOK, bakeWaitSplit } from "../../inputs";
import { WAITER_POLL_S } from "../../ports";
import type { RunState } from "../run-state";
import { StepError, errText, isDenied } from "../types";

export async function bake(rs: RunState) {
    const { cloud, clock } = rs.c;
    const i = rs.i;
    const p = rs.p;
    let startedMs = clock.now();
    if (p.amiId) {
        const [img] = await cloud.describeImages({ imageIds: [p.amiId] });
        if (img && img.state === "available") return;
        // A pending image of an interrupted run: its minutes of creation already count.
        const created = Date.parse(img?.creationDate ?? "");
        if (!Number.isNaN(created)) startedMs = Math.min(startedMs, created);
        if (!img || img.state !== "pending") {
            rs.log(`AMI ${p.amiId} of an earlier run is ${img?.state ?? "gone"}: baking again`);
            p.amiId = undefined;
        }
    }
    if (!p.amiId && p.takenOver) {
        // A dead run may have made this version's image and died before recording it.
        const orphan = (await cloud.describeImages({ tags: { "release:version": i.version, "release:group": rs.group, "release:run": p.takenOver } })).find(
            (im) => (im.state === "available" || im.state === "pending") && im.tags["release:commit"] === (p.remote?.commit ?? ""),
        );
        if (orphan) {
            rs.log(`AMI ${orphan.imageId} of the dead run ${p.takenOver} is reused`);
            p.amiId = orphan.imageId;
            startedMs = Math.min(startedMs, Date.parse(orphan.creationDate ?? "") || startedMs);
        }
    }
    // This run's CreateImage (not an image an earlier run made): its whole bake was seen here.
    let createdHere = false;
    if (!p.amiId) {
        // The name is the run's (EC2 refuses a second image of the same name): a run resumed after
        // a kill right after CreateImage finds its image instead of baking a second one.
        const name = `${rs.group}-${i.version.replace(/[^A-Za-z0-9._-]/g, "-")}-${p.runId}`.slice(0, 128);
        rs.log(`baking AMI ${name} from ${i.managementInstanceId}`);
        try {
            p.amiId = await cloud.createImage(i.managementInstanceId, name, {
                "release:version": i.version,
                "release:group": rs.group,
                "release:commit": p.remote?.commit ?? "",
                "release:run": p.runId,
                Name: name,
            });
            createdHere = true;
        } catch (e) {
            if (!/InvalidAMIName\.Duplicate/.test(errText(e))) throw e;
            const [mine] = (await cloud.describeImages({ tags: { "release:run": p.runId, "release:group": rs.group } })).filter((im) => im.name === name);
            if (!mine) throw e;
            rs.log(`AMI ${mine.imageId} (${name}) was already made by this run: baking no second one`);
            p.amiId = mine.imageId;
            startedMs = Math.min(startedMs, Date.parse(mine.creationDate ?? "") || startedMs);
        }
        // Saved in the run's progress only: the group's progress tag gets the AMI with the sizes
        // the ramp saves (one CreateOrUpdateTags fewer). A run that takes over from one killed
        // before that finds the image by its tags (release:run) and reuses it.
        await rs.save();
    }
    try {
        // An EBS-backed image (with the reboot CreateImage does) takes minutes: no point looking
        // during the first three, or most of the last bake's duration; a second look when the last
        // bake ended; then the adapter's waiter polls at a fixed, modest period.
        const { headS, secondS, waiterS } = bakeWaitSplit(i.rollout.bakeTimeoutS, rs.c.deployed?.bakeS);
        const looks = secondS === undefined ? [headS] : [headS, secondS];
        let seenAt = -1;
        for (let k = 0; k < looks.length && seenAt < 0; k++) {
            const left = startedMs + looks[k] * 1000 - clock.now();
            if (left > 0) await clock.sleep(left);
            if (await lookAtImage(rs, p.amiId!)) seenAt = k;
        }
        if (seenAt < 0) {
            await clock.sleep(WAITER_POLL_S.image * 1000);
            await cloud.waitForImage(p.amiId!, Math.max(WAITER_POLL_S.image + 1, waiterS - WAITER_POLL_S.image));
        }
        // How long a bake takes, for the next release's first look: measured when the image was
        // still pending at the first look; when it was available already, the bake took at most
        // that long: the next release looks earlier still. An image of an earlier run found
        // available says nothing of how long a bake takes.
        const tookS = Math.round((clock.now() - startedMs) / 1000);
        if (seenAt !== 0) p.bakeS = tookS;
        else if (createdHere) p.bakeS = Math.round(BAKE_FIRST_LOOK * tookS);
    } catch (e) {
        const ami = p.amiId!;
        p.amiId = undefined;
        await cloud.deleteImage(ami).catch(() => undefined);
        throw new StepError("bake", `AMI ${ami} did not become available: ${errText(e)}`, i.managementInstanceId);
    }
    rs.log(`AMI ${p.amiId} available`);
}

/**
 * One look at the new image: a listing of the group's release images (one DescribeImages), which
 * the prune step reuses when the image is available in it. Resolves true when it is available,
 * false while it is pending (or not listed yet, or the look failed: the next look decides); a
 * failed image, or a denied permission, throws.
 */
async function lookAtImage(rs: RunState, amiId: string): Promise<boolean> {
    let images;
    try {
        images = await rs.c.cloud.describeImages({ tags: { "release:group": rs.group } });
    } catch (e) {
        if (isDenied(e)) throw e;
        rs.log(`DescribeImages failed (looking again): ${errText(e)}`);
        return false;
    }
    const im = images.find((x) => x.imageId === amiId);
    if (im && im.state !== "available" && im.state !== "pending") throw new Error(`image ${amiId} is ${im.state}`);
    if (im?.state !== "available") return false;
    rs.groupImages = images;
    return true;
}
