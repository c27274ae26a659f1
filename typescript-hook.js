// Loads the program's TypeScript for Pulumi's runner (Pulumi.yaml: nodeargs), in place of the
// runner's ts-node: esbuild strips the types file by file, with no type check (`npm test` runs
// `tsc --noEmit`) and no source map (the runner maps every stack trace the SDK captures, one per
// promise, through any source map it finds: that, and type checking, tripled start-up).
"use strict";
const fs = require("node:fs");
const { transformSync } = require("esbuild");

require.extensions[".ts"] = (module, filename) => {
    const { code } = transformSync(fs.readFileSync(filename, "utf8"), { loader: "ts", format: "cjs", target: "node20", sourcefile: filename });
    module._compile(code, filename);
};
