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

/**
 * What a field of a person's record needs before it is answered:
 *
 * - `ALWAYS`: whatever the scope, to anyone who reaches the record (identifier, status,
 *   reservation: DOMAIN.md, "Scopes");
 * - a `Scope`: an agency needs it; a citizen, on their own record, needs its user scope
 *   (`USER_SCOPE_FOR`) when the token carries user scopes at all;
 * - `OWN_RECORD`: the citizen, on their own record only (the resolver asserts ownership).
 */
export const ALWAYS = 'always';
export const OWN_RECORD = 'own-record';
export type FieldRule = Scope | typeof ALWAYS | typeof OWN_RECORD;

/**
 * Who sees which field of `Person`: declared here once, for GraphQL (the field getters are
 * guarded from this table, `guardFields`), the REST API (which serves GraphQL's answer and
 * so withholds the same fields) and what is loaded up front (`loadPeople` reads no table
 * for a field the viewer may not see). Every `Person` field must be listed: building the
 * schema fails for a field without a rule (`assertFieldRules`), so no field is public by
 * being forgotten. The benchmark's floor (bench/limit-common.ts) checks scopes its own way
 * and must agree (test/integration/field-rules.test.ts).
 */
export const PERSON_FIELD_RULES: Readonly<Record<string, FieldRule>> = {
  id: ALWAYS,
  status: ALWAYS,
  reservation: ALWAYS,
  notificationStatus: Scope.CONTACT_INFO,
  contactInfo: Scope.CONTACT_INFO,
  digitalMailbox: Scope.DIGITAL_POST,
  certificate: Scope.DIGITAL_POST,
  language: Scope.CONTACT_INFO,
  languageUpdatedAt: Scope.CONTACT_INFO,
  // It tells when contact details changed.
  updatedAt: Scope.CONTACT_INFO,
  // Who has looked the citizen up: their right of access, nobody else's business.
  lookups: OWN_RECORD,
};

/** The scope a rule asks for, or null (`ALWAYS`, `OWN_RECORD`: no scope decides). */
export function scopeOf(rule: FieldRule): Scope | null {
  return rule === ALWAYS || rule === OWN_RECORD ? null : rule;
}
