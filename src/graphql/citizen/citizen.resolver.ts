import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, FieldResolver, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { UserScope } from '../../auth/scopes';
import type { CitizenViewer } from '../../auth/viewer';
import { badUserInput, forbidden } from '../../errors';
import { requireUserScope, Role } from '../auth-checker';
import type { Context } from '../context';
import { loadPerson, personWants } from '../person/person.loading';
import { Language, Person } from '../person/person.types';
import { ContactChannel, LookupConnection, UpdateContactInfoInput } from './citizen.types';

const LOOKUPS_DEFAULT = 20;
const LOOKUPS_MAX = 100;

/**
 * The citizen behind the request. `@Authorized(Role.CITIZEN)` has already made sure there is
 * one. `scope`: what a token with user scopes needs for `what` (null: only the self-service
 * login may; reading `me` itself needs no scope).
 */
function citizen(ctx: Context, what?: string, scope: UserScope | null = null): CitizenViewer {
  if (ctx.viewer.kind !== 'citizen') throw forbidden('for citizens (ID-porten tokens) only');
  if (what !== undefined) requireUserScope(ctx.viewer, scope, what);
  return ctx.viewer;
}

/** The person's own entry after a write: the loaders' copy from earlier in the request is stale. */
function reloaded(ctx: Context, pid: string, info: GraphQLResolveInfo): Promise<Person> {
  ctx.loaders.person.clear(pid);
  ctx.loaders.contactPoints.clear(pid);
  ctx.loaders.digitalPost.clear(pid);
  return loadPerson(ctx, pid, personWants(ctx, info));
}

const encodeCursor = (id: number) => Buffer.from(`lookup:${id}`).toString('base64url');
function decodeCursor(cursor: string): number {
  const match = /^lookup:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw badUserInput('after is not a cursor from this list', { argument: 'after' });
  return Number(match[1]);
}

/**
 * Citizen self-service. No operation here takes a person id: the person is always the
 * token's `pid`. That, and nothing else, decides whose record is read or changed.
 */
@Resolver(() => Person)
export class CitizenResolver {
  @Authorized(Role.CITIZEN)
  @Query(() => Person, { nullable: true, description: 'Your own entry (status NOT_REGISTERED until you save something).' })
  me(@Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<Person> {
    return loadPerson(ctx, citizen(ctx).pid, personWants(ctx, info));
  }

  @Authorized(Role.CITIZEN)
  @Mutation(() => Person, {
    description: 'Set or change your email address and/or mobile number. Stamps `updatedAt` and sends a one-time code to each new address. The first write registers you as ACTIVE.',
  })
  async updateContactInfo(@Arg('input') input: UpdateContactInfoInput, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<Person> {
    const { pid } = citizen(ctx, 'updateContactInfo');
    await ctx.selfService.updateContactInfo(pid, input);
    return reloaded(ctx, pid, info);
  }

  @Authorized(Role.CITIZEN)
  @Mutation(() => Person, { description: 'Send a new one-time code to the channel\u2019s current address, replacing any pending code.' })
  async resendVerificationCode(@Arg('channel', () => ContactChannel) channel: ContactChannel, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<Person> {
    const { pid } = citizen(ctx, 'resendVerificationCode');
    await ctx.selfService.resendCode(pid, channel);
    return reloaded(ctx, pid, info);
  }

  @Authorized(Role.CITIZEN)
  @Mutation(() => Person, {
    description:
      'Prove an address with the code sent to it: stamps `lastValidatedAt` on the channel, email and mobile alike (`confirmContactInfo` stamps `lastVerifiedAt`). Codes are single-use, expire, and lock after 5 wrong attempts. Errors: CODE_INVALID, CODE_EXPIRED, CODE_LOCKED, CODE_NOT_FOUND, CODE_ATTEMPTS_EXCEEDED (too many wrong codes today).',
  })
  async verifyContact(
    @Arg('channel', () => ContactChannel) channel: ContactChannel,
    @Arg('code') code: string,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Person> {
    const { pid } = citizen(ctx, 'verifyContact');
    await ctx.selfService.verifyContact(pid, channel, code);
    return reloaded(ctx, pid, info);
  }

  @Authorized(Role.CITIZEN)
  @Mutation(() => Person, { description: '"My details are still right": stamps `lastVerifiedAt` on every channel, restarting the 18-month clock.' })
  async confirmContactInfo(@Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<Person> {
    const { pid } = citizen(ctx, 'confirmContactInfo');
    await ctx.selfService.confirmContactInfo(pid);
    return reloaded(ctx, pid, info);
  }

  @Authorized(Role.CITIZEN)
  @Mutation(() => Person, { description: 'Reserve against digital communication of important letters (true), or lift the reservation (false).' })
  async setReservation(@Arg('reserved') reserved: boolean, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<Person> {
    const { pid } = citizen(ctx, 'setReservation');
    await ctx.selfService.setReservation(pid, reserved);
    return reloaded(ctx, pid, info);
  }

  @Authorized(Role.CITIZEN)
  @Mutation(() => Person, { description: 'Choose the language agencies should write to you in.' })
  async setLanguage(@Arg('language', () => Language) language: Language, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<Person> {
    const { pid } = citizen(ctx, 'setLanguage', UserScope.LANGUAGE_WRITE);
    await ctx.selfService.setLanguage(pid, language);
    return reloaded(ctx, pid, info);
  }

  @Authorized(Role.CITIZEN)
  @Mutation(() => Person, { description: 'Remove both your email address and your mobile number (and any pending codes).' })
  async deleteContactInfo(@Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<Person> {
    const { pid } = citizen(ctx, 'deleteContactInfo');
    await ctx.selfService.deleteContactInfo(pid);
    return reloaded(ctx, pid, info);
  }

  @Authorized(Role.CITIZEN)
  @FieldResolver(() => LookupConnection, {
    nullable: true,
    description: 'Who has looked you up, newest first: your right of access. Visible to you only, on `me`.',
  })
  async lookups(
    @Root() person: Person,
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { nullable: true, description: `At most ${LOOKUPS_MAX}; ${LOOKUPS_DEFAULT} when left out.` }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ): Promise<LookupConnection> {
    // Ownership, asserted where the data is read: a citizen reaches only their own Person
    // today, and this keeps it so if another path to Person is ever added.
    if (person.id !== citizen(ctx, 'Person.lookups').pid) throw forbidden('you can only see who has looked up yourself');
    const limit = first ?? LOOKUPS_DEFAULT;
    if (!Number.isInteger(limit) || limit < 1 || limit > LOOKUPS_MAX) {
      throw badUserInput(`first must be from 1 to ${LOOKUPS_MAX}`, { argument: 'first' });
    }
    const rows = await ctx.audit.lookupsOf(person.id, limit + 1, after ? decodeCursor(after) : undefined);
    const page = rows.slice(0, limit);
    return {
      edges: page.map((row) => ({
        cursor: encodeCursor(row.id),
        node: { agencyOrgNumber: row.agencyOrgNumber, supplierOrgNumber: row.supplierOrgNumber ?? null, lookedUpAt: row.lookedUpAt, scopes: row.scopes ? row.scopes.split(' ') : [] },
      })),
      pageInfo: { hasNextPage: rows.length > limit, endCursor: page.length > 0 ? encodeCursor(page[page.length - 1].id) : null },
      totalCount: await ctx.audit.countLookupsOf(person.id),
    };
  }
}
