import * as assert from "node:assert/strict";
import { test } from "node:test";
import { generateLab } from "../../scripts/bench/lab";
import { runProgram } from "../harness/program";

test("resources grow linearly with machines: a lab twice as large registers about twice as many", async () => {
    const small = await runProgram(generateLab(12));
    const large = await runProgram(generateLab(24));
    assert.equal(small.error, undefined, small.error?.message);
    assert.equal(large.error, undefined, large.error?.message);
    const ratio = large.resources.length / small.resources.length;
    assert.ok(ratio > 1.6 && ratio < 2.2, `24 machines registered ${large.resources.length} resources, 12 registered ${small.resources.length}`);
});
