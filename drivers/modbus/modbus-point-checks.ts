/**
 * The rules of one Modbus point a schema cannot say: table and data type agree, bit and
 * string points carry what they need, a value fits below register 65536. Once for a gateway
 * config point, once for a hub point record (whose messages the API has always used).
 */
import type { PointRecord, Problem } from '../contract/protocol-definition.ts'
import { type DataType, registerSpan } from '../driver-types.ts'
import type { ModbusPoint } from './modbus-types.ts'
import { plausibleRangeError } from './register-codec.ts'

const isBitTable = (table: string) => table === 'coil' || table === 'discrete-input'

export function checkModbusConfigPoint(point: ModbusPoint): Problem[] {
  const out: Problem[] = []
  const bitTable = isBitTable(point.table)
  if (bitTable !== (point.dataType === 'bool')) {
    out.push({
      path: ['dataType'],
      message: bitTable ? `a ${point.table} holds one bool` : `use bool only on coils and discrete inputs`,
    })
  }
  if (point.dataType === 'bit' && point.bit === undefined)
    out.push({ path: ['bit'], message: 'is required for dataType bit' })
  if (point.dataType === 'string' && point.length === undefined)
    out.push({ path: ['length'], message: 'is required for dataType string' })
  const words = registerSpan(point.dataType, point.length)
  if (point.register + words - 1 > 65535)
    out.push({ path: ['register'], message: `a ${point.dataType} here runs past 65535` })
  const range = plausibleRangeError(point)
  if (range !== undefined) out.push({ path: ['plausibleMax'], message: range })
  return out
}

export function checkModbusRecord(point: PointRecord): Problem | undefined {
  const address = point.address as { table: string; register: number; bit?: number; length?: number }
  if (isBitTable(address.table) !== (point.dataType === 'bool')) {
    return {
      path: ['dataType'],
      message: `a ${address.table} holds ${address.table.includes('register') ? 'registers, not a bool' : 'one bool'}`,
      rule: 'point.dataTypeForTable',
      params: { table: address.table },
    }
  }
  if (point.dataType === 'bit' && address.bit === undefined)
    return { path: ['address', 'bit'], message: 'is required for dataType bit', rule: 'point.bitRequired' }
  const words = registerSpan(point.dataType as DataType, address.length)
  if (address.register + words - 1 > 65535) {
    return {
      path: ['address', 'register'],
      message: `a ${point.dataType} needs ${words} registers and would run past 65535`,
      rule: 'point.pastLastRegister',
      params: { dataType: point.dataType, words },
    }
  }
  if (words > 1 && !point.byteOrder)
    return {
      path: ['byteOrder'],
      message: `is required for ${point.dataType} (ABCD, CDAB, BADC or DCBA)`,
      rule: 'point.byteOrderRequired',
      params: { dataType: point.dataType },
    }
  return undefined
}
