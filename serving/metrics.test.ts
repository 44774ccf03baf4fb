import { describe, test, expect } from '@jest/globals';
import { ServingMetrics } from './metrics.ts';

describe('serving metrics never throw on what a model computes', () => {
  test('non-finite predictions and errors are skipped and counted by histogram, finite ones observed', async () => {
    const m = new ServingMetrics('m', 'r1');
    expect(() => m.observePredictions('regressor', [Infinity, NaN, -Infinity, 2])).not.toThrow();
    expect(() => m.feedbackAbsoluteError.observe(Infinity)).not.toThrow();
    const text = await m.registry.metrics();
    expect(text).toMatch(/siskin_nonfinite_observations_total\{metric="siskin_prediction_value",model="m",revision="r1"\} 3\n/);
    expect(text).toMatch(/siskin_nonfinite_observations_total\{metric="siskin_feedback_absolute_error",model="m",revision="r1"\} 1\n/);
    expect(text).toMatch(/siskin_nonfinite_observations_total\{metric="siskin_queue_duration_seconds",model="m",revision="r1"\} 0\n/);
    expect(text).toMatch(/siskin_prediction_value_count\{model="m",revision="r1"\} 1\n/);
    expect(text).toMatch(/siskin_prediction_value_sum\{model="m",revision="r1"\} 2\n/);
  });
});
