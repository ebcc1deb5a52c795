/**
 * vitest globalSetup: says once per run which external services the suites will not use.
 * Said in each file it would print once per test file (one worker imports the backends anew
 * for every file).
 */
export default function announceMissingServices() {
  if (process.env.CI === 'true') return // CI has both; the backends throw if one is missing
  if (!process.env.ESTATEHUB_TEST_MQTT_URL)
    console.warn(
      '[estatehub tests] ESTATEHUB_TEST_MQTT_URL not set: broker suites run on aedes only, external-broker ingest not tested',
    )
  if (!process.env.ESTATEHUB_TEST_PG_URL)
    console.warn('[estatehub tests] ESTATEHUB_TEST_PG_URL not set: store suites run on PGlite only')
}
