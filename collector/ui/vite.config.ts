import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// The collector serves the build from collector/dist/ui (collector/src/server/ui-routes.ts).
// `npx vite --config collector/ui/vite.config.ts` runs a dev server that proxies the API
// to a collector on GAVEL_URL (default http://127.0.0.1:4318).
const collector = process.env.GAVEL_URL ?? "http://127.0.0.1:4318";

export default defineConfig({
  root: here("."),
  base: "/",
  plugins: [react()],
  build: {
    outDir: here("../dist/ui"),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    proxy: { "/api": collector, "/healthz": collector },
  },
});
