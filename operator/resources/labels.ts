// Names and labels shared by every object the operator owns: one place, so selectors,
// Services and the reconciler's lookups can never disagree.

/** Label: the owning ModelDeployment's name. */
export const LABEL_MODEL_DEPLOYMENT = 'siskin.dev/model-deployment';
/** Label: the revision hash of a serving Deployment and its pods. */
export const LABEL_REVISION = 'siskin.dev/revision';
/** Label values every object carries for kubectl and dashboards. */
export const LABEL_NAME = 'app.kubernetes.io/name';
/** Label: who manages the object. */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** The field manager of every server-side apply. */
export const FIELD_MANAGER = 'siskin-operator';

/** Labels on everything owned by one ModelDeployment. */
export function commonLabels(mdName: string): Record<string, string> {
  return { [LABEL_NAME]: 'siskin-serving', [LABEL_MANAGED_BY]: FIELD_MANAGER, [LABEL_MODEL_DEPLOYMENT]: mdName };
}

/** Name of the Deployment of one revision. */
export function revisionDeploymentName(mdName: string, revision: string): string {
  return `${mdName}-${revision}`;
}

/** Names of the Services: all revisions, stable only, canary only. */
export function serviceNames(mdName: string): { all: string; stable: string; canary: string } {
  return { all: mdName, stable: `${mdName}-stable`, canary: `${mdName}-canary` };
}

/** Label selector (string form) of every serving pod of a ModelDeployment: the scale subresource's selector. */
export function podSelector(mdName: string): string {
  return `${LABEL_MODEL_DEPLOYMENT}=${mdName}`;
}

/** The pod readiness gate the operator sets once a revision's pod passed its gates (schema, digest, warm-up). */
export const READINESS_GATE = 'siskin.dev/admitted';
