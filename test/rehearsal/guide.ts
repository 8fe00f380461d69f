/**
 * The code blocks of a guide written for people (docs/own-app.md), as the test applies them.
 * A block is marked by an HTML comment right before it (invisible when rendered):
 *
 *   <!-- guide: run -->             a shell block, run with bash
 *   <!-- guide: append PATH -->     appended to the project's file PATH
 *   <!-- guide: file PATH -->       the whole content of the project's file PATH
 *   <!-- guide: rehearse -->        the `npm run rehearse -- ...` command
 */
export type GuideAction = "run" | "append" | "file" | "rehearse";

export interface GuideBlock {
    action: GuideAction;
    /** The file, for append and file. */
    target?: string;
    code: string;
}

export function guideBlocks(markdown: string): GuideBlock[] {
    const re = /^<!-- guide: (\w+)(?: (\S+))? -->\n```[\w-]*\n([\s\S]*?)```/gm;
    const blocks: GuideBlock[] = [];
    for (let m = re.exec(markdown); m; m = re.exec(markdown)) {
        const action = m[1] as GuideAction;
        if (!["run", "append", "file", "rehearse"].includes(action)) throw new Error(`unknown guide action "${m[1]}"`);
        if ((action === "append" || action === "file") !== Boolean(m[2])) throw new Error(`guide: ${action} ${m[2] ?? ""}: a file is needed for append/file only`);
        blocks.push({ action, ...(m[2] ? { target: m[2] } : {}), code: m[3] });
    }
    const marked = (markdown.match(/^<!-- guide:/gm) ?? []).length;
    if (marked !== blocks.length) throw new Error(`guide: ${marked} markers but ${blocks.length} blocks right after one`);
    return blocks;
}

/**
 * The rehearse block's arguments after `npm run rehearse --`, split as the shell would for
 * plain words and double-quoted ones, with a leading `~/` expanded to `home`.
 */
export function rehearseArgs(code: string, home: string): string[] {
    const m = /npm run rehearse -- (.*)$/m.exec(code);
    if (!m) throw new Error(`no "npm run rehearse -- ..." in the rehearse block:\n${code}`);
    const words = m[1].match(/"[^"]*"|\S+/g) ?? [];
    return words.map((w) => (w.startsWith('"') ? w.slice(1, -1) : w)).map((w) => (w.startsWith("~/") ? `${home}/${w.slice(2)}` : w));
}
