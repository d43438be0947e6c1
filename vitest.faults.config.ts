import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run test:faults`: the fault suite alone (it is part of the main suite too: about 10 s).
// Not mergeConfig: it would append to the main suite's include list instead of replacing it.
export default defineConfig({
  test: { ...base.test, include: ['test/faults/*.test.ts'] },
});
