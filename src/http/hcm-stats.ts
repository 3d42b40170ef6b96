// Stats one HTTP connection manager keeps (Envoy's http.<stat_prefix>.downstream_* family), resolved to handles once.
import type { Counter, Gauge, Histogram } from '../observability/types.ts';

export interface StatsSink {
  counter(name: string, labels?: Readonly<Record<string, string>>): Counter;
  gauge(name: string, labels?: Readonly<Record<string, string>>): Gauge;
  histogram(name: string, labels?: Readonly<Record<string, string>>): Histogram;
}

export class HcmStats {
  readonly rqTotal: Counter;
  readonly rqActive: Gauge;
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly rqTime: Histogram;
  readonly rqHttp1: Counter;
  readonly rqHttp2: Counter;
  readonly rqXx: Counter[];
  readonly rq400Bad: Counter;
  readonly rqTimeout: Counter;
  readonly rqIdleTimeout: Counter;
  readonly rqMaxDurationReached: Counter;

  constructor(sink: StatsSink, statPrefix: string) {
    const l = { envoy_http_conn_manager_prefix: statPrefix };
    this.rqTotal = sink.counter('envoy_http_downstream_rq_total', l);
    this.rqActive = sink.gauge('envoy_http_downstream_rq_active', l);
    this.cxTotal = sink.counter('envoy_http_downstream_cx_total', l);
    this.cxActive = sink.gauge('envoy_http_downstream_cx_active', l);
    this.rqTime = sink.histogram('envoy_http_downstream_rq_time', l);
    this.rqHttp1 = sink.counter('envoy_http_downstream_rq_http1_total', l);
    this.rqHttp2 = sink.counter('envoy_http_downstream_rq_http2_total', l);
    this.rqXx = [1, 2, 3, 4, 5].map((c) => sink.counter('envoy_http_downstream_rq_xx', { ...l, envoy_response_code_class: String(c) }));
    this.rq400Bad = sink.counter('envoy_http_downstream_rq_rx_reset', l);
    this.rqTimeout = sink.counter('envoy_http_downstream_rq_timeout', l);
    this.rqIdleTimeout = sink.counter('envoy_http_downstream_rq_idle_timeout', l);
    this.rqMaxDurationReached = sink.counter('envoy_http_downstream_rq_max_duration_reached', l);
  }

  started(protocol: string): void {
    this.rqTotal.inc();
    this.rqActive.inc();
    if (protocol === 'HTTP/2') this.rqHttp2.inc(); else this.rqHttp1.inc();
  }

  completed(code: number, durationMs: number, _protocol: string): void {
    this.rqActive.dec();
    const cls = Math.floor(code / 100);
    if (cls >= 1 && cls <= 5) this.rqXx[cls - 1].inc();
    this.rqTime.record(durationMs);
  }
}
