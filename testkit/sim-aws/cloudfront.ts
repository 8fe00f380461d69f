/** The simulated CloudFront: invalidations, which complete `invalidationS` after they are made. */
import { awsError, Handlers, IdSequence, SimTimings } from "./service";

export class SimCloudFront {
    readonly invalidations = new Map<string, { createdAt: number; paths: string[] }>();

    constructor(
        private readonly t: SimTimings,
        private readonly ids: IdSequence,
    ) {}

    readonly handlers: Handlers = {
        CreateInvalidation: (input) => {
            const id = this.ids.next("I").toUpperCase();
            this.invalidations.set(id, { createdAt: Date.now(), paths: input.InvalidationBatch.Paths.Items });
            return { Invalidation: { Id: id, Status: "InProgress" }, Location: `https://cloudfront.amazonaws.com/2020-05-31/distribution/${input.DistributionId}/invalidation/${id}` };
        },

        GetInvalidation: (input) => {
            const inv = this.invalidations.get(input.Id);
            if (!inv) throw awsError("NoSuchInvalidation", "The specified invalidation does not exist.", 404);
            return { Invalidation: { Id: input.Id, Status: Date.now() >= inv.createdAt + this.t.invalidationS * 1000 ? "Completed" : "InProgress" } };
        },
    };
}
