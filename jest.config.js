// Two projects: `unit` needs no service; `integration` runs against the real
// Kafka / Schema Registry / S3 stack that tests/support/stack-setup.ts provides.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];

module.exports = {
  // jest reads testTimeout only at the top level, not per project.
  testTimeout: 120000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/tests/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/tests/integration/**/*.test.ts'],
      // One file at a time: they share one broker, which the broker-restart test kills.
      runner: '<rootDir>/tests/support/one-file-at-a-time-runner.js',
      globalSetup: '<rootDir>/tests/support/stack-setup.ts',
      globalTeardown: '<rootDir>/tests/support/stack-teardown.ts',
    },
  ],
};
