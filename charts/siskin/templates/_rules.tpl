{{- /* Generated from operator/api/rbac.ts by `npm run gen:chart` — do not edit. */ -}}

{{- /* The operator's rules (OPERATOR_RULES). */ -}}
{{- define "siskin.operatorRules" -}}
- apiGroups:
    - siskin.dev
  resources:
    - modeldeployments
  verbs:
    - get
    - list
    - watch
    - update
    - patch
- apiGroups:
    - siskin.dev
  resources:
    - modeldeployments/status
  verbs:
    - get
    - update
    - patch
- apiGroups:
    - apps
  resources:
    - deployments
  verbs:
    - get
    - list
    - watch
    - create
    - update
    - patch
    - delete
- apiGroups:
    - apps
  resources:
    - deployments/scale
  verbs:
    - get
    - update
    - patch
- apiGroups:
    - ""
  resources:
    - services
    - configmaps
  verbs:
    - get
    - list
    - watch
    - create
    - update
    - patch
    - delete
- apiGroups:
    - ""
  resources:
    - pods
  verbs:
    - get
    - list
    - watch
- apiGroups:
    - ""
  resources:
    - pods/status
  verbs:
    - patch
- apiGroups:
    - batch
  resources:
    - jobs
  verbs:
    - get
    - list
    - watch
    - create
- apiGroups:
    - gateway.networking.k8s.io
  resources:
    - httproutes
  verbs:
    - get
    - patch
- apiGroups:
    - ""
  resources:
    - events
  verbs:
    - create
    - patch
- apiGroups:
    - events.k8s.io
  resources:
    - events
  verbs:
    - create
    - patch
- apiGroups:
    - coordination.k8s.io
  resources:
    - leases
  verbs:
    - get
    - list
    - watch
    - create
    - update
    - patch
{{- end }}

{{- /* The leader-election rules: the Role in the release namespace when watchNamespace is set. */ -}}
{{- define "siskin.leaderElectionRules" -}}
- apiGroups:
    - coordination.k8s.io
  resources:
    - leases
  verbs:
    - get
    - list
    - watch
    - create
    - update
    - patch
{{- end }}
