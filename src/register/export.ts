/**
 * The whole register as register JSON Lines (`npm run export`): every person's current
 * entry, one per line, in change-number order, read page by page through the change feed's
 * read (`changePage`), so memory stays bounded whatever the register's size. `importPeople`
 * reads the file back to the same entries (a move from SQLite to PostgreSQL, a backup).
 */
import type { ContactPointWithDuplicate, PersonReads, PersonRecord } from '../store/types';
import { formatPersonRecord } from './register-format';

const PAGE = 1000;

export interface ExportPage {
  /** JSON Lines text of the page's people, each line ending in "\n". */
  text: string;
  people: number;
  /** The change number of the page's last person. */
  lastChangeNumber: number;
  /** The register's newest change number when the page was read. */
  latestChangeNumber: number;
}

function channel(points: readonly ContactPointWithDuplicate[], which: 'EMAIL' | 'MOBILE'): PersonRecord['email'] {
  const point = points.find((p) => p.channel === which);
  return point ? { address: point.address, updatedAt: point.updatedAt, lastVerifiedAt: point.lastVerifiedAt, lastValidatedAt: point.lastValidatedAt } : null;
}

/**
 * The register's pages in change-number order, from the first change after `after`. A
 * person changed while the export runs appears again later with the newer entry (the import
 * keeps the later record), as in the change feed; the last page's `latestChangeNumber` is
 * where a follower of the change feed takes over.
 */
export async function* exportPages(reads: PersonReads, after = 0): AsyncGenerator<ExportPage> {
  let position = after;
  for (;;) {
    const page = await reads.changePage(position, PAGE);
    if (page.rows.length === 0) return;
    const ids = page.rows.map((r) => r.id);
    const [points, posts] = await Promise.all([reads.contactPoints(ids), reads.digitalPost(ids)]);
    const lines = page.rows.map((row, i) => {
      const post = posts[i];
      const record: PersonRecord = {
        id: row.id,
        status: row.status,
        reserved: row.reserved,
        reservedAt: row.reservedAt,
        reservationUpdatedAt: row.reservationUpdatedAt,
        language: row.language,
        languageUpdatedAt: row.languageUpdatedAt,
        updatedAt: row.updatedAt,
        email: channel(points[i], 'EMAIL'),
        mobile: channel(points[i], 'MOBILE'),
        digitalPost: post ? { mailboxAddress: post.mailboxAddress, providerOrgNumber: post.providerOrgNumber, certificate: post.certificate } : null,
      };
      return `${JSON.stringify(formatPersonRecord(record))}\n`;
    });
    position = page.rows[page.rows.length - 1].changeNumber;
    yield { text: lines.join(''), people: lines.length, lastChangeNumber: position, latestChangeNumber: page.latestChangeNumber };
    if (page.rows.length < PAGE) return;
  }
}
