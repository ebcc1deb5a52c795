import type { Kysely } from 'kysely'
import type { Database } from '../store/database-schema.ts'

export interface OrgNodeSpec {
  readonly code: string
  readonly name?: string
}

/**
 * A group, a company under it and an estate under that, in one go: how the demo, the test
 * fixtures and the benchmarks start an organisation. Names default to the codes.
 */
export async function createOrgChain(
  db: Kysely<Database>,
  chain: {
    group: OrgNodeSpec
    company: OrgNodeSpec
    estate: OrgNodeSpec & { timezone?: string; address?: string }
  },
): Promise<{ groupId: string; companyId: string; estateId: string }> {
  const insert = async (
    kind: 'group' | 'company' | 'estate',
    parentId: string | null,
    spec: OrgNodeSpec & { timezone?: string; address?: string },
  ) =>
    (
      await db
        .insertInto('orgNodes')
        .values({
          kind,
          parentId,
          code: spec.code,
          name: spec.name ?? spec.code,
          timezone: kind === 'estate' ? (spec.timezone ?? 'Asia/Shanghai') : null,
          address: spec.address ?? null,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id
  const groupId = await insert('group', null, chain.group)
  const companyId = await insert('company', groupId, chain.company)
  const estateId = await insert('estate', companyId, chain.estate)
  return { groupId, companyId, estateId }
}
