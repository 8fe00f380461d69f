export * from "./cloud";
export * from "./haproxy";
export * from "./procs";
