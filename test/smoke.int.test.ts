import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { twoEstates } from './support/estate-fixture.ts'
import { storeBackends } from './support/store-backends.ts'
import { openTestHub, type TestHub } from './support/test-hub.ts'

describe.each(storeBackends())('smoke on $name', (backend) => {
  let hub: TestHub
  beforeAll(async () => {
    hub = await openTestHub(backend)
  })
  afterAll(() => hub?.close())
  it('furnishes two estates', async () => {
    const t = await twoEstates(hub)
    expect(t.a.estateId).not.toBe(t.b.estateId)
  })
})
