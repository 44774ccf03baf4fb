-- Argo CD health check for siskin.dev/ModelDeployment
-- (argocd-cm key: resource.customizations.health.siskin.dev_ModelDeployment; see README.md).
--
-- It reads only what the Siskin operator writes: status.observedGeneration, status.phase and
-- the kstatus conditions (Ready, Reconciling, Stalled) plus Progressing and Degraded. A status
-- of an older generation is never trusted, so a sync is not called Healthy before the operator
-- has acted on it. Plain Lua 5.1 (Argo CD runs gopher-lua): no goto, no integer division.
local hs = {}

local function condition(conditions, wanted)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local function isTrue(c)
  return c ~= nil and c.status == "True"
end

-- The condition's message, or its reason when the message is empty.
local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

local metadata = obj.metadata or {}
local status = obj.status

if metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "ModelDeployment is being deleted"
  return hs
end

if status == nil or status.observedGeneration == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the Siskin operator to observe the ModelDeployment"
  return hs
end

if metadata.generation ~= nil and status.observedGeneration ~= metadata.generation then
  hs.status = "Progressing"
  hs.message = string.format("Waiting for the Siskin operator to observe generation %d (status is for generation %d)",
    metadata.generation, status.observedGeneration)
  return hs
end

local conditions = status.conditions

-- A canary rolled back or aborted (Stalled and Degraded), or a spec the operator cannot act on.
local stalled = condition(conditions, "Stalled")
if isTrue(stalled) then
  hs.status = "Degraded"
  hs.message = describe(stalled, "Stalled")
  return hs
end
local degraded = condition(conditions, "Degraded")
if isTrue(degraded) then
  hs.status = "Degraded"
  hs.message = describe(degraded, "Degraded")
  return hs
end

-- Paused by the siskin.dev/paused annotation, or by the analysis after too many inconclusive
-- rounds: Argo CD's Suspended, as for a paused Argo Rollout.
if status.phase == "Paused" then
  hs.status = "Suspended"
  hs.message = describe(condition(conditions, "Progressing"), "Rollout paused")
  return hs
end

local progressing = condition(conditions, "Progressing")
if isTrue(progressing) then
  hs.status = "Progressing"
  hs.message = describe(progressing, "Rollout in progress")
  return hs
end
local reconciling = condition(conditions, "Reconciling")
if isTrue(reconciling) then
  hs.status = "Progressing"
  hs.message = describe(reconciling, "Reconciling")
  return hs
end

local ready = condition(conditions, "Ready")
if isTrue(ready) then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
