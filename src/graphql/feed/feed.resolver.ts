import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Authorized, Ctx, Info, Int, Query, Resolver } from 'type-graphql';
import { Scope } from '../../auth/scopes';
import { badUserInput } from '../../errors';
import { Role } from '../auth-checker';
import type { Context } from '../context';
import { loadPeople, personWants, selectedNames } from '../person/person.loading';
import { ChangePage } from './feed.types';

/** A page holds at most this many people (DOMAIN.md, "Change feed"). */
export const MAX_CHANGES_PER_PAGE = 1000;

@Resolver()
export class ChangeFeedResolver {
  @Authorized(Role.AGENCY, Scope.CHANGE_FEED)
  @Query(() => ChangePage, {
    description:
      'The change feed (`POST /rest/v2/krr/hentEndringer`), for agencies that keep a local copy: people whose latest change is after `after`, in change order, each in their current state. A person changed again while you page moves to a later page: seen again, never missed. `first`: 1 to 1000.',
  })
  async changes(
    // Declared in reverse: type-graphql prints arguments last to first.
    @Arg('first', () => Int, { defaultValue: MAX_CHANGES_PER_PAGE, description: '1 to 1000.' }) first: number,
    @Arg('after', () => Int, { description: 'The last change number you have seen; 0 to start from the beginning.' }) after: number,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ChangePage> {
    if (after < 0) throw badUserInput(`after must be 0 or more, got ${after}`, { argument: 'after' });
    if (first < 1 || first > MAX_CHANGES_PER_PAGE) {
      throw badUserInput(`first must be 1 to ${MAX_CHANGES_PER_PAGE}, got ${first}`, { argument: 'first', max: MAX_CHANGES_PER_PAGE });
    }
    const { rows, latestChangeNumber } = await ctx.loaders.changePage(after, first);
    // The page's rows are primed into the person loader: this reads only the other tables.
    // A page read only for its numbers shows nobody, so loads (and records) nobody; a page
    // that shows people records each as a lookup under the feed's scope.
    const people = selectedNames(info).has('person') ? await loadPeople(ctx, rows.map((row) => row.id), personWants(ctx, info), Scope.CHANGE_FEED) : null;
    // The numbers come from the page's rows, never from a later read: a position taken from
    // a newer state of a person could step over changes this page has not shown yet.
    return {
      entries: rows.map((row, i) => ({ changeNumber: row.changeNumber, person: people?.[i] ?? null })),
      fromChangeNumber: after,
      firstChangeNumber: rows.length > 0 ? rows[0].changeNumber : null,
      lastChangeNumber: rows.length > 0 ? rows[rows.length - 1].changeNumber : null,
      latestChangeNumber,
    };
  }
}
