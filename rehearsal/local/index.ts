export * from "./aws-style";
export * from "./cloud";
export * from "./fleet";
export * from "./haproxy";
export * from "./procs";
