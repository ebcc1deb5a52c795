import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TSchema } from 'typebox'
import { parseDocument } from 'yaml'
import { schemaIssues } from '../access/schema-issues.ts'
import type { Problem } from '../contract/protocol-definition.ts'
import { familyNamed, protocolFamilies } from '../contract/protocol-registry.ts'
import type { ProfilePoint, ProfileProblem } from '../modbus/modbus-profile-checks.ts'
import { DEFAULT_PROFILE_FAMILY, type ProfileEnvelope, profileFileSchema } from './profile-schema.ts'

export type { ProfilePoint, ProfileProblem } from '../modbus/modbus-profile-checks.ts'

/**
 * Device profiles: a device model's point map as a YAML data file beside this one, chosen
 * by `profile: <name>` in a gateway config instead of listing points (docs/profiles.md). The
 * file's `protocol` names the registry family whose `profile` parts check and resolve it.
 */

/** The folder shipped profiles live in: this one. */
export const defaultProfileDir = fileURLToPath(new URL('.', import.meta.url))

const extension = '.yaml'
const namePattern = /^[a-z0-9][a-z0-9._-]{0,63}$/

/** A loaded profile; its points are Modbus points unless the caller knows the family. */
export interface DeviceProfile<P = ProfilePoint> {
  readonly name: string
  readonly file: string
  /** The registry family the profile is for: `modbus`, `bacnet`… */
  readonly protocol: string
  readonly maker: string
  readonly model: string
  readonly description?: string
  readonly source: ProfileEnvelope['source']
  readonly verified?: string
  /** Connection keys the maker's document fixes (Modbus read limits); the device's own win. */
  readonly limits: Readonly<Record<string, number>>
  readonly points: readonly P[]
}

/** A profile that cannot be used; the message names the file and each key at fault. */
export class ProfileError extends Error {
  readonly code = 'EH_ERR_PROFILE'
  readonly file: string
  readonly problems: readonly ProfileProblem[]
  constructor(file: string, problems: readonly ProfileProblem[]) {
    super(
      problems.map((p) => (p.path ? `${file}: ${p.path}: ${p.message}` : `${file}: ${p.message}`)).join('\n'),
    )
    this.name = 'ProfileError'
    this.file = file
    this.problems = problems
  }
}

/** Names of the profiles in `dir`, sorted. */
export function listProfiles(dir: string = defaultProfileDir): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(extension))
    .map((f) => f.slice(0, -extension.length))
    .filter((n) => namePattern.test(n))
    .sort()
}

function schemaProblems(schema: TSchema, value: unknown): ProfileProblem[] {
  return schemaIssues(schema, value).map((i) => ({
    path: i.path.join('.'),
    message: i.message === 'unknown field' ? 'unknown key' : i.message,
  }))
}

const fileProblem = (p: Problem): ProfileProblem => ({ path: p.path.join('.'), message: p.message })

/** Reads, validates and resolves one profile. Throws ProfileError naming the file and key. */
export function loadProfileDefinition<P = ProfilePoint>(
  name: string,
  dir: string = defaultProfileDir,
): DeviceProfile<P> {
  const file = join(dir, `${name}${extension}`)
  if (!namePattern.test(name)) {
    throw new ProfileError(file, [
      { path: '', message: `"${name}" is not a profile name (${namePattern.source})` },
    ])
  }
  if (!existsSync(file)) {
    const known = listProfiles(dir)
    throw new ProfileError(file, [
      { path: '', message: `no profile "${name}"; known: ${known.length ? known.join(', ') : 'none'}` },
    ])
  }
  const text = readFileSync(file, 'utf8')
  const parsed = parseDocument(text)
  if (parsed.errors.length > 0) {
    throw new ProfileError(
      file,
      parsed.errors.map((e) => {
        const pos = e.linePos?.[0]
        return {
          path: pos ? `line ${pos.line}, column ${pos.col}` : '',
          message: e.message.split('\n')[0] ?? e.code,
        }
      }),
    )
  }
  const value: unknown = parsed.toJS()
  const familyName = (value as { protocol?: unknown } | null)?.protocol ?? DEFAULT_PROFILE_FAMILY
  const family = typeof familyName === 'string' ? familyNamed(familyName) : undefined
  if (!family?.profile) {
    const known = protocolFamilies()
      .filter((f) => f.profile)
      .map((f) => f.family)
    throw new ProfileError(file, [
      { path: 'protocol', message: `has no profiles; profiles exist for ${known.join(', ')}` },
    ])
  }
  const shape = schemaProblems(profileFileSchema(family.profile), value)
  if (shape.length > 0) throw new ProfileError(file, shape)
  const doc = value as ProfileEnvelope & Record<string, unknown>
  const problems: ProfileProblem[] = []
  if (doc.profile !== name) {
    problems.push({
      path: 'profile',
      message: `is "${doc.profile}" but the file is named "${name}${extension}"`,
    })
  }
  if (doc.source.version === undefined && doc.source.date === undefined) {
    problems.push({ path: 'source', message: "needs the document's version or date" })
  }
  const resolved = family.profile.resolve(doc)
  problems.push(...resolved.problems.map(fileProblem))
  if (problems.length > 0) throw new ProfileError(file, problems)
  return {
    name,
    file,
    protocol: family.family,
    maker: doc.maker,
    model: doc.model,
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    source: doc.source,
    ...(doc.verified !== undefined ? { verified: doc.verified } : {}),
    limits: resolved.connectionDefaults as Record<string, number>,
    points: resolved.points as unknown as P[],
  }
}

/** The points of profile `name`, ready for its family's planner. Throws ProfileError. */
export function loadProfile<P = ProfilePoint>(name: string, dir: string = defaultProfileDir): P[] {
  return [...loadProfileDefinition<P>(name, dir).points]
}
