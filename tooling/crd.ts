// Generates the ModelDeployment CustomResourceDefinition from the zod schema: zod's JSON
// Schema output, reshaped into the structural OpenAPI v3 subset Kubernetes accepts.
import { z } from 'zod';
import YAML from 'yaml';
import { GROUP, KIND, PLURAL, VERSION, modelDeploymentSchema, modelDeploymentSpec, modelDeploymentStatus } from '../operator/api/schema.ts';

type Json = Record<string, unknown>;

/** The header every generated file carries. */
export const GENERATED_HEADER = '# Generated from operator/api/schema.ts by `npm run gen:crds` — do not edit.\n';

/** Reshapes one JSON Schema node (draft 2020-12, from zod) into a Kubernetes structural schema node. Pure. */
export function toStructural(node: Json, path = '$'): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$schema':
      case 'propertyNames':
        break;
      case 'const':
        out.enum = [value];
        break;
      case 'exclusiveMinimum':
        out.minimum = value;
        out.exclusiveMinimum = true;
        break;
      case 'exclusiveMaximum':
        out.maximum = value;
        out.exclusiveMaximum = true;
        break;
      case 'properties':
        out.properties = Object.fromEntries(Object.entries(value as Record<string, Json>).map(([k, v]) => [k, toStructural(v, `${path}.${k}`)]));
        break;
      case 'items':
        out.items = toStructural(value as Json, `${path}[]`);
        break;
      case 'additionalProperties':
        // false is implied (unknown fields are pruned); a schema describes a map's values.
        if (typeof value === 'object' && value !== null) out.additionalProperties = toStructural(value as Json, `${path}{}`);
        break;
      case 'anyOf':
      case 'oneOf':
      case 'allOf':
        if (!node['x-kubernetes-int-or-string']) throw new Error(`${path}: ${key} is not structural; express it with optional fields and CEL`);
        break;
      default:
        out[key] = value;
    }
  }
  if (out['x-kubernetes-int-or-string']) {
    delete out.type;
    delete out.pattern;
  }
  if (out['x-kubernetes-preserve-unknown-fields']) {
    out.type = 'object';
    delete out.additionalProperties;
  }
  // zod bounds unconstrained integers to the JS safe range; Kubernetes needs no such noise.
  if (out.minimum === Number.MIN_SAFE_INTEGER) delete out.minimum;
  if (out.maximum === Number.MAX_SAFE_INTEGER) delete out.maximum;
  return out;
}

function schemaOf(type: z.ZodType): Json {
  return toStructural(z.toJSONSchema(type, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' }));
}

/** The CRD object. Pure and deterministic. */
export function modelDeploymentCrd(): Json {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: 'modeldeployment', shortNames: ['md'], categories: ['siskin'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A ModelDeployment serves an ONNX model and rolls each new version out as a canary judged on live metrics.',
              required: ['spec'],
              // The rules on the whole object (metadata.name): withRules on modelDeploymentSchema.
              ...modelDeploymentSchema.meta(),
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion of this object: siskin.dev/v1alpha1.' },
                kind: { type: 'string', description: 'Kind of this object: ModelDeployment.' },
                // name declared (CRDs may constrain only name and generateName) so the name rules can point at it.
                metadata: { type: 'object', properties: { name: { type: 'string' } } },
                spec: schemaOf(modelDeploymentSpec),
                status: { ...schemaOf(modelDeploymentStatus), description: 'Observed state, written by the operator.' },
              },
            },
          },
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
          },
          additionalPrinterColumns: [
            { name: 'Stable', type: 'string', jsonPath: '.status.stable.version', description: 'Model version serving production.' },
            { name: 'Canary', type: 'string', jsonPath: '.status.canary.version', description: 'Model version rolling out.' },
            { name: 'Weight', type: 'integer', jsonPath: '.status.canaryWeight', description: 'Percentage of traffic on the canary.' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Summary of the conditions.' },
            { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready serving pods.' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

/** The CRD as the YAML file in crds/. */
export function renderCrdYaml(): string {
  return GENERATED_HEADER + YAML.stringify(modelDeploymentCrd(), { lineWidth: 0, version: '1.1' });
}

/** Where the generated file lives, relative to the repository root. */
export const CRD_FILE = 'crds/siskin.dev_modeldeployments.yaml';
