/**
 * The test kit shared by test/, bench/ and rehearsal/ (see README.md): the simulated AWS, its
 * virtual clock and fault sweep, the fake remote phase and input builders, the test worlds.
 * services.ts and site.ts start real processes and are imported on their own.
 */
export * from "./sim-aws";
export { awsError, DEFAULT_TIMINGS } from "./sim-aws/service";
export type { SimTimings } from "./sim-aws/service";
export type { ImageFaults } from "./sim-aws/images";
export * from "./sim-aws/clock";
export { sweep, referenceCalls, FAULT_KINDS } from "./sim-aws/sweep";
export type { FaultKind, SweepResult } from "./sim-aws/sweep";
export * from "./fakes";
export * from "./world";
export * from "./provider-world";
