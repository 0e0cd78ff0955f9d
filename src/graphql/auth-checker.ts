import type { AuthCheckerFn } from 'type-graphql';
import { USER_SCOPE_FOR, type UserScope } from '../auth/scopes';
import type { CitizenViewer, Viewer } from '../auth/viewer';
import { forbidden, unauthenticated } from '../errors';
import type { Context } from './context';

/** Who may call an operation. Anything else given to `@Authorized` is a scope. */
export const Role = {
  AGENCY: 'AGENCY',
  CITIZEN: 'CITIZEN',
} as const;

/**
 * One checker for every `@Authorized` field. Every role listed must hold.
 *
 * An agency scope binds agencies; a citizen reaches a `Person` solely through `me`, their
 * own record, and sees all of it unless the token carries `krr:user/...` scopes, which
 * then bind it (`requireUserScope`). Every path that returns other people's records is
 * itself `@Authorized(Role.AGENCY)`.
 */
export const authChecker: AuthCheckerFn<Context> = ({ context, info }, roles) => {
  const { viewer } = context;
  if (viewer.kind === 'anonymous') {
    throw unauthenticated('Authentication required: send "Authorization: Bearer <token>"');
  }
  for (const role of roles) {
    if (role === Role.AGENCY) {
      if (viewer.kind !== 'agency') throw forbidden(`${info.fieldName} is for agencies (Maskinporten tokens) only`);
    } else if (role === Role.CITIZEN) {
      if (viewer.kind !== 'citizen') throw forbidden(`${info.fieldName} is for citizens (ID-porten tokens) only`);
    } else {
      requireScope(context, role, `${info.parentType.name}.${info.fieldName}`);
    }
  }
  return true;
};

/**
 * Whether the viewer may see what `scope` guards: an agency if its token holds the scope; a
 * citizen (who reaches only their own record) unless the token carries user scopes and not
 * the matching one. `requireScope` refuses exactly when this is false.
 */
export function maySee(viewer: Viewer, scope: string): boolean {
  if (viewer.kind === 'agency') return viewer.scopes.has(scope);
  if (viewer.kind === 'citizen') {
    const userScope = USER_SCOPE_FOR[scope];
    return viewer.userScopes === null || (userScope !== undefined && viewer.userScopes.has(userScope));
  }
  return false;
}

/**
 * An agency must hold `scope` to see `field`. A citizen sees their own record, the only
 * record they can reach, as far as their user scopes allow.
 */
export function requireScope(context: Context, scope: string, field: string): void {
  const { viewer } = context;
  if (maySee(viewer, scope)) return;
  if (viewer.kind === 'agency') throw forbidden(`${field} requires the scope ${scope}`, { requiredScope: scope });
  if (viewer.kind === 'citizen') requireUserScope(viewer, USER_SCOPE_FOR[scope] ?? null, field);
  throw unauthenticated('Authentication required: send "Authorization: Bearer <token>"');
}

/**
 * A citizen token without user scopes (the self-service login) may do anything to its own
 * entry; one with user scopes needs `scope`. `null`: what no user scope grants (the
 * register's user API has none for it), so only the self-service login may.
 */
export function requireUserScope(viewer: CitizenViewer, scope: UserScope | null, what: string): void {
  if (viewer.userScopes === null || (scope !== null && viewer.userScopes.has(scope))) return;
  throw forbidden(
    scope === null ? `${what} needs the self-service login (a citizen token without krr:user scopes)` : `${what} requires the scope ${scope}`,
    scope === null ? {} : { requiredScope: scope },
  );
}

/**
 * `requireScope` for a field of one person's record; an agency's answer is then recorded
 * as released for that person (the lookup audit log, see LookupAudit).
 */
export function releaseField(context: Context, scope: string, field: string, personId: string): void {
  requireScope(context, scope, field);
  if (context.viewer.kind === 'agency') context.lookups.released(personId, scope);
}
