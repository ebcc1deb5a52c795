import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseDocument } from 'yaml'
import { schemaIssues } from '../access/schema-issues.ts'
import type { ModbusLimits } from '../modbus/modbus-types.ts'
import { checkProfilePoints, type ProfilePoint, type ProfileProblem } from './profile-checks.ts'
import { type ProfileFile, ProfileFileSchema } from './profile-schema.ts'

export type { ProfilePoint, ProfileProblem } from './profile-checks.ts'

/**
 * Device profiles: a meter model's register map as a YAML data file beside this one, chosen
 * by `profile: <name>` in a gateway config instead of listing points (docs/profiles.md).
 */

/** The folder shipped profiles live in: this one. */
export const defaultProfileDir = fileURLToPath(new URL('.', import.meta.url))

const extension = '.yaml'
const namePattern = /^[a-z0-9][a-z0-9._-]{0,63}$/

export interface DeviceProfile {
  readonly name: string
  readonly file: string
  readonly maker: string
  readonly model: string
  readonly description?: string
  readonly source: ProfileFile['source']
  readonly verified?: string
  readonly limits: Partial<Pick<ModbusLimits, 'maxRegistersPerRead' | 'maxGap'>>
  readonly points: readonly ProfilePoint[]
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

function schemaProblems(value: unknown): ProfileProblem[] {
  return schemaIssues(ProfileFileSchema, value).map((i) => ({
    path: i.path.join('.'),
    message: i.message === 'unknown field' ? 'unknown key' : i.message,
  }))
}

function resolvePoints(doc: ProfileFile): ProfilePoint[] {
  const d = doc.defaults ?? {}
  return doc.points.map((p) => {
    const { table = d.table, dataType = d.dataType, byteOrder = d.byteOrder, ...rest } = p
    return {
      ...rest,
      table: table ?? 'holding-register',
      dataType: dataType ?? 'uint16',
      ...(byteOrder !== undefined ? { byteOrder } : {}),
    } as ProfilePoint
  })
}

function missingTypeProblems(doc: ProfileFile): ProfileProblem[] {
  // A register without a table or type would silently default; make the file say it.
  return doc.points.flatMap((p, i) => [
    ...((p.table ?? doc.defaults?.table)
      ? []
      : [{ path: `points.${i}.table`, message: 'is required (or set defaults.table)' }]),
    ...((p.dataType ?? doc.defaults?.dataType)
      ? []
      : [{ path: `points.${i}.dataType`, message: 'is required (or set defaults.dataType)' }]),
  ])
}

/** Reads, validates and resolves one profile. Throws ProfileError naming the file and key. */
export function loadProfileDefinition(name: string, dir: string = defaultProfileDir): DeviceProfile {
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
  const shape = schemaProblems(value)
  if (shape.length > 0) throw new ProfileError(file, shape)
  const doc = value as ProfileFile
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
  problems.push(...missingTypeProblems(doc))
  const points = resolvePoints(doc)
  if (problems.length === 0) problems.push(...checkProfilePoints(points))
  if (problems.length > 0) throw new ProfileError(file, problems)
  return {
    name,
    file,
    maker: doc.maker,
    model: doc.model,
    ...(doc.description !== undefined ? { description: doc.description } : {}),
    source: doc.source,
    ...(doc.verified !== undefined ? { verified: doc.verified } : {}),
    limits: { ...doc.limits },
    points,
  }
}

/** The points of profile `name`, ready for the Modbus planner. Throws ProfileError. */
export function loadProfile(name: string, dir: string = defaultProfileDir): ProfilePoint[] {
  return [...loadProfileDefinition(name, dir).points]
}
