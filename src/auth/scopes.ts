/** Maskinporten scopes that decide what an agency sees (docs/domain.md, "Scopes"). */
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

/**
 * ID-porten scopes of the register's user API (a citizen's own entry). A citizen token
 * with none of them is the register's own self-service login and may read and change all
 * of the citizen's own entry; one with any of them is held to those it has (docs/api.md).
 */
export const UserScope = {
  /** Own email, mobile, their timestamps, notification status and language. */
  CONTACT_INFO: 'krr:user/kontaktinformasjon.read',
  /** Own digital mailbox and certificate. */
  DIGITAL_POST: 'krr:user/digitalpost.read',
  /** Change own language. */
  LANGUAGE_WRITE: 'krr:user/spraak.write',
} as const;
export type UserScope = (typeof UserScope)[keyof typeof UserScope];

/** The user scope that lets a citizen see what an agency scope lets an agency see. */
export const USER_SCOPE_FOR: Partial<Record<string, UserScope>> = {
  [Scope.CONTACT_INFO]: UserScope.CONTACT_INFO,
  [Scope.DIGITAL_POST]: UserScope.DIGITAL_POST,
};
