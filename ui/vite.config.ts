import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The dev server proxies the API, the health check and the telemetry socket to a running
// platform server (DYNAMICAL_URL, default http://127.0.0.1:8000).
const target = process.env.DYNAMICAL_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target, changeOrigin: true },
      "/health": { target, changeOrigin: true },
      "/ws": { target, changeOrigin: true, ws: true },
    },
  },
  preview: {
    proxy: {
      "/api": { target, changeOrigin: true },
      "/health": { target, changeOrigin: true },
      "/ws": { target, changeOrigin: true, ws: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
  },
});
