import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'features/detectors/plugins/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites start real redis, ffmpeg, RTSP servers and TF.js workers; on a 2-core machine
    // running files in parallel makes timings meaningless and starves ffmpeg.
    fileParallelism: false,
    pool: 'forks',
  },
});
