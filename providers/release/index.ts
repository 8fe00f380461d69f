/** The release engine: the `Release` resource, its planner, executor, ports and AWS adapter. */
export { Release, ReleaseArgs, ReleaseRolloutArgs } from "./resource";
export { ReleaseProvider, ReleaseFailed } from "./provider";
export { ReleaseStatus, HistoryEntry } from "./state";
export { hostedProvider, PROVIDER_ENTRY } from "./hosted";
export { plan } from "./planner";
export type { Plan, Deployed } from "./planner";
export { normalizeInputs, resolveSurge, isValidVersion, DEFAULT_ROLLOUT } from "./inputs";
export type { ReleaseInputs, Capacity, RolloutOptions } from "./inputs";
export { runRelease, ReleaseError, StepError, SUSPENDED_PROCESSES } from "./executor";
export type { Progress } from "./executor";
export { AwsCloud } from "./aws/cloud";
export * from "./ports";
