import next from "eslint-config-next";

const config = [
  { ignores: ["node_modules/", "out/", ".next/", "src/api/generated/", "next-env.d.ts", "e2e-artifacts/"] },
  ...next,
];

export default config;
