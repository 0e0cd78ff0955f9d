import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Info, Query, Resolver } from 'type-graphql';
import { isValidIdentityNumber, maskIdentityNumber } from '../../domain/identity-number';
import { badUserInput } from '../../errors';
import { Role } from '../auth-checker';
import type { Context } from '../context';
import { loadPeople, loadPerson, personWants } from './person.loading';
import { Person } from './person.types';

export const MAX_IDS_PER_LOOKUP = 1000;

/** Rejects the whole lookup, naming (masked) every id that is not an identity number. */
export function assertLookupIds(ids: readonly string[]): void {
  if (ids.length === 0) throw badUserInput('ids must hold at least one identity number', { argument: 'ids' });
  if (ids.length > MAX_IDS_PER_LOOKUP) {
    throw badUserInput(`ids holds ${ids.length} identity numbers; at most ${MAX_IDS_PER_LOOKUP} are allowed per request`, {
      argument: 'ids',
      max: MAX_IDS_PER_LOOKUP,
    });
  }
  const invalid: { index: number; id: string }[] = [];
  ids.forEach((id, index) => {
    if (!isValidIdentityNumber(id)) invalid.push({ index, id: maskIdentityNumber(id) });
  });
  if (invalid.length > 0) {
    const shown = invalid.slice(0, 10).map((i) => `${i.id} (at ${i.index})`).join(', ');
    const more = invalid.length > 10 ? ` and ${invalid.length - 10} more` : '';
    throw badUserInput(`Not valid identity numbers: ${shown}${more}`, { argument: 'ids', invalid: invalid.slice(0, 100) });
  }
}

/** The agency lookups. The Person fields themselves are getters on the `Person` view. */
@Resolver(() => Person)
export class PersonResolver {
  @Authorized(Role.AGENCY)
  @Query(() => [Person], {
    description:
      'Look up 1 to 1000 people (`POST /rest/v2/personer`). One result per id, in the order given; duplicates allowed. An id not in the register comes back with status NOT_REGISTERED.',
  })
  async persons(@Arg('ids', () => [String]) ids: string[], @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<Person[]> {
    assertLookupIds(ids);
    return loadPeople(ctx, ids, personWants(ctx, info));
  }

  @Authorized(Role.AGENCY)
  @Query(() => Person, { nullable: true, description: 'Look up one person. Same rules as `persons`.' })
  async person(@Arg('id') id: string, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<Person> {
    assertLookupIds([id]);
    return loadPerson(ctx, id, personWants(ctx, info));
  }
}
