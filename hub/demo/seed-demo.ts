import { randomBytes } from 'node:crypto'
import type { Insertable, Kysely } from 'kysely'
import type { AlarmRuleTable } from '../alarms/alarms-tables.ts'
import { hashPassword } from '../auth/password.ts'
import { createUser, grantRole } from '../auth/user-accounts.ts'
import { createOrgChain } from '../org/org-chain.ts'
import type { Database, UnitStatus } from '../store/database-schema.ts'

export const DEMO_USERNAME = 'demo-admin'
export const DEMO_ESTATE_CODE = 'DEMO-HJ'
export const DEMO_GATEWAY_CODE = 'demo-gw-1'
/** The first of the demo's Modbus TCP meter lines: building n answers on DEMO_MODBUS_PORT + n - 1. */
export const DEMO_MODBUS_PORT = 15020
/** The demo's simulated BACnet controller, and the gateway's own BACnet port. */
export const DEMO_BACNET_PORT = 47850
export const DEMO_BACNET_GATEWAY_PORT = 47851
export const DEMO_BACNET_INSTANCE = 1001
export const DEMO_DOOR_CONTROLLER = 'demo-door-ctl'
export const DEMO_BUILDINGS = 2
export const DEMO_FLOORS = 25
export const DEMO_UNITS_PER_FLOOR = 6
/** Each building's master meter sits at this unit id on its building's line, behind 200/5 A CTs. */
export const MASTER_UNIT_ID = 200
export const MASTER_CT_RATIO = 40
/** uint32 registers: × 0.01 kWh and × 0.001 m³. */
export const ENERGY_CAPACITY = '42949672.96'
export const WATER_CAPACITY = '4294967.296'

export interface DemoUnit {
  /** 0-based over the whole estate. */
  readonly index: number
  readonly building: number
  readonly code: string
  readonly floor: number
  /** 1..150 within the building: its meter's Modbus unit id. */
  readonly position: number
  readonly status: UnitStatus
  readonly areaM2: string
}

/** A small deterministic hash (FNV-1a, 32 bit) for everything the demo varies per unit. */
export function demoHash(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

const areas = ['89.50', '120.36', '105.20', '105.20', '120.36', '89.50']

function statusOf(code: string): UnitStatus {
  const r = demoHash(`status:${code}`) % 100
  return r < 64 ? 'occupied' : r < 82 ? 'rented' : r < 94 ? 'vacant' : 'decorating'
}

/** The demo estate's units: 2 buildings × 25 floors × 6 units, codes like 1-1203. */
export function demoUnits(): DemoUnit[] {
  const units: DemoUnit[] = []
  for (let building = 1; building <= DEMO_BUILDINGS; building++) {
    let position = 0
    for (let floor = 1; floor <= DEMO_FLOORS; floor++) {
      for (let n = 1; n <= DEMO_UNITS_PER_FLOOR; n++) {
        position += 1
        const code = `${building}-${floor}${String(n).padStart(2, '0')}`
        units.push({
          index: units.length,
          building,
          code,
          floor,
          position,
          status: ANOMALIES.get(code) ?? statusOf(code),
          areaM2: areas[n - 1]!,
        })
      }
    }
  }
  return units
}

/**
 * Occupied units whose meters misbehave in the generated history, so the demo's meter-read
 * list has something to look at: a water register that jumps back to nearly zero halfway
 * through (a meter swapped without a replacement record: `reverse`), and an electricity
 * register that is stuck while the flat is lived in (`zero_occupied`; the building's master
 * meter still sees the energy, so its loss stays plausible).
 */
export const ANOMALY_BACKWARDS = '1-1203'
export const ANOMALY_STUCK = '2-1505'
/** A vacant flat with a dripping tap (60 litres an hour, day and night): the night-flow rule's case. */
export const ANOMALY_LEAK = '2-803'
const ANOMALIES = new Map<string, UnitStatus>([
  [ANOMALY_BACKWARDS, 'occupied'],
  [ANOMALY_STUCK, 'occupied'],
  [ANOMALY_LEAK, 'vacant'],
])

export interface DemoSeed {
  readonly username: string
  readonly password: string
  readonly estateId: string
  /** The demo gateway's secret for this run (only its hash is stored). */
  readonly gatewaySecret: string
  /** Whether the estate was created by this call (a first run). */
  readonly created: boolean
}

/**
 * Seeds the demo estate (华景花园: two buildings of 150 units, owners and tenants, a meter
 * pair per unit, a master meter per building, a BACnet plant controller, a door controller
 * and the gateway they hang off) once. On every start the demo admin gets a fresh random
 * password and the demo gateway a fresh secret, so the printed login always works and no
 * fixed credential ships with the product.
 */
export async function seedDemo(db: Kysely<Database>): Promise<DemoSeed> {
  const { estateId, created } = await db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('orgNodes')
      .select('id')
      .where('code', '=', DEMO_ESTATE_CODE)
      .executeTakeFirst()
    return existing
      ? { estateId: existing.id, created: false }
      : { estateId: await seedEstate(trx), created: true }
  })
  const password = `demo-${randomBytes(9).toString('base64url')}`
  const gatewaySecret = randomBytes(24).toString('base64url')
  const [passwordHash, secretHash] = await Promise.all([hashPassword(password), hashPassword(gatewaySecret)])
  await db
    .updateTable('gateways')
    .set({ secretHash, secretRotatedAt: new Date(), enabled: true })
    .where('code', '=', DEMO_GATEWAY_CODE)
    .execute()
  const user = await db
    .selectFrom('users')
    .select('id')
    .where('username', '=', DEMO_USERNAME)
    .executeTakeFirst()
  if (user) {
    await db.updateTable('users').set({ passwordHash, disabled: false }).where('id', '=', user.id).execute()
  } else {
    const made = await createUser(db, { username: DEMO_USERNAME, displayName: '演示管理员', password })
    await grantRole(db, made.id, 'admin', null, null)
  }
  return { username: DEMO_USERNAME, password, estateId, gatewaySecret, created }
}

const energyPoint = {
  code: 'energy',
  address: { table: 'holding-register', register: 0 },
  dataType: 'uint32',
  byteOrder: 'ABCD',
  scale: '0.01',
  unit: 'kWh',
  kind: 'counter',
} as const
const waterPoint = {
  code: 'water',
  address: { table: 'holding-register', register: 4 },
  dataType: 'uint32',
  byteOrder: 'ABCD',
  scale: '0.001',
  unit: 'm³',
  kind: 'counter',
} as const

/** Inserts the estate in a few multi-row statements (one round trip per table, not per row). */
async function seedEstate(db: Kysely<Database>): Promise<string> {
  const { estateId } = await createOrgChain(db, {
    group: { code: 'DEMO-GROUP', name: '华景集团' },
    company: { code: 'DEMO-PM', name: '华景物业服务有限公司' },
    estate: {
      code: DEMO_ESTATE_CODE,
      name: '华景花园',
      timezone: 'Asia/Shanghai',
      address: '广州市天河区华景路 1 号',
    },
  })

  const gatewayId = (
    await db
      .insertInto('gateways')
      .values({
        estateId,
        code: DEMO_GATEWAY_CODE,
        name: '1号配电房网关',
        // Replaced by seedDemo with the hash of this run's secret.
        secretHash: await hashPassword(randomBytes(24).toString('base64url')),
        enabled: true,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id

  const buildingRows = await db
    .insertInto('buildings')
    .values(
      Array.from({ length: DEMO_BUILDINGS }, (_, i) => ({
        estateId,
        code: `B${i + 1}`,
        name: `${i + 1}栋`,
        floorsAbove: DEMO_FLOORS,
        floorsBelow: 1,
      })),
    )
    .returning(['id', 'code'])
    .execute()
  const buildingId = (building: number) => buildingRows.find((b) => b.code === `B${building}`)!.id

  const units = demoUnits()
  const unitRows = await db
    .insertInto('units')
    .values(
      units.map((u) => ({
        estateId,
        buildingId: buildingId(u.building),
        code: u.code,
        floor: u.floor,
        areaM2: u.areaM2,
        use: 'residence' as const,
        status: u.status,
      })),
    )
    .returning(['id', 'code'])
    .execute()
  const unitId = new Map(unitRows.map((r) => [r.code, r.id]))

  // Owners for every unit that is not vacant; rented units have a tenant as well.
  const people = units.flatMap((u) => {
    if (u.status === 'vacant') return []
    const owner = { unit: u, role: 'owner' as const, code: `C-${u.code}`, name: `业主${u.code}` }
    return u.status === 'rented'
      ? [owner, { unit: u, role: 'tenant' as const, code: `T-${u.code}`, name: `租户${u.code}` }]
      : [owner]
  })
  const customerRows = await db
    .insertInto('customers')
    .values(
      people.map((p, i) => ({
        estateId,
        code: p.code,
        kind: 'person' as const,
        name: p.name,
        phone: `139${String(20_000_000 + i * 7_919).padStart(8, '0')}`,
      })),
    )
    .returning(['id', 'code'])
    .execute()
  const customerId = new Map(customerRows.map((r) => [r.code, r.id]))
  await db
    .insertInto('occupancies')
    .values(
      people.map((p) => ({
        estateId,
        unitId: unitId.get(p.unit.code)!,
        customerId: customerId.get(p.code)!,
        role: p.role,
        startDate:
          p.role === 'owner'
            ? `${2019 + (demoHash(p.code) % 5)}-0${1 + (p.unit.index % 9)}-01`
            : '2025-03-01',
      })),
    )
    .execute()

  // One smart meter per unit (electricity and water registers) on its building's Modbus TCP
  // line, and each building's master meter on the same line.
  const modbusDevices = [
    ...units.map((u) => ({
      code: `meter-${u.code}`,
      name: `${u.code} 智能表`,
      building: u.building,
      unitId: unitId.get(u.code)!,
      slave: u.position,
    })),
    ...Array.from({ length: DEMO_BUILDINGS }, (_, i) => ({
      code: `meter-${i + 1}-main`,
      name: `${i + 1}栋总表`,
      building: i + 1,
      unitId: null,
      slave: MASTER_UNIT_ID,
    })),
  ]
  const deviceRows = await db
    .insertInto('devices')
    .values([
      ...modbusDevices.map((d) => ({
        estateId,
        gatewayId,
        code: d.code,
        name: d.name,
        protocol: 'modbus-tcp' as const,
        connection: { host: '127.0.0.1', port: DEMO_MODBUS_PORT + d.building - 1, unitId: d.slave },
        deviceClass: 'meter',
        unitId: d.unitId,
        buildingId: buildingId(d.building),
        enabled: true,
      })),
      {
        estateId,
        gatewayId,
        code: 'bms-plant',
        name: '冷热源机房 BACnet 控制器',
        protocol: 'bacnet-ip' as const,
        connection: { host: '127.0.0.1', port: DEMO_BACNET_PORT, deviceInstance: DEMO_BACNET_INSTANCE },
        deviceClass: 'hvac',
        unitId: null,
        buildingId: buildingId(1),
        enabled: true,
      },
      {
        estateId,
        gatewayId,
        code: 'door-main',
        name: '南大门门禁控制器',
        protocol: 'access-webhook' as const,
        connection: { controllerId: DEMO_DOOR_CONTROLLER },
        deviceClass: 'access',
        unitId: null,
        buildingId: null,
        enabled: true,
      },
    ])
    .returning(['id', 'code'])
    .execute()
  const deviceId = new Map(deviceRows.map((r) => [r.code, r.id]))

  const pointRows = await db
    .insertInto('points')
    .values([
      ...units.flatMap((u) => [
        { estateId, deviceId: deviceId.get(`meter-${u.code}`)!, name: `${u.code} 电能`, ...energyPoint },
        { estateId, deviceId: deviceId.get(`meter-${u.code}`)!, name: `${u.code} 用水`, ...waterPoint },
      ]),
      ...Array.from({ length: DEMO_BUILDINGS }, (_, i) => ({
        estateId,
        deviceId: deviceId.get(`meter-${i + 1}-main`)!,
        name: `${i + 1}栋总表电能(CT 200/5)`,
        ...energyPoint,
      })),
      {
        estateId,
        deviceId: deviceId.get('bms-plant')!,
        code: 'ahu1-supply-temp',
        name: '1号空调箱送风温度',
        address: { objectType: 'analog-input', instance: 1 },
        dataType: 'float32',
        byteOrder: null,
        unit: '°C',
        kind: 'gauge' as const,
      },
      {
        estateId,
        deviceId: deviceId.get('bms-plant')!,
        code: 'chw-pump1-running',
        name: '1号冷冻水泵运行状态',
        address: { objectType: 'binary-input', instance: 1 },
        dataType: 'bool',
        byteOrder: null,
        unit: null,
        kind: 'state' as const,
      },
      ...[
        ['south-gate', '南大门'],
        ['b1-lobby', '1栋大堂'],
      ].map(([door, name]) => ({
        estateId,
        deviceId: deviceId.get('door-main')!,
        code: door!,
        name: name!,
        address: { door: door! },
        dataType: 'string',
        byteOrder: null,
        unit: null,
        kind: 'event' as const,
      })),
    ])
    .returning(['id', 'deviceId', 'code'])
    .execute()
  const pointId = new Map(pointRows.map((r) => [`${r.deviceId}/${r.code}`, r.id]))
  const pointOf = (device: string, point: string) => pointId.get(`${deviceId.get(device)}/${point}`)!

  const masters = await db
    .insertInto('meters')
    .values(
      Array.from({ length: DEMO_BUILDINGS }, (_, i) => ({
        estateId,
        code: `E-${i + 1}-MAIN`,
        kind: 'electricity' as const,
        buildingId: buildingId(i + 1),
        location: `${i + 1}栋配电房`,
        multiplier: String(MASTER_CT_RATIO),
        registerCapacity: ENERGY_CAPACITY,
        pointId: pointOf(`meter-${i + 1}-main`, 'energy'),
        billing: false,
      })),
    )
    .returning(['id', 'code'])
    .execute()
  const masterOf = (building: number) => masters.find((m) => m.code === `E-${building}-MAIN`)!.id
  await db
    .insertInto('meters')
    .values(
      units.flatMap((u) => [
        {
          estateId,
          code: `E-${u.code}`,
          kind: 'electricity' as const,
          unitId: unitId.get(u.code)!,
          buildingId: buildingId(u.building),
          registerCapacity: ENERGY_CAPACITY,
          pointId: pointOf(`meter-${u.code}`, 'energy'),
          parentMeterId: masterOf(u.building),
        },
        {
          estateId,
          code: `W-${u.code}`,
          kind: 'water' as const,
          unitId: unitId.get(u.code)!,
          buildingId: buildingId(u.building),
          registerCapacity: WATER_CAPACITY,
          pointId: pointOf(`meter-${u.code}`, 'water'),
        },
      ]),
    )
    .execute()
  await seedAlarmRules(db, estateId, pointOf('bms-plant', 'ahu1-supply-temp'))
  return estateId
}

/** The rules a property-management company would start with: security, plant, meters, gateway. */
async function seedAlarmRules(db: Kysely<Database>, estateId: string, supplyTempPoint: string) {
  const security = { workOrderCategory: 'security', department: '安保部' }
  const engineering = { department: '工程部' }
  await db
    .insertInto('alarmRules')
    .values(
      [
        {
          name: '门被强行打开',
          kind: 'event',
          eventType: 'forced',
          deviceClass: 'access',
          severity: 'critical',
          ...security,
          workOrderPriority: 'urgent',
        },
        {
          name: '连续刷卡失败',
          kind: 'event',
          eventType: 'denied',
          eventCount: 5,
          windowSeconds: 120,
          deviceClass: 'access',
          severity: 'major',
          ...security,
          workOrderPriority: 'high',
        },
        {
          name: '门长时间未关',
          kind: 'event',
          eventType: 'held_open',
          deviceClass: 'access',
          severity: 'minor',
        },
        {
          name: '网关离线',
          kind: 'offline',
          offlineTarget: 'gateway',
          offlineMinutes: 15,
          severity: 'critical',
          workOrderCategory: 'equipment',
          workOrderPriority: 'urgent',
          ...engineering,
        },
        {
          name: '表计离线',
          kind: 'offline',
          offlineTarget: 'device',
          offlineMinutes: 60,
          deviceClass: 'meter',
          severity: 'minor',
        },
        {
          name: '送风温度过高',
          kind: 'threshold',
          pointId: supplyTempPoint,
          above: '28',
          hysteresis: '2',
          holdSeconds: 120,
          severity: 'major',
          workOrderCategory: 'equipment',
          workOrderPriority: 'normal',
          ...engineering,
        },
        {
          name: '水表倒转',
          kind: 'reverse_flow',
          deviceClass: 'meter',
          severity: 'major',
          workOrderCategory: 'metering',
          workOrderPriority: 'normal',
          ...engineering,
        },
        {
          name: '空置房夜间流水',
          kind: 'night_flow',
          deviceClass: 'meter',
          nightStart: 1,
          nightEnd: 5,
          minFlow: '0.03',
          severity: 'major',
          workOrderCategory: 'plumbing',
          workOrderPriority: 'high',
          ...engineering,
        },
      ].map((rule) => ({ estateId, ...rule }) as Insertable<AlarmRuleTable>),
    )
    .execute()
  // Security at the gate answers faster than the default for urgent orders.
  await db
    .insertInto('slaPolicies')
    .values({ estateId, category: 'security', priority: 'urgent', respondMinutes: 15, completeMinutes: 120 })
    .execute()
}
