// The jest runner of the `integration` project: jest's own runner, with the project's test files
// run one after another (in one worker process) whatever --maxWorkers says. They all use one
// Kafka broker, and tests/integration/kafka-broker-restart.test.ts kills and restarts it: a file
// running beside it would fail for no fault of its own. The unit project keeps jest's default.
'use strict';
const TestRunner = require('jest-runner').default;

class OneFileAtATimeRunner extends TestRunner {
  constructor(globalConfig, context, options) {
    super({ ...globalConfig, maxWorkers: 1 }, context, options);
  }
}

module.exports = OneFileAtATimeRunner;
