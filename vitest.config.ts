import { defineConfig } from 'vitest/config';

const runtimeSrc = new URL('./packages/runtime/src/', import.meta.url).pathname;

export default defineConfig({
  // Tests run generated code against the runtime's sources, so no build is needed in between.
  resolve: {
    alias: [
      { find: /^@telegate\/runtime\/(.+)$/, replacement: `${runtimeSrc}$1/index.ts` },
      { find: /^@telegate\/runtime$/, replacement: `${runtimeSrc}index.ts` },
    ],
  },
  test: {
    include: ['generator/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/bench/**'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
