/**
 * What one agency request released, person by person: the decision behind the lookup audit
 * log, taken here and nowhere else. Resolvers report two facts:
 *
 * - `lookedUp(id)`: the agency asked for this person (by `persons`, `person`, `_entities`
 *   or a change-feed entry) and got at least what every scope shows (status, reservation);
 * - `released(id, scope)`: a field guarded by `scope` was answered for this person.
 *
 * A person is recorded with the scopes of the fields answered for *them*: with aliases, a
 * batch or a gateway's several fetches in one request, someone whose contact information
 * was not read is never logged with the contact scope. Each person is recorded once per
 * request: the operations of a batched HTTP request share one context, and so one record,
 * written when the last of them is done.
 */
export interface ReleasedGroup {
  personIds: string[];
  /** Sorted; empty when only status and reservation were released. */
  scopes: string[];
}

/**
 * Scopes as bits, so that a person's released scopes are one number: a lookup of 1000
 * people reports some 3000 releases, and the record groups the people by their set.
 * Bits are handed out as scopes are first seen (there are a handful).
 */
const SCOPE_BITS = new Map<string, number>();
const SCOPE_NAMES: string[] = [];
function bitOf(scope: string): number {
  let bit = SCOPE_BITS.get(scope);
  if (bit === undefined) {
    if (SCOPE_NAMES.length === 31) throw new Error('lookup audit: more than 31 scopes');
    bit = 1 << SCOPE_NAMES.length;
    SCOPE_NAMES.push(scope);
    SCOPE_BITS.set(scope, bit);
  }
  return bit;
}
/** The scopes of a set of bits, sorted. */
const scopesOf = (bits: number): string[] => SCOPE_NAMES.filter((_, i) => bits & (1 << i)).sort();

export class LookupAudit {
  /** Released and not yet handed to the store: person id to scope bits. */
  private pending = new Map<string, number>();
  /** Handed to the store (or being written). */
  private readonly recorded = new Map<string, number>();
  /** Every write of this request, so that no operation's answer leaves before all are committed. */
  private readonly writes: Promise<unknown>[] = [];
  private finished = 0;
  private lastOperation!: () => void;
  private readonly allFinished = new Promise<void>((resolve) => (this.lastOperation = resolve));

  /**
   * @param write stores one group (`LookupLog.record` with the agency and the request's time);
   *   null for a viewer whose reads are not lookups (citizens, anonymous): nothing is written.
   * @param operations how many operations share this record (the length of a batched HTTP
   *   request): the record is written when the last of them is done, so that what the
   *   others release meanwhile lands in the same row.
   */
  constructor(
    private readonly write: ((group: ReleasedGroup) => Promise<void>) | null,
    private readonly operations = 1,
  ) {}

  lookedUp(personId: string): void {
    if (!this.pending.has(personId) && !this.recorded.has(personId)) this.pending.set(personId, 0);
  }

  released(personId: string, scope: string): void {
    const bit = bitOf(scope);
    const recorded = this.recorded.get(personId);
    if (recorded !== undefined && recorded & bit) return;
    this.pending.set(personId, (this.pending.get(personId) ?? 0) | bit);
  }

  /**
   * One operation is done and about to answer. The last one (or any after it) hands what is
   * pending to the store, one call per distinct set of scopes (people released the same way
   * share a statement). Returns how many calls this made, and a promise of every write of
   * the request: it rejects if any failed, so an answer is withheld whenever some of what
   * it released may be unrecorded. Earlier operations wait for the last one's writes.
   */
  flush(): { writes: number; committed: Promise<void> } {
    this.finished += 1;
    if (this.finished < this.operations) return { writes: 0, committed: this.allFinished.then(() => this.committed()) };
    const writes = this.writePending();
    this.lastOperation();
    return { writes, committed: this.committed() };
  }

  /**
   * The HTTP exchange is over. If some operations never reached `flush` (a batch refused as
   * a whole once others had started), nothing waits for them any more: no answer with data
   * went out, and an operation still running records what it read when it flushes.
   */
  abandon(): void {
    if (this.finished >= this.operations) return;
    this.finished = this.operations;
    this.lastOperation();
  }

  private committed(): Promise<void> {
    return Promise.all(this.writes).then(() => undefined);
  }

  private writePending(): number {
    const { write } = this;
    if (!write) return 0;
    const groups = new Map<number, ReleasedGroup>();
    for (const [personId, bits] of this.pending) {
      let group = groups.get(bits);
      if (!group) groups.set(bits, (group = { personIds: [], scopes: scopesOf(bits) }));
      group.personIds.push(personId);
      this.recorded.set(personId, (this.recorded.get(personId) ?? 0) | bits);
    }
    this.pending = new Map();
    for (const group of groups.values()) {
      const written = write(group);
      // Awaited by every operation's answer, some only later: marked handled meanwhile.
      written.catch(() => {});
      this.writes.push(written);
    }
    return groups.size;
  }
}
