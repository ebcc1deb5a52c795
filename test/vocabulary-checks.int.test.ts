import { type Kysely, sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrateHub } from '../hub/app/hub-migrations.ts'
import { feeItemMeterCheck, vocabularyChecks } from '../hub/app/vocabulary-checks.ts'
import type { Store } from '../hub/store/open-store.ts'
import { liveVocabularyChecks } from '../hub/store/vocabulary-checks.ts'
import { storeBackends } from './support/store-backends.ts'

/**
 * The database's CHECKs say what the vocabulary lists say: every `column in (…)` CHECK of a
 * migrated database lists exactly its list's values, in order, and none is left without a list.
 */
describe.each(storeBackends())('vocabulary CHECKs on $name', (backend) => {
  let store: Store
  let live: Map<string, string[]>
  beforeAll(async () => {
    store = await backend.open()
    live = await liveVocabularyChecks(store.db as Kysely<unknown>)
  })
  afterAll(() => store?.close())

  it('list exactly the values of their lists', () => {
    for (const { table, column, values } of vocabularyChecks)
      expect(live.get(`${table}.${column}`), `${table}.${column}`).toEqual([...values()])
  })

  it('each come from a list (devices.protocol from the protocol registry)', () => {
    const listed = new Set([...vocabularyChecks.map((c) => `${c.table}.${c.column}`), 'devices.protocol'])
    expect([...live.keys()].filter((key) => !listed.has(key))).toEqual([])
  })

  it("write fee_items' meter rule from the fee kinds", async () => {
    const { name, expression } = feeItemMeterCheck
    const { rows } = await sql<{ definition: string }>`
      select pg_get_constraintdef(oid) as definition from pg_constraint where conname = ${name}`.execute(
      store.db,
    )
    expect(rows).toHaveLength(1)
    // PostgreSQL prints `kind in ('a', 'b')` as `kind = ANY (ARRAY['a'::text, 'b'::text])`.
    const kinds = (text: string) => [...text.matchAll(/'(\w+)'/g)].map((m) => m[1])
    expect(kinds(rows[0]!.definition)).toEqual(kinds(expression()))
    expect(kinds(expression())).toEqual(['consumption', 'tiered', 'shared'])
  })

  it('are widened at the next start when a list grew, and never narrowed', async () => {
    const db = store.db as Kysely<unknown>
    const kinds = async () => (await liveVocabularyChecks(db)).get('fee_items.kind')
    const rewrite = (values: string) =>
      sql
        .raw(`alter table fee_items drop constraint fee_items_kind_check,
        add constraint fee_items_kind_check check (kind in (${values}))`)
        .execute(db)
    const all = vocabularyChecks.find((c) => c.table === 'fee_items' && c.column === 'kind')!.values()
    // A database written before 'shared' and 'one_off' were kinds:
    await rewrite(`'area', 'consumption', 'tiered', 'fixed'`)
    await migrateHub(store.db)
    expect(await kinds()).toEqual([...all])
    // One a newer hub wrote, with a kind this code does not know, keeps it:
    await rewrite(`${all.map((k) => `'${k}'`).join(', ')}, 'newer_kind'`)
    await migrateHub(store.db)
    expect(await kinds()).toEqual([...all, 'newer_kind'])
  })
})
