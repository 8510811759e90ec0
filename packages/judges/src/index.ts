export * from "./assessment.js";
