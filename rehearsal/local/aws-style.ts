/**
 * What the local cloud copies of AWS's answers: its errors (the code, and AWS's own message where
 * the executor may rely on it: ValidationError ...) and the shape of its ids.
 */

export class CloudError extends Error {
    constructor(readonly code: string, message: string) {
        super(`${code}: ${message}`);
        this.name = code;
    }
}

/** AWS-style ids (a prefix, then `width` hex digits: the time and a counter of this source's ids). */
export class Ids {
    private counter = 0;

    next(prefix: string, width = 17): string {
        return `${prefix}${(Date.now().toString(16) + (++this.counter).toString(16).padStart(4, "0")).slice(-width).padStart(width, "0")}`;
    }
}
