export * from "./gavel-attributes.js";
export * from "./conventions.js";
export * from "./read.js";
export * from "./sql.js";
export * from "./trace-attributes.js";
