/**
 * The local cloud's activities in flight (image copies, boots, drains, terminations): each is
 * tracked until it settles, its failure logged, so that stopping the cloud can wait for them.
 */
export class Activities {
    private readonly pending = new Set<Promise<unknown>>();

    constructor(private readonly log: (line: string) => void) {}

    track<T>(p: Promise<T>): void {
        this.pending.add(p);
        p.catch((e) => this.log(`supervisor: ${(e as Error).message}`)).finally(() => this.pending.delete(p));
    }

    /** Resolves once every activity tracked so far has settled. */
    async settled(): Promise<void> {
        await Promise.allSettled([...this.pending]);
    }
}
