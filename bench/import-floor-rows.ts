/**
 * What both import floors (bench/import-floor.ts, bench/import-floor-pg.ts) read, the
 * simplest good way: the file's lines streamed (`lines`), `JSON.parse` each, the identity
 * number checked, one row per person shaped like a lookup answer (`floorRow`, the register's
 * own field names).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { isValidIdentityNumber } from '../src/domain/identity-number';

export const FLOOR_COLUMNS = [
  'id', 'status', 'reservasjon', 'reservasjonstidspunkt', 'reservasjon_oppdatert', 'spraak', 'spraak_oppdatert',
  'epostadresse', 'epostadresse_oppdatert', 'epostadresse_sist_verifisert', 'epostadresse_sist_validert',
  'mobiltelefonnummer', 'mobiltelefonnummer_oppdatert', 'mobiltelefonnummer_sist_verifisert', 'mobiltelefonnummer_sist_validert',
  'postkasseadresse', 'postkasseleverandoeradresse', 'sertifikat',
];

/** A line's person as a row of `FLOOR_COLUMNS` (null for an empty line); throws at a bad identity number. */
export function floorRow(line: string, lineNumber: number): (string | null)[] | null {
  if (line === '') return null;
  const p = JSON.parse(line);
  if (!isValidIdentityNumber(p.personidentifikator)) throw new Error(`line ${lineNumber}: bad id`);
  const k = p.kontaktinformasjon ?? {};
  const d = p.digital_post ?? {};
  return [
    p.personidentifikator, p.status, p.reservasjon ?? null, p.reservasjonstidspunkt ?? null, p.reservasjon_oppdatert ?? null, p.spraak ?? null, p.spraak_oppdatert ?? null,
    k.epostadresse ?? null, k.epostadresse_oppdatert ?? null, k.epostadresse_sist_verifisert ?? null, k.epostadresse_sist_validert ?? null,
    k.mobiltelefonnummer ?? null, k.mobiltelefonnummer_oppdatert ?? null, k.mobiltelefonnummer_sist_verifisert ?? null, k.mobiltelefonnummer_sist_validert ?? null,
    d.postkasseadresse ?? null, d.postkasseleverandoeradresse ?? null, p.sertifikat ?? null,
  ];
}

/** The lines of `file`, streamed. */
export const lines = (file: string) => createInterface({ input: createReadStream(file), crlfDelay: Infinity });
