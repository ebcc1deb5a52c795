import { randomBytes } from 'node:crypto'
import type { Kysely } from 'kysely'
import { hashPassword } from '../auth/password.ts'
import { createUser, grantRole } from '../auth/user-accounts.ts'
import type { Database, UnitStatus } from '../store/database-schema.ts'

export const DEMO_USERNAME = 'demo-admin'
/** The port of the demo's simulated Modbus TCP meter line. */
export const DEMO_MODBUS_PORT = 15020
const DEMO_ESTATE_CODE = 'DEMO-HJ'

export interface DemoLogin {
  readonly username: string
  readonly password: string
  readonly estateId: string
}

/**
 * Seeds a demo estate (华景花园: two buildings, units, owners, meters, a gateway and its
 * Modbus meter bus) once, and gives the demo admin a fresh random password on every start,
 * so the printed login always works and no fixed password ships with the product.
 */
export async function seedDemo(db: Kysely<Database>): Promise<DemoLogin> {
  const estateId = await db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('orgNodes')
      .select('id')
      .where('code', '=', DEMO_ESTATE_CODE)
      .executeTakeFirst()
    return existing?.id ?? seedEstate(trx)
  })
  const password = `demo-${randomBytes(9).toString('base64url')}`
  const user = await db
    .selectFrom('users')
    .select('id')
    .where('username', '=', DEMO_USERNAME)
    .executeTakeFirst()
  if (user) {
    await db
      .updateTable('users')
      .set({ passwordHash: await hashPassword(password), disabled: false })
      .where('id', '=', user.id)
      .execute()
  } else {
    const created = await createUser(db, { username: DEMO_USERNAME, displayName: '演示管理员', password })
    await grantRole(db, created.id, 'admin', null, null)
  }
  return { username: DEMO_USERNAME, password, estateId }
}

async function seedEstate(db: Kysely<Database>): Promise<string> {
  const node = (kind: 'group' | 'company' | 'estate', parentId: string | null, code: string, name: string) =>
    db
      .insertInto('orgNodes')
      .values({
        kind,
        parentId,
        code,
        name,
        timezone: kind === 'estate' ? 'Asia/Shanghai' : null,
        address: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  const group = await node('group', null, 'DEMO-GROUP', '华景集团')
  const company = await node('company', group.id, 'DEMO-PM', '华景物业服务有限公司')
  const estate = await node('estate', company.id, DEMO_ESTATE_CODE, '华景花园')
  const estateId = estate.id

  const gateway = await db
    .insertInto('gateways')
    .values({
      estateId,
      code: 'demo-gw-1',
      name: '1号配电房网关',
      secretHash: await hashPassword(randomBytes(24).toString('base64url')),
      enabled: true,
    })
    .returning('id')
    .executeTakeFirstOrThrow()

  const master = await db
    .insertInto('meters')
    .values({
      estateId,
      code: 'E-MAIN',
      kind: 'electricity',
      location: '1号配电房',
      multiplier: '40',
      registerCapacity: '1000000',
      installReading: '0',
      billing: false,
    })
    .returning('id')
    .executeTakeFirstOrThrow()

  const statuses: UnitStatus[] = ['occupied', 'occupied', 'rented', 'vacant', 'decorating']
  let meterNumber = 0
  for (const [b, name] of ['1栋', '2栋'].entries()) {
    const building = await db
      .insertInto('buildings')
      .values({ estateId, code: `B${b + 1}`, name, floorsAbove: 6, floorsBelow: 1 })
      .returning('id')
      .executeTakeFirstOrThrow()
    for (let floor = 1; floor <= 3; floor++) {
      for (let n = 1; n <= 2; n++) {
        const code = `${b + 1}-${floor}0${n}`
        const status = statuses[(floor * 2 + n + b) % statuses.length]!
        const unit = await db
          .insertInto('units')
          .values({
            estateId,
            buildingId: building.id,
            code,
            floor,
            areaM2: n === 1 ? '89.50' : '120.36',
            use: 'residence',
            status,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        if (status !== 'vacant') {
          const customer = await db
            .insertInto('customers')
            .values({
              estateId,
              code: `C-${code}`,
              kind: 'person',
              name: `业主${code}`,
              phone: `1380000${String(meterNumber).padStart(4, '0')}`,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
          await db
            .insertInto('occupancies')
            .values({
              estateId,
              unitId: unit.id,
              customerId: customer.id,
              role: 'owner',
              startDate: '2023-01-01',
            })
            .execute()
        }
        // One smart meter per unit on the gateway's Modbus TCP line, unit ids 1, 2, …: the
        // demo's simulator serves exactly these (DEMO_MODBUS_PORT).
        meterNumber += 1
        const device = await db
          .insertInto('devices')
          .values({
            estateId,
            gatewayId: gateway.id,
            code: `meter-${code}`,
            name: `${code} 电表`,
            protocol: 'modbus-tcp',
            connection: { host: '127.0.0.1', port: DEMO_MODBUS_PORT, unitId: meterNumber },
            deviceClass: 'meter',
            unitId: unit.id,
            buildingId: building.id,
            enabled: true,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        const point = await db
          .insertInto('points')
          .values({
            estateId,
            deviceId: device.id,
            code: 'energy',
            name: `${code} 电能`,
            address: { table: 'holding-register', register: 0 },
            dataType: 'uint32',
            byteOrder: 'ABCD',
            scale: '0.01',
            unit: 'kWh',
            kind: 'counter',
          })
          .returning('id')
          .executeTakeFirstOrThrow()
        await db
          .insertInto('meters')
          .values({
            estateId,
            code: `E-${code}`,
            kind: 'electricity',
            unitId: unit.id,
            buildingId: building.id,
            // The bound point is a uint32 × 0.01 kWh register: it wraps at 2^32 × 0.01.
            registerCapacity: '42949672.96',
            pointId: point.id,
            parentMeterId: master.id,
          })
          .execute()
        await db
          .insertInto('meters')
          .values({
            estateId,
            code: `W-${code}`,
            kind: 'water',
            unitId: unit.id,
            buildingId: building.id,
            registerCapacity: '100000',
          })
          .execute()
      }
    }
  }
  return estateId
}
