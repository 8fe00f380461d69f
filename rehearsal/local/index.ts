export { CloudError } from "./aws-style";
export * from "./cloud";
export type { FleetInstance, FleetOptions, LocalAppSpec } from "./fleet";
export * from "./haproxy";
export * from "./procs";
