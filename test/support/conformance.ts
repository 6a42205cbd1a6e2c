/**
 * The conformance checker (issue 18): holds a response (status, content type, headers, body) to
 * the OpenAPI document with a JSON Schema 2020-12 validator. An undocumented route, method or
 * status, a missing required header (`Retry-After`, `Allow`), a content type the operation does
 * not declare or a body outside its schema is a violation, and a violation fails the test.
 *
 * Two ways in, so that a new route is checked as soon as it is in lib/openapi.ts:
 * - `conformingFetch(url, init)`: `fetch` against a running server, checked against the
 *   document that very server serves at `/openapi.json`.
 * - `expectConformingResult(event, result)`: an API Gateway proxy result, checked against the
 *   document the local server serves (`invokeApi` in faults.ts calls it on every result).
 */

import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { openApiDocument, UNROUTED_RESPONSES } from '../../lib/openapi.ts';

type JsonObject = Record<string, unknown>;

export interface ObservedResponse {
  method: string;
  /** The request's path (no query string), or an operation's path template. */
  path: string;
  status: number;
  /** Header names in any case. */
  headers: Record<string, string>;
  body: string;
}

export class ConformanceError extends Error {
  constructor(
    readonly response: ObservedResponse,
    readonly violations: string[],
  ) {
    super(
      `${response.method} ${response.path} -> ${response.status} does not conform to the ` +
        `OpenAPI document:\n- ${violations.join('\n- ')}`,
    );
    this.name = 'ConformanceError';
  }
}

const DOCUMENT_ID = 'urn:facematch:openapi';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const pointerPart = (part: string) => part.replaceAll('~', '~0').replaceAll('/', '~1');

const templateRegex = (template: string) =>
  new RegExp(
    `^${template
      .split(/(\{[^}]+\})/)
      .map((part) =>
        part.startsWith('{') ? '([^/]+)' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('')}$`,
  );

const mediaTypeOf = (contentType: string | undefined) =>
  contentType?.split(';')[0]?.trim().toLowerCase();

const isJsonMediaType = (mediaType: string) => /^application\/(?:[\w.+-]+\+)?json$/.test(mediaType);

export class ApiConformance {
  private readonly ajv = new Ajv2020({ allErrors: true, strict: false });
  private readonly paths: Array<{ template: string; regex: RegExp; item: JsonObject }>;

  constructor(private readonly document: JsonObject) {
    // ajv-formats is CommonJS: under Node's ESM its plugin is the module's `default` property.
    ajvFormats.default(this.ajv);
    this.ajv.addSchema({ ...document, $id: DOCUMENT_ID });
    this.paths = Object.entries((document.paths ?? {}) as Record<string, JsonObject>).map(
      ([template, item]) => ({ template, regex: templateRegex(template), item }),
    );
  }

  /** Every way `response` departs from the document; empty when it conforms. */
  violations(response: ObservedResponse): string[] {
    const path = response.path.split('?')[0] ?? '';
    // The local server's refusal of a foreign or cross-site request comes before any routing.
    if (response.status === 403) {
      return this.against(response, `#/components/responses/${UNROUTED_RESPONSES.forbidden}`);
    }
    const route =
      this.paths.find((candidate) => candidate.template === path) ??
      this.paths.find((candidate) => candidate.regex.test(path.replace(/(?<=.)\/$/, '')));
    if (route === undefined) {
      return this.unrouted(response, UNROUTED_RESPONSES.path, 404);
    }
    const method = response.method.toLowerCase();
    const operation = route.item[method];
    if (!isObject(operation)) {
      const problems = this.unrouted(response, UNROUTED_RESPONSES.method, 405);
      const allowed = METHODS.filter((name) => isObject(route.item[name])).map((name) =>
        name.toUpperCase(),
      );
      const allow = this.header(response, 'allow');
      if (allow !== undefined) {
        const announced = allow.split(',').map((name) => name.trim().toUpperCase());
        if (announced.sort().join(',') !== [...allowed].sort().join(',')) {
          problems.push(`Allow is "${allow}" but the document lists ${allowed.join(', ')}`);
        }
      }
      return problems;
    }
    const responses = (operation.responses ?? {}) as Record<string, unknown>;
    const status = String(response.status);
    const key = [status, `${status[0]}XX`, 'default'].find((name) => name in responses);
    if (key === undefined) {
      return [
        `status ${status} is not documented for ${method.toUpperCase()} ${route.template} ` +
          `(documented: ${Object.keys(responses).join(', ')})`,
      ];
    }
    const pointer = `#/paths/${pointerPart(route.template)}/${method}/responses/${key}`;
    return this.against(response, pointer);
  }

  /** How `value` departs from the component schema `name` (e.g. `Problem`); empty if it fits. */
  schemaViolations(name: string, value: unknown): string[] {
    return this.schemaErrors(`#/components/schemas/${pointerPart(name)}`, value);
  }

  /** Throws a `ConformanceError` listing every violation. */
  assert(response: ObservedResponse): void {
    const violations = this.violations(response);
    if (violations.length > 0) throw new ConformanceError(response, violations);
  }

  private unrouted(response: ObservedResponse, name: string, status: number): string[] {
    if (response.status !== status) {
      return [
        `${response.method} ${response.path} is not a documented operation, so it must answer ` +
          `${status} (#/components/responses/${name}), not ${response.status}`,
      ];
    }
    return this.against(response, `#/components/responses/${name}`);
  }

  /** The object at a `#/...` pointer of the document. */
  private at(pointer: string): JsonObject {
    const node = pointer
      .slice(2)
      .split('/')
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
      .reduce<unknown>(
        (parent, part) => (isObject(parent) ? parent[part] : undefined),
        this.document,
      );
    if (!isObject(node)) throw new Error(`the document has nothing at ${pointer}`);
    return node;
  }

  /** Follows `$ref`s (responses and headers may be references) to the object's own pointer. */
  private follow(pointer: string): { pointer: string; node: JsonObject } {
    let current = pointer;
    for (let depth = 0; depth < 10; depth++) {
      const node = this.at(current);
      if (typeof node.$ref !== 'string') return { pointer: current, node };
      current = node.$ref;
    }
    throw new Error(`the references from ${pointer} go round in circles`);
  }

  private header(response: ObservedResponse, name: string): string | undefined {
    const wanted = name.toLowerCase();
    return Object.entries(response.headers).find(([key]) => key.toLowerCase() === wanted)?.[1];
  }

  private schemaErrors(pointer: string, value: unknown): string[] {
    const validate = this.ajv.getSchema(`${DOCUMENT_ID}${pointer}`);
    if (validate === undefined) throw new Error(`no schema at ${pointer}`);
    if (validate(value)) return [];
    return (validate.errors ?? []).map(
      (error) => `${error.instancePath || '(root)'} ${error.message ?? error.keyword}`,
    );
  }

  /** Headers, content type and body against the response object at `pointer`. */
  private against(response: ObservedResponse, pointer: string): string[] {
    const documented = this.follow(pointer);
    const problems: string[] = [];

    for (const name of Object.keys((documented.node.headers ?? {}) as JsonObject)) {
      const header = this.follow(`${documented.pointer}/headers/${pointerPart(name)}`);
      const value = this.header(response, name);
      if (value === undefined) {
        if (header.node.required === true) problems.push(`header ${name} is required but absent`);
        continue;
      }
      // A header is text; a numeric schema describes the number it spells.
      const type = (header.node.schema as JsonObject | undefined)?.type;
      const numeric = (type === 'integer' || type === 'number') && /^-?\d+(?:\.\d+)?$/.test(value);
      for (const error of this.schemaErrors(
        `${header.pointer}/schema`,
        numeric ? Number(value) : value,
      )) {
        problems.push(`header ${name} "${value}": ${error}`);
      }
    }

    const content = documented.node.content as JsonObject | undefined;
    if (content === undefined) {
      if (response.body !== '') problems.push('a body where the document declares none');
      return problems;
    }
    const mediaType = mediaTypeOf(this.header(response, 'content-type'));
    if (mediaType === undefined || !(mediaType in content)) {
      problems.push(
        `content type ${mediaType ?? '(none)'} is not documented (${Object.keys(content).join(', ')})`,
      );
      return problems;
    }
    if (!isJsonMediaType(mediaType)) return problems;
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      problems.push(`the body is not the ${mediaType} it says it is`);
      return problems;
    }
    const schemaPointer = `${documented.pointer}/content/${pointerPart(mediaType)}/schema`;
    for (const error of this.schemaErrors(schemaPointer, body)) problems.push(`body ${error}`);
    return problems;
  }
}

const byOrigin = new Map<string, Promise<ApiConformance>>();

/** The checker for the server at `origin`, built from the document it serves (fetched once). */
export function servedConformance(origin: string): Promise<ApiConformance> {
  let checker = byOrigin.get(origin);
  if (checker === undefined) {
    checker = (async () => {
      const response = await fetch(`${origin}/openapi.json`);
      if (response.status !== 200) {
        throw new Error(`${origin}/openapi.json answered ${response.status}`);
      }
      return new ApiConformance((await response.json()) as JsonObject);
    })();
    byOrigin.set(origin, checker);
    // A failed fetch is not cached: the next call tries again.
    checker.catch(() => byOrigin.delete(origin));
  }
  return checker;
}

/**
 * `fetch` for the API under test: the response is held to the document the same server serves
 * at `/openapi.json`, and a violation rejects. The response is returned unread.
 */
export async function conformingFetch(input: string | URL, init?: RequestInit): Promise<Response> {
  const url = new URL(input);
  const checker = await servedConformance(url.origin);
  const response = await fetch(url, init);
  checker.assert({
    method: init?.method ?? 'GET',
    path: url.pathname,
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.clone().text(),
  });
  return response;
}

/** The document the local server serves (its URL aside): what API Gateway results answer to. */
const localDocument = new ApiConformance(openApiDocument({ local: true }));

/** Holds an API Gateway proxy result to the document; throws a `ConformanceError`. */
export function expectConformingResult(
  event: Pick<APIGatewayProxyEvent, 'httpMethod' | 'resource' | 'path'>,
  result: APIGatewayProxyResult,
  checker: ApiConformance = localDocument,
): void {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = values.map(String).join(', ');
  }
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  checker.assert({
    method: event.httpMethod,
    // The resource is the template API Gateway matched; an unknown one is checked as its path.
    path: event.resource || event.path,
    status: result.statusCode,
    headers,
    body: result.isBase64Encoded
      ? Buffer.from(result.body, 'base64').toString('utf8')
      : result.body,
  });
}
