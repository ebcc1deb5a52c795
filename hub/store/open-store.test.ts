import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { migrateToLatest } from './migrate.ts'
import { migrations } from './migrations/index.ts'
import { openStore } from './open-store.ts'

describe('embedded store', () => {
  it('keeps data on disk across restarts and admits one process at a time', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'estatehub-store-')), 'hub')
    const first = await openStore({ dataDir })
    await migrateToLatest(first.db, migrations)
    await first.db
      .insertInto('orgNodes')
      .values({ kind: 'group', parentId: null, code: 'G', name: '集团', timezone: null, address: null })
      .execute()
    await expect(openStore({ dataDir })).rejects.toThrow(/database.dataDir: .* is in use by process \d+/)
    await first.close()

    const second = await openStore({ dataDir })
    expect((await migrateToLatest(second.db, migrations)).applied).toEqual([])
    const groups = await second.db.selectFrom('orgNodes').select(['code', 'name']).execute()
    expect(groups).toEqual([{ code: 'G', name: '集团' }])
    await second.close()
  })
})
