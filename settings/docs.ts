/**
 * What the schema says in words: each entry's full description (its own text plus the bounds
 * or the enum, from the same numbers the parser uses) and the type Pulumi.yaml declares.
 * scripts/config-table.ts renders Pulumi.yaml's `config:` block and the README table with these.
 */
import type { SettingSpec } from "./schema";

const sentence = (text: string) => (/[.)]$/.test(text) ? text : `${text}.`);
const orList = (items: string[]) => (items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`);

/** The entry's description with its bounds or allowed values. */
export function describe(spec: SettingSpec): string {
    switch (spec.type) {
        case "integer":
            return `${sentence(spec.description)} From ${spec.min} to ${spec.max}.`;
        case "string": {
            if (spec.enum) return `${spec.description}: ${orList(Object.entries(spec.enum).map(([v, doc]) => (doc ? `${v} (${doc})` : v)))}.`;
            if (spec.length) return `${sentence(spec.description)} ${spec.length.min} to ${spec.length.max} characters.`;
            return spec.required ? `${sentence(spec.description)} Required.` : sentence(spec.description);
        }
        case "array":
            return spec.minItems ? `${sentence(spec.description)} At least ${spec.minItems}.` : sentence(spec.description);
        case "cidr":
            return `${sentence(spec.description)} Prefix /${spec.prefix.min} to /${spec.prefix.max}${spec.rfc1918 ? ", inside an RFC 1918 private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)" : ""}.`;
        case "surge":
            return `${sentence(spec.description)} A count from 1 to ${spec.maxCount}, or a percentage above 0% and at most 100%.`;
        case "postgresVersion":
            return `${sentence(spec.description)} Majors ${spec.major.min} to ${spec.major.max}.`;
        case "instanceType":
            return `${sentence(spec.description)} One that @pulumi/aws's ${spec.rds ? "RDS or EC2" : "EC2"} instance type enum knows.`;
        case "boolean":
            return sentence(spec.description);
    }
}

/** The type Pulumi.yaml declares: Pulumi knows only string, integer, boolean and array. */
export function pulumiType(spec: SettingSpec): "string" | "integer" | "boolean" | "array" {
    return spec.type === "integer" || spec.type === "boolean" || spec.type === "array" ? spec.type : "string";
}
