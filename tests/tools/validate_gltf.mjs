// Validate a .glb with the Khronos glTF validator; print its JSON report.
// Usage: node validate_gltf.mjs FILE.glb  (NODE_PATH must reach gltf-validator)
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(process.env.NODE_PATH + "/");
const validator = require("gltf-validator");
const data = new Uint8Array(readFileSync(process.argv[2]));
const report = await validator.validateBytes(data, { maxIssues: 200 });
process.stdout.write(JSON.stringify(report));
