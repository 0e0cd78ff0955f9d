import { gt, max, sql } from 'drizzle-orm';
import { changeLog, person } from '../../../db/schema';
import type { ChangeFeedPage } from '../types';
import type { Db } from './connection';

/**
 * Reads the change feed: people by the number of their latest change (`person.change_number`,
 * indexed). A person changed again while a consumer pages moves forward, so the consumer
 * sees them again later rather than missing the change.
 */
export class SqliteChangeFeed {
  private readonly peopleAfter;
  private readonly latest;

  constructor(private readonly db: Db) {
    this.peopleAfter = db
      .select()
      .from(person)
      .where(gt(person.changeNumber, sql.placeholder('after')))
      .orderBy(person.changeNumber)
      .limit(sql.placeholder('limit'))
      .prepare();
    this.latest = db.select({ n: max(changeLog.changeNumber) }).from(changeLog).prepare();
  }

  /**
   * Both reads in one read transaction, so they see one snapshot. Writers take change
   * numbers under SQLite's single write lock and commit in number order, so a snapshot
   * holds every change up to its newest and none after it. Hence an empty or short page
   * really is the end (its `latestChangeNumber` is not newer than what it shows), and a
   * consumer that stores `latestChangeNumber` as its position cannot step over a change
   * committed between the two reads, as it could with two separate snapshots.
   */
  page(after: number, limit: number): ChangeFeedPage {
    return this.db.transaction(
      () => {
        const rows = this.peopleAfter.all({ after, limit });
        const latestChangeNumber = this.latest.get()?.n ?? 0;
        return { rows, latestChangeNumber };
      },
      { behavior: 'deferred' },
    );
  }
}
