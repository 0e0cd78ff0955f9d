import type { AuthCheckerFn } from 'type-graphql';
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
 * A scope binds agencies only: a citizen reaches a `Person` solely through `me`, which is
 * their own record, and may see all of it. Every path that returns other people's
 * records is itself `@Authorized(Role.AGENCY)`.
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
 * An agency must hold `scope` to see `field`. Citizens see all of their own record, the
 * only record they can reach.
 */
export function requireScope(context: Context, scope: string, field: string): void {
  const { viewer } = context;
  if (viewer.kind === 'agency') {
    if (!viewer.scopes.has(scope)) throw forbidden(`${field} requires the scope ${scope}`, { requiredScope: scope });
  } else if (viewer.kind === 'anonymous') {
    throw unauthenticated('Authentication required: send "Authorization: Bearer <token>"');
  }
}

/**
 * `requireScope` for a field of one person's record; an agency's answer is then recorded
 * as released for that person (the lookup audit log, see LookupAudit).
 */
export function releaseField(context: Context, scope: string, field: string, personId: string): void {
  requireScope(context, scope, field);
  if (context.viewer.kind === 'agency') context.lookups.released(personId, scope);
}
