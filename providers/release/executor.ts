/**
 * The release executor: a small resumable state machine that runs a plan's steps against the
 * Cloud and RemotePhase ports. This module is its public face; the engine lives in ./engine:
 *   engine/executor.ts   the step loop (start or resume a run, run each step, hand failures on)
 *   engine/lock.ts       the deploy lock (acquire, take-over rules, heartbeat, release, inherit)
 *   engine/ramp.ts       the ramp (saved group, waves, external changes, drain, terminate, restore)
 *   engine/waits.ts      the waits (healthy, settled, drained, gone) and the timings they learn
 *   engine/rollback.ts   the rollback sequence
 *   engine/steps/*.ts    one module per simple step
 *   engine/tags.ts       the lock and progress tag formats
 *   engine/types.ts      progress, context, outcome, errors
 *
 * Every completed step is recorded in `Progress` (the resource's state, passed back to Pulumi as
 * partial state when a run fails) and the parts needed to resume after a killed process are also
 * written to a `release:progress` tag on the group. A re-run with the same progress skips the
 * completed steps; the ramp itself is recomputed from the live group at every wave, so it resumes
 * mid-ramp without replacing an instance twice.
 *
 * Decisions (also in the README):
 *  - Lock (engine/lock.ts): tag `release:lock` = "<owner>;<run>;<expiry ISO>" on the ASG. A lock held by another
 *    owner (another stack, another tool) is refused until it expires; an expired one is taken
 *    over (its saved sizes and suspended processes are inherited, so the group is restored to what
 *    the dead run found). A live lock held by *this* Release's owner (the same project/stack/name,
 *    which every machine deploying the stack shares) is taken over only when it is provably an
 *    interrupted run of ours: its run is the one saved in this resource's Pulumi state (resumed at
 *    once). Otherwise it is refused like any other live lock until it expires. The lock is taken
 *    before the remote inspection and fenced: checked before every mutating step, wave and
 *    heartbeat write; a run that lost it stops at once.
 *  - Standby instances are refused by the planner (they would come back on the old version);
 *    instances that enter Standby mid-ramp are left alone and reported as a warning.
 *  - Scale-in-protected instances are replaced like the others: protection guards against
 *    scale-in, not against an explicit TerminateInstanceInAutoScalingGroup; the replacements get
 *    the group's NewInstancesProtectedFromScaleIn setting.
 *  - Desired capacity 0 (a later release): nothing to ramp; the new template version is the default,
 *    so whatever launches next runs the new release. The group stays at 0.
 *  - A desired-capacity change made by someone else mid-ramp (a scaling policy, an operator) is
 *    adopted: the delta is added to the desired capacity restored at the end (bounded by min and
 *    the max found), and the current wave is re-planned.
 *  - Ramp: desired D -> D + s (max raised if needed); old instances are terminated *without*
 *    decrementing desired while more old ones remain, so the group launches their replacements at
 *    once (one SetDesiredCapacity per release, not per wave); the last batch decrements back to D.
 */
export { SUSPENDED_PROCESSES, ReleaseError, StepError } from "./engine/types";
export type { SavedGroup, StepFailure, Progress, ExecContext, Outcome, ExecResult } from "./engine/types";
export { LOCK_TAG, PROGRESS_TAG, parseLock, encodeTagProgress, decodeTagProgress } from "./engine/tags";
export { templateVersionToken } from "./engine/steps/template";
export { pruneImages } from "./engine/steps/prune";
export { MAINTENANCE_HTML } from "./engine/steps/maintenance";
export { Executor, runRelease } from "./engine/executor";
export { capacityEquals } from "./planner";
export type { TargetHealthState } from "./ports";

