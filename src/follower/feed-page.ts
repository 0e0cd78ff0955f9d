/**
 * Reading one answer of the upstream's change feed (`hentEndringer`):
 * `{"fraEndringsId", "tilEndringsId", "sisteEndringsId", "list": [person, ...]}`, each
 * person a whole snapshot in the register's JSON (`register-format.ts` reads it, as the
 * import does). Pure: no I/O, the answer's time passed in.
 */
import { parseRegisterPerson } from '../register/register-format';
import type { PersonRecord, UpstreamPage } from '../store/types';

/** At most this many problems are named in one message. */
const MAX_REPORTED = 10;

export type FeedAnswer =
  /** A page, checked: ready to apply. */
  | { kind: 'page'; page: UpstreamPage; entries: number }
  /** Not a feed answer at all (an error page of a proxy, a cut-off body): worth asking again. */
  | { kind: 'garbage'; reason: string }
  /** A feed answer that is wrong: never applied, never skipped. */
  | { kind: 'invalid'; reason: string };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/**
 * Checks the answer to `{"fraEndringsId": after + 1}` (the register counts inclusively) and
 * turns it into the page to apply: one record per person, the last of each in the list
 * (a person may appear more than once; the latest wins), in list order. `SLETTET` is a
 * record with status DELETED (the person keeps their row, as the upstream does).
 */
export function readFeedAnswer(body: unknown, upstream: string, after: number, at: Date): FeedAnswer {
  if (!isObject(body) || !Array.isArray(body.list) || !isCount(body.tilEndringsId) || !isCount(body.sisteEndringsId)) {
    return { kind: 'garbage', reason: 'the answer is not a change-feed page ({"tilEndringsId", "sisteEndringsId", "list": [...]})' };
  }
  const { fraEndringsId, tilEndringsId: to, sisteEndringsId: latest, list } = body;
  const problems: string[] = [];
  if (fraEndringsId !== undefined && fraEndringsId !== after + 1) problems.push(`fraEndringsId is ${String(fraEndringsId)}, but ${after + 1} was asked for`);
  if (to < after) problems.push(`tilEndringsId ${to} is behind this copy's position ${after}: was the upstream restored from an older backup?`);
  if (latest < to) problems.push(`sisteEndringsId ${latest} is behind tilEndringsId ${to}`);
  if (list.length > 0 && to === after) problems.push(`the page has ${list.length} entries but tilEndringsId ${to} does not move past ${after}`);

  const byId = new Map<string, PersonRecord>();
  let personProblems = 0;
  list.forEach((entry, i) => {
    const result = parseRegisterPerson(entry, i + 1, at);
    const reason = !result.ok ? result.reason : 'skip' in result ? 'status IKKE_REGISTRERT does not occur in the change feed (only AKTIV and SLETTET)' : null;
    if (reason !== null) {
      if (++personProblems <= MAX_REPORTED) problems.push(`list[${i}]: ${reason}`);
      return;
    }
    if (!('record' in result)) return;
    byId.delete(result.record.id); // the later entry also takes the later place
    byId.set(result.record.id, result.record);
  });
  if (personProblems > MAX_REPORTED) problems.push(`and ${personProblems - MAX_REPORTED} more entries with problems`);
  if (problems.length > 0) return { kind: 'invalid', reason: problems.join('; ') };
  return { kind: 'page', entries: list.length, page: { upstream, after, to, latest, records: [...byId.values()], at } };
}
