export * from "./aws-style";
export * from "./cloud";
export * from "./haproxy";
export * from "./procs";
