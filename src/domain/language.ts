/** The languages the register records, as the register writes them (`spraak`). */
export const LANGUAGES = ['nb', 'nn', 'en', 'se'] as const;
export type LanguageCode = (typeof LANGUAGES)[number];

export function isLanguageCode(value: unknown): value is LanguageCode {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}
