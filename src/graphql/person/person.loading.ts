import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type DataLoader from 'dataloader';
import { Scope } from '../../auth/scopes';
import type { Context } from '../context';
import { Person, type PersonData } from './person.types';

/** Which of a person's other tables an operation needs. */
export interface PersonWants {
  contactPoints: boolean;
  digitalPost: boolean;
}

/**
 * What the operation selects under the current field, fragments included: any field name
 * anywhere below counts (these names are only used on Person). Over-fetching is the worst
 * a mistake here can do: fields read on demand through the loaders if not loaded up front.
 */
export function personWants(info: GraphQLResolveInfo): PersonWants {
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
  return {
    contactPoints: names.has('contactInfo') || names.has('notificationStatus'),
    digitalPost: names.has('digitalMailbox') || names.has('certificate'),
  };
}

/** Whether the viewer may see data guarded by `scope` (citizens see their own record). */
function maySee(ctx: Context, scope: string): boolean {
  return ctx.viewer.kind === 'citizen' || (ctx.viewer.kind === 'agency' && ctx.viewer.scopes.has(scope));
}

/**
 * People as views, in the order of `ids`, with what the operation needs loaded up front:
 * one batch per table through the request's DataLoaders, whatever the number of ids.
 * Tables the viewer may not see are not read at all.
 */
export async function loadPeople(ctx: Context, ids: readonly string[], wants: PersonWants): Promise<Person[]> {
  const { loaders } = ctx;
  const rows = await Promise.all(ids.map((id) => loaders.person.load(id)));
  // The benchmark's naive way: nothing up front, so each field reads its own table on
  // demand, one uncached statement per person and field.
  if (loaders.mode === 'naive') return ids.map((id, i) => new Person(id, { row: rows[i] }, ctx));
  const active = [...new Set(ids.filter((_, i) => rows[i]?.status === 'ACTIVE'))];
  // A batch that fails is not loaded up front: its fields then load on demand and fail
  // each as that field's error, the rest of the answer intact.
  const preload = <V>(wanted: boolean, scope: string, loader: DataLoader<string, V>): Promise<V[] | undefined> =>
    wanted && maySee(ctx, scope) && active.length > 0 ? Promise.all(active.map((id) => loader.load(id))).catch(() => undefined) : Promise.resolve(undefined);
  const [points, posts] = await Promise.all([
    preload(wants.contactPoints, Scope.CONTACT_INFO, loaders.contactPoints),
    preload(wants.digitalPost, Scope.DIGITAL_POST, loaders.digitalPost),
  ]);
  const byId = new Map<string, Partial<PersonData>>();
  active.forEach((id, i) => byId.set(id, { contactPoints: points?.[i], digitalPost: posts?.[i] }));
  return ids.map((id, i) => new Person(id, { row: rows[i], ...byId.get(id) }, ctx));
}

/** One person as a view, with what the operation needs. */
export async function loadPerson(ctx: Context, id: string, wants: PersonWants = { contactPoints: false, digitalPost: false }): Promise<Person> {
  return (await loadPeople(ctx, [id], wants))[0];
}
