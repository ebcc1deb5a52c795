import type { FastifyInstance } from 'fastify'
import { invalid } from './api-error.ts'

/**
 * A number the hub cannot hold: ±Infinity or NaN. JSON.parse turns `1e309` into Infinity, and
 * Ajv's type coercion turns the query text `Infinity` into one that passes `type: integer` (and
 * even `maximum`); either would reach a query or the reply serializer as a 500. Checked once,
 * after validation, for every route. The walk needs no depth guard: storable-text.ts has
 * already refused a body nested deeper than it allows.
 */
export function checkFinite(part: string, value: unknown): void {
  const pending: { value: unknown; path: string }[] = [{ value, path: part }]
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value: item, path } = next
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) throw invalid(path, 'must be a finite number', 'number.finite')
      continue
    }
    if (item === null || typeof item !== 'object' || Buffer.isBuffer(item)) continue
    const entries = Array.isArray(item) ? [...item.entries()] : Object.entries(item)
    for (const [key, child] of entries.reverse()) pending.push({ value: child, path: `${path}.${key}` })
  }
}

export function registerFiniteNumbers(app: FastifyInstance) {
  app.addHook('preHandler', async (request) => {
    checkFinite('query', request.query)
    checkFinite('params', request.params)
    checkFinite('body', request.body)
  })
}
