/** Maskinporten scopes that decide what an agency sees (DOMAIN.md, "Scopes"). */
export const Scope = {
  /** Email, mobile and their timestamps, notification status and language. */
  CONTACT_INFO: 'krr:global/kontaktinformasjon.read',
  /** Digital mailbox and certificate. */
  DIGITAL_POST: 'krr:global/digitalpost.read',
  /** The change feed. */
  CHANGE_FEED: 'krr:global/hentendring.read',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];

export const ALL_SCOPES: readonly Scope[] = Object.values(Scope);
