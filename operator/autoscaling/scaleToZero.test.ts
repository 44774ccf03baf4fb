// Scale to zero as a specification: when an idle model's pods go, what wakes it, and what
// never lets it go (a rollout, a held request, Prometheus that cannot tell, no activator).
import { describe, expect, test } from '@jest/globals';
import { decideActivation, viaActivator, type Activation, type ActivationInput } from './scaleToZero.ts';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const ago = (seconds: number): number => NOW - seconds * 1000;
const active = (sinceSecondsAgo: number): Activation => ({ state: 'Active', since: ago(sinceSecondsAgo), reason: 'serving' });
const zero: Activation = { state: 'ScaledToZero', since: ago(600), reason: 'no inference request for 300 s' };
const waking: Activation = { state: 'Waking', since: ago(3), reason: 'a request arrived' };

/** An Active model idle long enough, every fact pointing to zero; over changes one. */
function facts(over: Partial<ActivationInput> = {}): ActivationInput {
  return { enabled: true, idleAfterSeconds: 300, previous: active(400), requestsInWindow: 0, demand: false, rollout: false, stableServes: true, activatorReady: true, now: NOW, ...over };
}

describe('decideActivation', () => {
  test.each<[string, Partial<ActivationInput>, Activation | undefined]>([
    // what, facts → next state
    ['a new model that may scale to zero starts Active, its idle clock running from now', { previous: undefined }, { state: 'Active', since: NOW, reason: 'serving' }],
    ['a new model that may not scale to zero has no state', { previous: undefined, enabled: false }, undefined],
    ['Active, idle for the whole period with zero requests counted: scaled to zero', {}, { state: 'ScaledToZero', since: NOW, reason: 'no inference request for 300 s' }],
    ['Active, but a request in the window: stays', { requestsInWindow: 1 }, active(400)],
    ['Active, Prometheus could not tell (no data, unreachable): never idle', { requestsInWindow: undefined }, active(400)],
    ['Active, a NaN count: never idle', { requestsInWindow: Number.NaN }, active(400)],
    ['Active for less than the idle period (just woke): stays', { previous: active(299) }, active(299)],
    ['Active, a rollout runs or starts: stays', { rollout: true }, active(400)],
    ['Active, the activator holds requests for it: stays', { demand: true }, active(400)],
    ['Active, no activator can hold its requests: stays', { activatorReady: false }, active(400)],
    ['Active, scale to zero turned off: the state goes', { enabled: false }, undefined],
    ['at zero, nothing happens: stays', { previous: zero }, zero],
    ['at zero, a held request wakes it', { previous: zero, demand: true }, { state: 'Waking', since: NOW, reason: 'a request arrived' }],
    ['at zero, a rollout wakes it', { previous: zero, rollout: true }, { state: 'Waking', since: NOW, reason: 'a rollout started' }],
    ['at zero, scale to zero turned off wakes it', { previous: zero, enabled: false }, { state: 'Waking', since: NOW, reason: 'scale to zero was turned off' }],
    ['at zero, the activator gone wakes it', { previous: zero, activatorReady: false }, { state: 'Waking', since: NOW, reason: 'no activator can hold its requests' }],
    ['waking, no stable pod ready yet: stays waking', { previous: waking, stableServes: false }, waking],
    ['waking, a stable pod is ready: Active, idle clock from the wake-up', { previous: waking }, { state: 'Active', since: waking.since, reason: 'woke up: a request arrived' }],
  ])('%s', (_what, over, want) => {
    expect(decideActivation(facts(over))).toEqual(want);
  });

  test('the Services point at the activator at zero and while waking, never while Active', () => {
    expect([zero, waking, active(1), undefined].map(viaActivator)).toEqual([true, true, false, false]);
  });
});
