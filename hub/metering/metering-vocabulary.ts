/**
 * The metering domain's lists, each defined once: the types, route schemas, database CHECKs
 * (hub/store/vocabulary-checks.ts), the console's selects and the catalogues' keys derive from
 * them. Imports nothing: the console imports this file at build time.
 */
export const meterKinds = ['water', 'electricity', 'gas', 'heat'] as const
export type MeterKind = (typeof meterKinds)[number]

export const meterStatuses = ['active', 'retired'] as const
export type MeterStatus = (typeof meterStatuses)[number]

/** How a meter read's value at the cutoff was found. */
export const meterReadMethods = [
  'exact',
  'interpolated',
  'nearest',
  'estimated',
  'manual',
  'missing',
] as const
export type MeterReadMethod = (typeof meterReadMethods)[number]

/** A meter read's review state; only approved reads are billed. */
export const meterReadStatuses = ['auto', 'flagged', 'estimated', 'overridden', 'approved'] as const
export type MeterReadStatus = (typeof meterReadStatuses)[number]

/** What happened to a meter read, in its change log. */
export const meterReadActions = ['computed', 'recomputed', 'approved', 'overridden', 'estimated'] as const
export type MeterReadAction = (typeof meterReadActions)[number]

/** Where a read's previous value came from: the last read, the installation, or the series. */
export const previousSources = ['read', 'install', 'series'] as const
export type PreviousSource = (typeof previousSources)[number]
