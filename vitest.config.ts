import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: run test files one at a time so timing-free tests do not starve each other.
    fileParallelism: false,
  },
});
