export { loadConfig, ConfigError, type GavelConfig } from "./config/config.js";
export { startGavel, type RunningGavel } from "./server/gavel-server.js";
export { Store } from "./store/store.js";
export { allSchemaStatements, migrate, MIGRATIONS } from "./store/migrations.js";
