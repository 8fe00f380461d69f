/** The release engine: the `Release` resource, its planner, executor, ports and AWS adapter. */
export { Release, ReleaseArgs, ReleaseRolloutArgs } from "./resource";
export { ReleaseProvider, ReleaseStatus, HistoryEntry, ReleaseFailed } from "./provider";
export { hostedProvider, PROVIDER_ENTRY } from "./hosted";
export { plan, normalizeInputs, resolveSurge, isValidVersion, DEFAULT_ROLLOUT } from "./planner";
export type { Plan, ReleaseInputs, Deployed, Capacity, RolloutOptions } from "./planner";
export { runRelease, ReleaseError, StepError, SUSPENDED_PROCESSES } from "./executor";
export type { Progress } from "./executor";
export { AwsCloud } from "./aws/cloud";
export * from "./ports";
