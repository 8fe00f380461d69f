/**
 * Generates the example app's git repository: tags v1..v4, one commit each.
 *
 *  - v1: the catalog app (Product.name), JS, CSS and robots.txt, the django_fleet helper vendored.
 *  - v2: a nullable column (Product.description: AddField null=True, safe), changed JS and CSS.
 *  - v3: a renamed column (RenameField name -> title: RENAME_COLUMN, breaking).
 *  - v4: a settings error: Django refuses to start (any manage.py command fails).
 *
 * The app's tree is example/app (v1) plus example/versions/<tag> overlays, each copied over
 * the previous version (a file named `<name>.append` is appended to `<name>` instead). The helper package (django/django_fleet) is copied into the repository
 * root so the app imports it without an index (PyPI is not reachable on these machines).
 *
 *     const repo = buildExampleRepo("/tmp/x/example.git-src");
 *     repo.url   // "file:///tmp/x/example.git-src" for RemoteSettings.repositoryUrl
 *     repo.tags  // { v1: "<sha>", v2: ..., v3: ..., v4: ... }
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const EXAMPLE_TAGS = ["v1", "v2", "v3", "v4"] as const;
export type ExampleTag = (typeof EXAMPLE_TAGS)[number];

export interface ExampleRepo {
    /** The working repository's directory. */
    dir: string;
    /** A URL git clones from: file://<dir>. */
    url: string;
    /** The commit each tag points at. */
    tags: Record<ExampleTag, string>;
}

export interface BuildExampleRepoOptions {
    /** The v1 tree. @default example/app next to this file */
    appDir?: string;
    /** The version overlays (one folder per tag after v1). @default example/versions */
    versionsDir?: string;
    /** The helper package copied into the repository root. @default django/django_fleet of this project */
    helperPackageDir?: string;
}

const HERE = __dirname;

/** Builds the repository in `dir` (created; must not exist or be empty). Synchronous, about 0.3 s. */
export function buildExampleRepo(dir: string, options: BuildExampleRepoOptions = {}): ExampleRepo {
    const appDir = options.appDir ?? path.join(HERE, "app");
    const versionsDir = options.versionsDir ?? path.join(HERE, "versions");
    const helperDir = options.helperPackageDir ?? path.join(HERE, "..", "django", "django_fleet");
    fs.mkdirSync(dir, { recursive: true });
    if (fs.readdirSync(dir).length > 0) throw new Error(`buildExampleRepo: ${dir} is not empty`);

    const git = (...args: string[]) =>
        execFileSync("git", args, {
            cwd: dir,
            encoding: "utf8",
            env: {
                ...process.env,
                GIT_AUTHOR_NAME: "Example",
                GIT_AUTHOR_EMAIL: "example@example.com",
                GIT_COMMITTER_NAME: "Example",
                GIT_COMMITTER_EMAIL: "example@example.com",
                GIT_CONFIG_NOSYSTEM: "1",
            },
        }).trim();

    git("init", "--quiet", "--initial-branch=main");
    copyTree(appDir, dir);
    copyTree(helperDir, path.join(dir, "django_fleet"));
    fs.writeFileSync(path.join(dir, ".gitignore"), "__pycache__/\n*.pyc\nvenv/\nstaticfiles.json\n");
    const tags = {} as Record<ExampleTag, string>;
    for (const tag of EXAMPLE_TAGS) {
        if (tag !== "v1") copyTree(path.join(versionsDir, tag), dir);
        git("add", "--all");
        git("commit", "--quiet", "-m", `Example app ${tag}`);
        git("tag", tag);
        tags[tag] = git("rev-parse", "HEAD");
    }
    return { dir, url: `file://${dir}`, tags };
}

function copyTree(from: string, to: string): void {
    fs.mkdirSync(to, { recursive: true });
    for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
        if (entry.name === "__pycache__" || entry.name.endsWith(".pyc")) continue;
        const source = path.join(from, entry.name);
        const target = path.join(to, entry.name);
        if (entry.isDirectory()) copyTree(source, target);
        else if (entry.name.endsWith(".append")) fs.appendFileSync(target.slice(0, -".append".length), fs.readFileSync(source));
        else fs.copyFileSync(source, target);
    }
}
