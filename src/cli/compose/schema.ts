import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export class SchemaError extends Error {
  override name = 'SchemaError';
}

// The schema is data kept beside the sources (tsc copies only .ts output), so it is read
// from src/ whether this module runs from src/ or from dist/src/.
const SCHEMA_PATH = fileURLToPath(new URL('../../../../src/cli/compose/compose-spec.json', import.meta.url));

let validator: ValidateFunction | undefined;

function compiled(): ValidateFunction {
  if (validator === undefined) {
    const { $schema: _, ...schema } = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as Record<
      string,
      unknown
    >;
    // The file names draft-07 by an https URL ajv does not know; ajv's default is draft-07 anyway.
    // strict off: the spec uses annotation keywords (`deprecated`) that draft-07 does not define.
    validator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  return validator;
}

/** `/services/web/ports/0` -> `services.web.ports[0]`, compose's way of naming a place. */
function dotted(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce(
      (acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc === '' ? part : `${acc}.${part}`),
      '',
    );
}

function describe(e: ErrorObject): string {
  const where = dotted(e.instancePath);
  const at = where === '' ? '' : `${where} `;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at === '' ? '' : `${where}: `}additional properties '${String(e.params.additionalProperty)}' not allowed`;
    case 'type':
      return `${at}must be a ${String(e.params.type).replace(/,/g, ' or a ')}`;
    case 'required':
      return `${at === '' ? '' : `${where}: `}missing property '${String(e.params.missingProperty)}'`;
    case 'enum':
      return `${at}must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${at}${e.message ?? 'is invalid'}`;
  }
}

/**
 * The error worth showing among ajv's: the deepest place, and there the most telling
 * kind (an unknown key says more than a failed `oneOf` around it).
 */
function mostSpecific(errors: ErrorObject[]): ErrorObject | undefined {
  const rank = (e: ErrorObject) =>
    e.keyword === 'additionalProperties' ? 3 : e.keyword === 'required' ? 2 : e.keyword === 'oneOf' ? 0 : 1;
  return [...errors].sort(
    (a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length || rank(b) - rank(a),
  )[0];
}

/** Checks one parsed file against the Compose specification; the error names the file and the place. */
export function validateComposeFile(file: string, document: unknown): void {
  const validate = compiled();
  if (validate(document)) return;
  const worst = mostSpecific(validate.errors ?? []);
  throw new SchemaError(`validating ${file}: ${worst ? describe(worst) : 'invalid compose file'}`);
}
