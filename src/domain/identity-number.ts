/**
 * Norwegian national identity numbers: fødselsnummer, D-nummer (day + 40) and the
 * synthetic test numbers of the Tenor test data set (month + 80). All share the same
 * 11-digit layout `DDMMYY` + three-digit individual number + two check digits.
 */

const K1_WEIGHTS = [3, 7, 6, 1, 8, 9, 4, 5, 2] as const;
const K2_WEIGHTS = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2] as const;

export type IdentityNumberKind = 'FODSELSNUMMER' | 'D_NUMMER';

/** The digit at `index` of a string of digits. */
const digitAt = (text: string, index: number): number => text.charCodeAt(index) - 48;

/** Check digit for a weighted sum; `null` when the result (10) makes the number impossible. */
function checkDigit(sum: number): number | null {
  const k = 11 - (sum % 11);
  if (k === 11) return 0;
  if (k === 10) return null;
  return k;
}

/**
 * The two check digits (as one number, `k1 * 10 + k2`) for the first nine digits of `text`,
 * or `null`. Read with `charCodeAt`, in one pass: the import checks every number of a national file.
 */
function checkNumber(text: string): number | null {
  let sum1 = 0;
  let sum2 = 0;
  for (let i = 0; i < 9; i++) {
    const digit = digitAt(text, i);
    sum1 += digit * K1_WEIGHTS[i];
    sum2 += digit * K2_WEIGHTS[i];
  }
  const k1 = checkDigit(sum1);
  if (k1 === null) return null;
  const k2 = checkDigit(sum2 + k1 * K2_WEIGHTS[9]);
  if (k2 === null) return null;
  return k1 * 10 + k2;
}

const NINE_DIGITS = /^\d{9}$/;

/** The two check digits for the first nine digits, or `null` when no valid number starts with them. */
export function checkDigitsFor(firstNine: string): string | null {
  if (!NINE_DIGITS.test(firstNine)) return null;
  const check = checkNumber(firstNine);
  return check === null ? null : String(check).padStart(2, '0');
}

const ELEVEN_DIGITS = /^\d{11}$/;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

export interface ParsedIdentityNumber {
  kind: IdentityNumberKind;
  synthetic: boolean;
  day: number;
  month: number;
}

/**
 * Parses an identity number, or returns `null` when it is not one: wrong length, a date
 * part that is no day of any month, or check digits that do not match.
 */
export function parseIdentityNumber(value: string): ParsedIdentityNumber | null {
  if (typeof value !== 'string' || !ELEVEN_DIGITS.test(value)) return null;
  let day = digitAt(value, 0) * 10 + digitAt(value, 1);
  let month = digitAt(value, 2) * 10 + digitAt(value, 3);
  let kind: IdentityNumberKind = 'FODSELSNUMMER';
  let synthetic = false;
  if (day > 40) {
    kind = 'D_NUMMER';
    day -= 40;
  }
  if (month > 80) {
    synthetic = true;
    month -= 80;
  }
  // The century is not in the number, so 29 February is allowed in every year.
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]) return null;
  if (checkNumber(value) !== digitAt(value, 9) * 10 + digitAt(value, 10)) return null;
  return { kind, synthetic, day, month };
}

export function isValidIdentityNumber(value: string): boolean {
  return parseIdentityNumber(value) !== null;
}

/**
 * The form an identity number may take in logs and error messages: the date part only
 * (`010190*****`). Anything longer than six characters is cut to its first six, so a
 * malformed value that contains a real number never shows it whole either.
 */
export function maskIdentityNumber(value: string): string {
  const text = String(value);
  return text.length > 6 ? `${text.slice(0, 6)}*****` : text;
}

/** Replaces every 11-digit run in free text by its masked form. */
export function maskIdentityNumbersIn(text: string): string {
  return text.replace(/(?<!\d)(\d{6})\d{5}(?!\d)/g, '$1*****');
}
