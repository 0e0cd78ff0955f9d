import type { Viewer } from '../auth/viewer';
import type { Loaders } from '../loaders';
import type { LookupAudit } from '../services/lookup-audit';
import type { SelfService } from '../services/self-service';
import type { LookupLog, StatementCounter } from '../store/types';

/** What every resolver gets for one request. Built fresh per request in `createContext`. */
export interface Context {
  viewer: Viewer;
  /** The request's Authorization header (never sent to other sources unless configured: docs/federation.md). */
  authorization?: string;
  /** The client's request headers, for the few a source is configured to get (gateway mode). */
  clientHeaders?: Readonly<Record<string, string | string[] | undefined>>;
  loaders: Loaders;
  /** The request's clock: every rule in one response is judged at the same instant. */
  now: Date;
  selfService: SelfService;
  /** SQL statements run for this request (for the metrics). */
  sqlStatements: StatementCounter;
  audit: LookupLog;
  /** Who this (agency) request looked up and what it released for each: written to `audit` before the answer goes. */
  lookups: LookupAudit;
}
