// Browser journeys against a running `myelin serve` (MYELIN_E2E_URL; scripts/e2e.sh starts one), one file per
// area, in Debian's chromium. One worker: the journeys share one server on a 2-core machine.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  outputDir: './artifacts/results',
  globalSetup: './global-setup.mjs',
  workers: 1,
  fullyParallel: false,
  // Under CI a journey that fails is run once more: one that then passes is reported as flaky (scripts/e2e.sh
  // names it last), one that fails twice fails the suite.
  retries: process.env.CI === 'true' ? 1 : 0,
  timeout: 180_000,
  reporter: [['list']],
  use: {
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync'],
    },
  },
});
