import { StringDecoder } from "string_decoder";

/** Splits a byte stream into complete lines (UTF-8 safe across chunk boundaries). */
export class LineSplitter {
    private readonly decoder = new StringDecoder("utf8");
    private pending = "";
    text = "";

    constructor(private readonly onLine?: (line: string) => void) {}

    push(chunk: Buffer | string): void {
        const s = typeof chunk === "string" ? chunk : this.decoder.write(chunk);
        this.text += s;
        this.pending += s;
        let nl: number;
        while ((nl = this.pending.indexOf("\n")) >= 0) {
            const line = this.pending.slice(0, nl).replace(/\r$/, "");
            this.pending = this.pending.slice(nl + 1);
            this.onLine?.(line);
        }
    }

    end(): void {
        const rest = this.decoder.end();
        this.text += rest;
        this.pending += rest;
        if (this.pending.length > 0) this.onLine?.(this.pending.replace(/\r$/, ""));
        this.pending = "";
    }
}

/** Emits every line of a complete output (for transports that do not stream). */
export function emitLines(text: string, onLine: (line: string) => void): void {
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    for (const line of lines) onLine(line.replace(/\r$/, ""));
}
