/**
 * How fresh the copy is, for /metrics and /readyz. Read from the store (`upstream_sync`),
 * not from the follower's memory: every replica and worker answers alike, whichever of them
 * follows.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { Gauge, type Registry } from 'prom-client';
import type { UpstreamConfig } from '../config';
import { ErrorCode, refused } from '../errors';
import { requestRefusal } from '../http/client-errors';
import type { RegisterStore, UpstreamPosition } from '../store/types';

export interface Freshness {
  ready: boolean;
  position: number | null;
  latest: number | null;
  lastSuccessAt: string | null;
  /** Why not ready. */
  reason?: string;
}

export async function upstreamFreshness(store: RegisterStore, config: UpstreamConfig, now = Date.now()): Promise<Freshness> {
  const row = await store.upstreamPosition();
  const base = { position: row?.position ?? null, latest: row?.latest ?? null, lastSuccessAt: row?.lastSuccessAt?.toISOString() ?? null };
  if (!row?.lastSuccessAt) return { ...base, ready: false, reason: 'the copy has not caught up with its upstream yet' };
  const age = (now - row.lastSuccessAt.getTime()) / 1000;
  if (age > config.maxStalenessSeconds) {
    return { ...base, ready: false, reason: `the copy last caught up ${Math.round(age)} s ago (KRR_UPSTREAM_MAX_STALENESS_SECONDS=${config.maxStalenessSeconds})` };
  }
  return { ...base, ready: true };
}

/** krr_upstream_position, krr_upstream_latest, krr_upstream_last_success_timestamp_seconds. */
export function registerUpstreamMetrics(registry: Registry, store: RegisterStore): void {
  // One read per scrape for the three gauges.
  let read: { at: number; row: Promise<UpstreamPosition | null> } | null = null;
  const current = () => {
    if (!read || Date.now() - read.at > 1000) read = { at: Date.now(), row: store.upstreamPosition().catch(() => null) };
    return read.row;
  };
  const gauge = (name: string, help: string, value: (row: UpstreamPosition) => number | null) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const row = await current();
        const v = row ? value(row) : null;
        if (v === null) this.reset();
        else this.set(v);
      },
    });
  gauge('krr_upstream_position', 'The last upstream change number applied to this copy.', (r) => r.position);
  gauge('krr_upstream_latest', "The upstream's newest change number (sisteEndringsId) when it last answered.", (r) => r.latest);
  gauge('krr_upstream_last_success_timestamp_seconds', 'When this copy last caught up with its upstream (Unix time).', (r) => (r.lastSuccessAt ? r.lastSuccessAt.getTime() / 1000 : null));
}

/** In follower mode the citizen's entry belongs to the upstream: every mutation is refused. */
export function readOnlyCopyPlugin(upstream: string): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation !== 'mutation') return;
          throw requestRefusal(refused(ErrorCode.READ_ONLY_COPY, `This is a read-only copy of the register at ${upstream}: make changes there`, { upstream }));
        },
      };
    },
  };
}
