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
- apiGroups:
    - siskin.dev
  resources:
    - modeldeployments/status
  verbs:
    - patch
- apiGroups:
    - siskin.dev
  resources:
    - modeldeployments/finalizers
  verbs:
    - update
- apiGroups:
    - apps
  resources:
    - deployments
  verbs:
    - list
    - watch
    - create
    - patch
    - delete
- apiGroups:
    - policy
  resources:
    - poddisruptionbudgets
  verbs:
    - list
    - watch
    - create
    - patch
    - delete
- apiGroups:
    - apps
  resources:
    - deployments/scale
  verbs:
    - patch
- apiGroups:
    - ""
  resources:
    - services
  verbs:
    - get
    - list
    - watch
    - create
    - patch
- apiGroups:
    - ""
  resources:
    - configmaps
  verbs:
    - list
    - watch
    - create
    - patch
- apiGroups:
    - discovery.k8s.io
  resources:
    - endpointslices
  verbs:
    - list
    - watch
    - create
    - patch
    - delete
- apiGroups:
    - ""
  resources:
    - pods
  verbs:
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
    - create
- apiGroups:
    - ""
  resources:
    - secrets
  verbs:
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
{{- end }}

{{- /* The leader-election rules (LEADER_ELECTION_RULES): a Role in the release namespace, in every mode. */ -}}
{{- define "siskin.leaderElectionRules" -}}
- apiGroups:
    - coordination.k8s.io
  resources:
    - leases
  verbs:
    - get
    - create
    - update
{{- end }}
