import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'

/** One relative import of one source file, as written and as resolved from the repo root. */
export interface SourceImport {
  readonly from: string
  readonly to: string
  /** `import type` / `export type`: erased at run time. */
  readonly typeOnly: boolean
  readonly line: number
}

// Static imports and re-exports (`import … from './x'`, `export … from './x'`, `import './x'`)
// and dynamic `import('./x')`; only relative specifiers name files of ours.
const STATIC = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"](\.{1,2}\/[^'"]+)['"]/gm
const DYNAMIC = /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g

/** Every tracked TypeScript and Vue source file of the repo (tests included). */
export function sourceFiles(root: string): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts', '*.vue'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f && !f.includes('node_modules/') && !f.endsWith('.d.ts'))
}

export function importsOf(root: string, file: string): SourceImport[] {
  let text: string
  try {
    text = readFileSync(join(root, file), 'utf8')
  } catch {
    return [] // listed by git but deleted in the work tree
  }
  const lineOf = (index: number) => text.slice(0, index).split('\n').length
  const resolve = (spec: string) => normalize(join(dirname(file), spec))
  const out: SourceImport[] = []
  for (const m of text.matchAll(STATIC)) {
    out.push({ from: file, to: resolve(m[3]!), typeOnly: Boolean(m[2]), line: lineOf(m.index) })
  }
  for (const m of text.matchAll(DYNAMIC)) {
    out.push({ from: file, to: resolve(m[1]!), typeOnly: false, line: lineOf(m.index) })
  }
  return out
}

/** `hub/billing/x.ts` → `hub/billing`; top-level files keep their folder alone. */
export function area(path: string): string {
  return path.split('/').slice(0, 2).join('/')
}
