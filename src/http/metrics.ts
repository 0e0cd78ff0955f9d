import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The service's Prometheus metrics, one registry per server (so tests do not share state).
 * Label values are bounded: operations are named by their root fields, which the schema fixes.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'krr_graphql_requests_total',
    help: 'GraphQL requests by operation (root fields) and outcome (ok, error: some errors, refused: no data).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'krr_graphql_request_duration_seconds',
    help: 'Time from request start to response, by operation.',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'krr_graphql_errors_total',
    help: 'Errors returned to clients, by extensions.code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'krr_dataloader_batch_size',
    help: 'Keys per DataLoader batch (one SQL statement each), by loader.',
    labelNames: ['loader'] as const,
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [this.registry],
  });
  readonly statements = new Histogram({
    name: 'krr_sql_statements_per_request',
    help: 'SQL statements executed while answering one request.',
    buckets: [0, 1, 2, 3, 4, 5, 6, 8, 10, 20, 50, 100],
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'krr_rate_limit_refusals_total',
    help: 'Requests refused by the rate limiter, by kind of caller.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'krr_' });
  }
}
