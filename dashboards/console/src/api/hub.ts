import { api, type Download, type Query, type RequestOptions } from './client.ts'
import type { paths } from './hub-api.d.ts'

/*
 * The hub's API typed by path and method, from the types generated out of the hub's own route
 * schemas (api/hub-api.d.ts, decision 0013): a path the hub does not serve, a missing path
 * parameter, a wrong body or a misread answer fails `vue-tsc`. Requests go through client.ts,
 * which keeps the error handling, the auth header, `quiet` and abort as they were.
 *
 *   const unit = await hub.get('/api/v1/units/{id}', { path: { id } })
 */

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete'

/** The hub's paths that answer `M`. */
export type PathOf<M extends Method> = {
  [P in keyof paths]: paths[P] extends { [K in M]: object } ? P : never
}[keyof paths]

/**
 * The hub's generic estate resources by name (`units` for `/api/v1/units` and `/api/v1/units/{id}`):
 * for the data-driven pages (setup resources, pickers), which read rows as records.
 */
export type ResourceName = {
  [P in PathOf<'get'>]: P extends `/api/v1/${infer N}/{id}`
    ? N extends `${string}/${string}`
      ? never
      : N
    : never
}[PathOf<'get'>]

type Operation<P extends PathOf<M>, M extends Method> = paths[P][M]

type Success<O> = O extends { responses: infer R } ? R[Extract<keyof R, 200 | 201 | 202 | 204>] : never
type ContentOf<R> = R extends { content: { 'application/json': infer T } }
  ? T
  : R extends { content: { 'text/plain': infer T } }
    ? T
    : undefined

/** What the hub answers to `M P` (its 2xx JSON). */
export type HubAnswer<P extends PathOf<M>, M extends Method = 'get'> = ContentOf<Success<Operation<P, M>>>

/** One item of a list answer (`{items, total, limit, offset}`). */
export type HubItem<P extends PathOf<M>, M extends Method = 'get'> =
  HubAnswer<P, M> extends { items: (infer T)[] } ? T : never

/** The JSON body `M P` takes. */
export type HubBody<P extends PathOf<M>, M extends Method> =
  Operation<P, M> extends { requestBody: { content: { 'application/json': infer B } } }
    ? B
    : Operation<P, M> extends { requestBody?: { content: { 'application/json': infer B } } }
      ? B | undefined
      : undefined

/** The query `M P` takes; an optional key may also be null or '' (client.ts leaves those out). */
export type HubQuery<P extends PathOf<M>, M extends Method = 'get'> =
  Operation<P, M> extends { parameters: { query?: infer Q } }
    ? [Q] extends [undefined]
      ? never
      : { [K in keyof Q]: Q[K] | (undefined extends Q[K] ? null | '' : never) }
    : never

type PathParams<O> = O extends { parameters: { path: infer V } } ? V : never

type Options<P extends PathOf<M>, M extends Method> = Omit<RequestOptions, 'query' | 'body'> & {
  readonly query?: HubQuery<P, M>
} & ([PathParams<Operation<P, M>>] extends [never]
    ? { readonly path?: never }
    : { readonly path: { readonly [K in keyof PathParams<Operation<P, M>>]: string | number } })

/** The options, required when the path has parameters. */
type OptionsArg<P extends PathOf<M>, M extends Method> = [PathParams<Operation<P, M>>] extends [never]
  ? [options?: Options<P, M>]
  : [options: Options<P, M>]

/**
 * A body as a form sends it: the hub's fields with their types, each of them possibly left out,
 * since the hub is the one that says what is missing (in the words the form shows).
 */
export type HubDraft<P extends PathOf<M>, M extends Method> =
  HubBody<P, M> extends infer B ? (B extends object ? { [K in keyof B]?: AsTyped<B[K]> } : B) : never

/** A number may go as the text typed when it is not one: the hub's refusal names the field. */
type AsTyped<T> = T | (number extends T ? string : never)

/** A body may also be a file or form data (uploads), which the generated JSON types do not cover. */
type BodyArg<P extends PathOf<M>, M extends Method> = HubDraft<P, M> | FormData | Blob

/** `/api/v1/units/{id}` with `{ id }` filled in (encoded). */
export function pathWith(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name]
    if (value === undefined) throw new Error(`no value for {${name}} in ${template}`)
    return encodeURIComponent(String(value))
  })
}

function split(template: string, options: object | undefined): [string, RequestOptions] {
  const { path, query, ...rest } = (options ?? {}) as {
    path?: Record<string, string | number>
    query?: Query
  } & RequestOptions
  return [pathWith(template, path), { ...rest, ...(query ? { query } : {}) }]
}

export const hub = {
  get: <P extends PathOf<'get'>>(path: P, ...[options]: OptionsArg<P, 'get'>) =>
    api.get<HubAnswer<P, 'get'>>(...split(path, options)),
  delete: <P extends PathOf<'delete'>>(path: P, ...[options]: OptionsArg<P, 'delete'>) =>
    api.delete<HubAnswer<P, 'delete'>>(...split(path, options)),
  post: <P extends PathOf<'post'>>(
    path: P,
    body: BodyArg<P, 'post'>,
    ...[options]: OptionsArg<P, 'post'>
  ) => {
    const [url, rest] = split(path, options)
    return api.post<HubAnswer<P, 'post'>>(url, body, rest)
  },
  patch: <P extends PathOf<'patch'>>(
    path: P,
    body: BodyArg<P, 'patch'>,
    ...[options]: OptionsArg<P, 'patch'>
  ) => {
    const [url, rest] = split(path, options)
    return api.patch<HubAnswer<P, 'patch'>>(url, body, rest)
  },
  put: <P extends PathOf<'put'>>(path: P, body: BodyArg<P, 'put'>, ...[options]: OptionsArg<P, 'put'>) => {
    const [url, rest] = split(path, options)
    return api.put<HubAnswer<P, 'put'>>(url, body, rest)
  },
  /** A file the hub sends (exports, receipts, attachments). */
  download: <P extends PathOf<'get'>>(path: P, ...[options]: OptionsArg<P, 'get'>): Promise<Download> =>
    api.download(...split(path, options)),
}
