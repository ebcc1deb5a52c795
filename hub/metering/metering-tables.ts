import type { ColumnType, Generated } from 'kysely'
import type {
  CreatedAt,
  Decimal,
  DefaultDecimal,
  Json,
  MeterKind,
  MeterReadAction,
  MeterReadFlag,
  MeterReadMethod,
  MeterReadStatus,
  Timestamp,
} from '../store/database-schema.ts'
import type { MeterStatus, PreviousSource } from './metering-vocabulary.ts'

// The metering domain's tables (docs/architecture.md, "How to add a domain"): their Kysely types,
// added to the hub's Database from here. Created by the wave-1 migrations in hub/store/migrations.

export interface MeterTable {
  id: Generated<string>
  estateId: string
  code: string
  kind: MeterKind
  unitId: string | null
  buildingId: string | null
  location: string | null
  serialNumber: string | null
  multiplier: DefaultDecimal
  registerCapacity: Decimal | null
  installReading: DefaultDecimal
  installedOn: string | null
  pointId: string | null
  parentMeterId: string | null
  billing: Generated<boolean>
  status: Generated<MeterStatus>
  createdAt: CreatedAt
  updatedAt: Timestamp
}
export interface MeterReplacementTable {
  id: Generated<string>
  estateId: string
  meterId: string
  replacedAt: Timestamp
  oldFinalReading: Decimal
  newStartReading: Decimal
  oldSerialNumber: string | null
  newSerialNumber: string | null
  oldMultiplier: Decimal
  newMultiplier: Decimal
  oldRegisterCapacity: Decimal | null
  newRegisterCapacity: Decimal | null
  reason: string | null
  recordedBy: string | null
  createdAt: CreatedAt
}
export interface MeteringSettingsTable {
  estateId: string
  cutoffDay: number | null
  windowHours: ColumnType<number, number | undefined, number>
  estimateMissing: ColumnType<boolean, boolean | undefined, boolean>
  spikeFactorWater: DefaultDecimal
  spikeFactorElectricity: DefaultDecimal
  spikeFactorGas: DefaultDecimal
  spikeFactorHeat: DefaultDecimal
  offlineAfterIntervals: ColumnType<number, number | undefined, number>
  updatedAt: ColumnType<Date, Date | string | undefined, Date | string>
}
export interface MeterReadTable {
  id: Generated<string>
  estateId: string
  meterId: string
  period: string
  periodStart: Timestamp
  cutoffAt: Timestamp
  previousReading: string | null
  previousAt: Timestamp | null
  previousSource: PreviousSource | null
  currentReading: string | null
  currentAt: Timestamp | null
  method: MeterReadMethod
  multiplier: Decimal
  consumption: string | null
  rollover: boolean
  replacements: number
  truesUp: boolean
  flags: Json<MeterReadFlag[]>
  status: MeterReadStatus
  approvedBy: string | null
  approvedAt: Timestamp | null
  computedAt: ColumnType<Date, Date | string | undefined, Date | string>
  updatedAt: ColumnType<Date, Date | string | undefined, Date | string>
  version: ColumnType<number, number | undefined, number>
}
export interface MeterReadChangeTable {
  id: Generated<number>
  estateId: string
  meterReadId: string
  action: MeterReadAction
  reason: string | null
  changedBy: string | null
  changedAt: ColumnType<Date, Date | string | undefined, never>
  old: Json<Record<string, unknown>> | null
  new: Json<Record<string, unknown>>
}

declare module '../store/database-schema.ts' {
  interface Database {
    meters: MeterTable
    meterReplacements: MeterReplacementTable
    meteringSettings: MeteringSettingsTable
    meterReads: MeterReadTable
    meterReadChanges: MeterReadChangeTable
  }
}
