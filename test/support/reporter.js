// Mocha's spec reporter, followed by the plain closing line CI reads: "N passed, N failed".
"use strict";
const Mocha = require("mocha");
const { EVENT_RUN_END } = Mocha.Runner.constants;

class PlainSummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {};
      const skipped = s.pending ? `, ${s.pending} skipped` : "";
      // Printed after the spec reporter's own epilogue, so it is the last line.
      process.nextTick(() => process.stdout.write(`${s.passes || 0} passed, ${s.failures || 0} failed${skipped}\n`));
    });
  }
}
module.exports = PlainSummaryReporter;
