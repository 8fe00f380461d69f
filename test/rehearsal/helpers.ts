import * as http from "http";

export interface Got {
    status: number;
    body: string;
    headers: http.IncomingHttpHeaders;
}

/** One GET (a fresh connection), Host: localhost. */
export function httpGet(url: string, timeoutMs = 5000): Promise<Got> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { headers: { Host: "localhost" }, agent: false, timeout: timeoutMs }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
            res.on("error", reject);
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${url}: timed out`)));
        req.on("error", reject);
    });
}

/** Polls `probe` until true; fails the test naming `what` after `timeoutMs`. */
export async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, everyMs));
    }
}
