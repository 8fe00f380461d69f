/**
 * What a release version may be, checked in one place for the stack config (config.ts), the
 * Release provider's inputs and the remote phase: a git tag, branch or commit id that is also a
 * plain directory name, because each release is checked out into releases/<version> on the
 * management instance, and the app reports that name as its release.
 */

const VERSION_CHARS = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Why `version` is not a usable release version, or null when it is. */
export function versionProblem(version: string): string | null {
    if (version.length === 0) return "is empty";
    if (version.length > 100) return "is longer than 100 characters";
    if (/[\x00-\x20\x7f]/.test(version)) return "contains a space or a control character";
    if (version.includes("/")) {
        return "contains \"/\": each release is checked out into a directory named after it, so release a branch like this by its commit id or a tag";
    }
    if (!VERSION_CHARS.test(version)) return "must be letters, digits, \".\", \"_\" and \"-\", starting with a letter, digit or \"_\"";
    if (version.includes("..")) return "contains \"..\"";
    if (version.endsWith(".") || version.endsWith(".lock") || version.endsWith(".tmp")) return "ends with \".\", \".lock\" or \".tmp\"";
    return null;
}
