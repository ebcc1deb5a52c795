import { ApiError, detail } from './api-error.ts'

interface PgErrorLike {
  code?: string
  constraint?: string
  detail?: string
  column?: string
}

const camel = (snake: string) => snake.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** The columns a PostgreSQL detail names: `Key (estate_id, code)=(…) already exists.` */
function columnsOf(detail: string | undefined): string[] {
  const match = detail?.match(/Key \(([^)]+)\)/)
  return match?.[1] ? match[1].split(',').map((c) => camel(c.trim().replace(/^lower\((.*)\)$/, '$1'))) : []
}

/**
 * Turns a constraint violation from PostgreSQL or PGlite into an API error naming the field,
 * so a race that slips past a service check still answers 409/400 rather than 500.
 */
export function fromDatabaseError(error: unknown): ApiError | undefined {
  const e = error as PgErrorLike
  if (typeof e?.code !== 'string') return undefined
  const columns = columnsOf(e.detail).filter((c) => c !== 'estateId')
  const field = `body.${columns.at(-1) ?? e.column ?? e.constraint ?? 'unknown'}`
  switch (e.code) {
    case '23505':
      return new ApiError('EH_ERR_CONFLICT', `${field}: a record with this value already exists`, [
        detail(field, 'already exists', 'db.unique'),
      ])
    case '23503':
      return new ApiError('EH_ERR_VALIDATION', `${field}: refers to a record that does not exist here`, [
        detail(field, 'refers to a record that does not exist in this estate', 'db.reference'),
      ])
    case '23514':
    case '23502':
      return new ApiError(
        'EH_ERR_VALIDATION',
        `value violates rule ${e.constraint ?? e.column ?? ''}`.trim(),
        [
          detail(
            e.column ? `body.${camel(e.column)}` : `constraint.${e.constraint ?? 'unknown'}`,
            'not allowed',
            'db.check',
            { constraint: e.constraint ?? e.column ?? '' },
          ),
        ],
      )
    case '22P02':
    case '22003':
    case '22007':
    case '22008':
      return new ApiError('EH_ERR_VALIDATION', 'a value has the wrong format or is out of range', [
        detail('body', e.detail ?? 'invalid value', 'db.format'),
      ])
    default:
      return undefined
  }
}
