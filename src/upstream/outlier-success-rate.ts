// Envoy's success-rate and failure-percentage outlier math over per-host request counts of the last interval.

/** One host's requests in the interval being filled and in the interval that ended last (the one evaluated). */
export class RequestBucket {
  total = 0;
  success = 0;
  lastTotal = 0;
  lastSuccess = 0;

  record(ok: boolean): void {
    this.total++;
    if (ok) this.success++;
  }

  /** Closes the interval: what was filled becomes the evaluated interval; a new one starts empty. */
  swap(): void {
    this.lastTotal = this.total;
    this.lastSuccess = this.success;
    this.total = 0;
    this.success = 0;
  }
}

export interface RateConfig {
  readonly successRateMinimumHosts: number;
  readonly successRateRequestVolume: number;
  /** success_rate_stdev_factor as configured (1900 means 1.9). */
  readonly successRateStdevFactor: number;
  readonly failurePercentageThreshold: number;
  readonly failurePercentageMinimumHosts: number;
  readonly failurePercentageRequestVolume: number;
}

export interface RateInput<H> {
  readonly host: H;
  readonly total: number;
  readonly success: number;
}

export interface RateVerdict<H> {
  /** Hosts whose success rate is below mean - stdev_factor * stdev. */
  readonly successRateOutliers: H[];
  /** Hosts whose failure percentage reaches failure_percentage_threshold. */
  readonly failurePercentageOutliers: H[];
  /** Success rate (0..100) of every host with enough volume for either check (shown by /clusters). */
  readonly rates: Map<H, number>;
  /** The cluster's mean success rate and ejection threshold, or -1 when not computed. */
  readonly mean: number;
  readonly threshold: number;
}

/**
 * Evaluates one interval as Envoy does: `hostCount` hosts in the cluster, `inputs` the ones not ejected. Success rate
 * needs success_rate_minimum_hosts hosts with success_rate_request_volume requests each; failure percentage likewise.
 */
export function findRateOutliers<H>(hostCount: number, inputs: readonly RateInput<H>[], c: RateConfig): RateVerdict<H> {
  const verdict: RateVerdict<H> = { successRateOutliers: [], failurePercentageOutliers: [], rates: new Map(), mean: -1, threshold: -1 };
  if (hostCount < c.successRateMinimumHosts && hostCount < c.failurePercentageMinimumHosts) return verdict;
  const forRate: { host: H; rate: number }[] = [];
  const forPercentage: { host: H; rate: number }[] = [];
  let sum = 0;
  for (const { host, total, success } of inputs) {
    if (total === 0) continue;
    const rate = (success * 100) / total;
    if (total >= Math.min(c.successRateRequestVolume, c.failurePercentageRequestVolume)) verdict.rates.set(host, rate);
    if (total >= c.successRateRequestVolume) {
      forRate.push({ host, rate });
      sum += rate;
    }
    if (total >= c.failurePercentageRequestVolume) forPercentage.push({ host, rate });
  }
  let mean = -1;
  let threshold = -1;
  if (forRate.length > 0 && forRate.length >= c.successRateMinimumHosts) {
    mean = sum / forRate.length;
    let variance = 0;
    for (const { rate } of forRate) variance += (rate - mean) ** 2;
    variance /= forRate.length;
    threshold = mean - (c.successRateStdevFactor / 1000) * Math.sqrt(variance);
    for (const { host, rate } of forRate) if (rate < threshold) verdict.successRateOutliers.push(host);
  }
  if (forPercentage.length > 0 && forPercentage.length >= c.failurePercentageMinimumHosts) {
    for (const { host, rate } of forPercentage) if (100 - rate >= c.failurePercentageThreshold) verdict.failurePercentageOutliers.push(host);
  }
  return { ...verdict, mean, threshold };
}
