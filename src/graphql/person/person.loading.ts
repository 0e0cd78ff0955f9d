import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { PERSON_FIELD_RULES, scopeOf, type Scope } from '../../auth/scopes';
import type { TableWants } from '../../loaders';
import { maySee } from '../auth-checker';
import type { Context } from '../context';
import { Person } from './person.types';

/**
 * The field names the operation selects under the current field, fragments included: any
 * name anywhere below counts.
 */
export function selectedNames(info: GraphQLResolveInfo): Set<string> {
  const names = new Set<string>();
  const seenFragments = new Set<string>();
  const walk = (set: SelectionSetNode | undefined) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        names.add(selection.name.value);
        walk(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!seenFragments.has(selection.name.value)) {
        seenFragments.add(selection.name.value);
        walk(info.fragments[selection.name.value]?.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) walk(node.selectionSet);
  return names;
}

/** The `Person` fields that read one of the person's other tables. */
const READS: Readonly<Record<string, keyof TableWants>> = {
  notificationStatus: 'contactPoints',
  contactInfo: 'contactPoints',
  digitalMailbox: 'digitalPost',
  certificate: 'digitalPost',
};

/**
 * Which tables to load up front for what the operation selects: those of the fields selected
 * that the viewer may see (`PERSON_FIELD_RULES`); a field refused is never read. These names
 * are only used on Person, so over-fetching is the worst a name elsewhere can do: anything
 * not loaded up front is read on demand through the loaders.
 */
export function personWants(ctx: Context, info: GraphQLResolveInfo): TableWants {
  const wants: TableWants = { contactPoints: false, digitalPost: false };
  for (const name of selectedNames(info)) {
    const table = READS[name];
    const scope = scopeOf(PERSON_FIELD_RULES[name]);
    if (table !== undefined && (scope === null || maySee(ctx.viewer, scope))) wants[table] = true;
  }
  return wants;
}

const NOTHING_UP_FRONT: TableWants = { contactPoints: false, digitalPost: false };

/**
 * People as views, in the order of `ids`, with what the operation needs loaded up front
 * (`personWants`): one batch per table through the request's loaders, whatever the number
 * of ids. Every path that shows people reaches them here, and this is where an agency's
 * lookup is recorded (the lookup audit log, `LookupAudit`): each id is recorded as looked up
 * before anything is read, or, with `via`, as released under that scope (a change-feed
 * entry: `Scope.CHANGE_FEED`). What each field releases is recorded by its guard.
 */
export async function loadPeople(ctx: Context, ids: readonly string[], wants: TableWants = NOTHING_UP_FRONT, via?: Scope): Promise<Person[]> {
  if (ctx.viewer.kind === 'agency') {
    for (const id of ids) {
      if (via === undefined) ctx.lookups.lookedUp(id);
      else ctx.lookups.released(id, via);
    }
  }
  const entries = await ctx.loaders.entries(ids, wants);
  return ids.map((id, i) => new Person(id, entries[i], ctx));
}

/** One person as a view, with what the operation needs. */
export async function loadPerson(ctx: Context, id: string, wants: TableWants = NOTHING_UP_FRONT): Promise<Person> {
  return (await loadPeople(ctx, [id], wants))[0];
}
