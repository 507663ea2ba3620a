import type { NextConfig } from "next";

// Production: a static export (web/out) that `swiftacare serve` (or nginx) serves on the same
// origin as the API. `npm run dev`: Next's dev server, proxying the API to a running
// `swiftacare serve` (SWIFTACARE_API, default http://127.0.0.1:8080).
const dev = process.env.NODE_ENV === "development";
const api = process.env.SWIFTACARE_API ?? "http://127.0.0.1:8080";

const config: NextConfig = {
  reactStrictMode: true,
  trailingSlash: true,
  poweredByHeader: false,
  images: { unoptimized: true },
  ...(dev
    ? {
        // Let /api/v1/… through to the proxy as is (no trailing-slash redirect).
        skipTrailingSlashRedirect: true,
        async rewrites() {
          return [
            { source: "/api/:path*", destination: `${api}/api/:path*` },
            { source: "/platform/v1/:path*", destination: `${api}/platform/v1/:path*` },
          ];
        },
      }
    : { output: "export" }),
};

export default config;
