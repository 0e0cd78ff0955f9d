import type { Viewer } from '../auth/viewer';
import type { Loaders } from '../loaders';

/** What every resolver gets for one request. Built fresh per request in `createContext`. */
export interface Context {
  viewer: Viewer;
  loaders: Loaders;
  /** The request's clock: every rule in one response is judged at the same instant. */
  now: Date;
}
