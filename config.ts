/**
 * Stack settings: the entry point the program and the tests import. The pieces live in
 * settings/: schema.ts (one entry per setting, and the types derived from it), grammar.ts (one
 * parser per kind of value), checks.ts (per-setting value checks), parse.ts (the generic
 * reader), rules.ts (cross-field rules and parseConfig), docs.ts (descriptions with bounds).
 */
export * from "./settings/schema";
export { ConfigError, type Raw } from "./settings/parse";
export { parseConfig, type ProjectSettings, type ReleaseSettings, type StackSettings, type SshSettings } from "./settings/rules";
export { architectureOf, gitRefProblem, type Architecture, EC2_INSTANCE_TYPES, knownDbInstanceClass, PROTECTED_DIRS } from "./settings/checks";
export { parseCidr, parseSurge, surgeInput, surgeCount } from "./settings/grammar";
export { describe, pulumiType } from "./settings/docs";
