import { Arg, Authorized, Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';
import type { ContactPointWithDuplicate } from '../../store/person.store';
import { Scope } from '../../auth/scopes';
import { isChannelUsable, notificationStatus } from '../../domain/contact-rules';
import { isValidIdentityNumber, maskIdentityNumber } from '../../domain/identity-number';
import { badUserInput } from '../../errors';
import { Role } from '../auth-checker';
import type { Context } from '../context';
import {
  ContactInfo,
  DigitalMailbox,
  EmailContact,
  Language,
  MobileContact,
  NotificationStatus,
  Person,
  PersonStatus,
  Reservation,
} from './person.types';

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

export async function loadPerson(ctx: Context, id: string): Promise<Person> {
  return { id, row: await ctx.loaders.person.load(id) };
}

function isActive(person: Person): boolean {
  return person.row?.status === 'ACTIVE';
}

function channel<T extends EmailContact | MobileContact>(
  point: ContactPointWithDuplicate | undefined,
  now: Date,
  addressField: 'address' | 'number',
): T | null {
  if (!point) return null;
  return {
    [addressField]: point.address,
    updatedAt: point.updatedAt,
    lastVerifiedAt: point.lastVerifiedAt,
    lastValidatedAt: point.lastValidatedAt,
    duplicated: point.duplicated,
    usableForNotification: isChannelUsable(point, now),
  } as unknown as T;
}

@Resolver(() => Person)
export class PersonResolver {
  @Authorized(Role.AGENCY)
  @Query(() => [Person], {
    description:
      'Look up 1 to 1000 people (`POST /rest/v2/personer`). One result per id, in the order given; duplicates allowed. An id not in the register comes back with status NOT_REGISTERED.',
  })
  async persons(@Arg('ids', () => [String]) ids: string[], @Ctx() ctx: Context): Promise<Person[]> {
    assertLookupIds(ids);
    for (const id of ids) ctx.lookups.personIds.add(id);
    return Promise.all(ids.map((id) => loadPerson(ctx, id)));
  }

  @Authorized(Role.AGENCY)
  @Query(() => Person, { nullable: true, description: 'Look up one person. Same rules as `persons`.' })
  async person(@Arg('id') id: string, @Ctx() ctx: Context): Promise<Person> {
    assertLookupIds([id]);
    ctx.lookups.personIds.add(id);
    return loadPerson(ctx, id);
  }

  @FieldResolver(() => PersonStatus, { description: '`status`: `AKTIV`, `SLETTET` or `IKKE_REGISTRERT`.' })
  status(@Root() person: Person): PersonStatus {
    return (person.row?.status as PersonStatus | undefined) ?? PersonStatus.NOT_REGISTERED;
  }

  @FieldResolver(() => Reservation, {
    nullable: true,
    description: 'Reservation, whatever the scope; also for a deleted person (as last recorded). Null when not registered.',
  })
  reservation(@Root() person: Person): Reservation | null {
    if (!person.row) return null;
    return { reserved: person.row.reserved, reservedAt: person.row.reservedAt, updatedAt: person.row.reservationUpdatedAt };
  }

  @Authorized(Scope.CONTACT_INFO)
  @FieldResolver(() => NotificationStatus, { nullable: true, description: '`varslingsstatus`.' })
  async notificationStatus(@Root() person: Person, @Ctx() ctx: Context): Promise<NotificationStatus> {
    if (!isActive(person) || !person.row) return NotificationStatus.CANNOT_BE_NOTIFIED;
    const channels = await ctx.loaders.contactPoints.load(person.id);
    return notificationStatus({ status: 'ACTIVE', reserved: person.row.reserved, channels }, ctx.now) as NotificationStatus;
  }

  @Authorized(Scope.CONTACT_INFO)
  @FieldResolver(() => ContactInfo, { nullable: true, description: '`kontaktinformasjon`; null unless the person is active.' })
  async contactInfo(@Root() person: Person, @Ctx() ctx: Context): Promise<ContactInfo | null> {
    if (!isActive(person)) return null;
    const points = await ctx.loaders.contactPoints.load(person.id);
    return {
      email: channel<EmailContact>(points.find((p) => p.channel === 'EMAIL'), ctx.now, 'address'),
      mobile: channel<MobileContact>(points.find((p) => p.channel === 'MOBILE'), ctx.now, 'number'),
    };
  }

  @Authorized(Scope.DIGITAL_POST)
  @FieldResolver(() => DigitalMailbox, { nullable: true, description: '`digital_post`; null unless the person is active and has one.' })
  async digitalMailbox(@Root() person: Person, @Ctx() ctx: Context): Promise<DigitalMailbox | null> {
    if (!isActive(person)) return null;
    const post = await ctx.loaders.digitalPost.load(person.id);
    return post ? { address: post.mailboxAddress, providerOrgNumber: post.providerOrgNumber } : null;
  }

  @Authorized(Scope.DIGITAL_POST)
  @FieldResolver(() => String, { nullable: true, description: '`sertifikat`: base64 X.509 certificate; null unless the person is active and has one.' })
  async certificate(@Root() person: Person, @Ctx() ctx: Context): Promise<string | null> {
    if (!isActive(person)) return null;
    return (await ctx.loaders.digitalPost.load(person.id))?.certificate ?? null;
  }

  @Authorized(Scope.CONTACT_INFO)
  @FieldResolver(() => Language, { nullable: true, description: '`spraak`; null unless the person is active and has chosen one.' })
  language(@Root() person: Person): Language | null {
    return isActive(person) ? ((person.row?.language as Language | null) ?? null) : null;
  }

  @Authorized(Scope.CONTACT_INFO)
  @FieldResolver(() => Date, { nullable: true, description: '`spraak_oppdatert`.' })
  languageUpdatedAt(@Root() person: Person): Date | null {
    return isActive(person) ? (person.row?.languageUpdatedAt ?? null) : null;
  }

  @FieldResolver(() => Date, { nullable: true, description: 'When anything about the person last changed; null when not registered.' })
  updatedAt(@Root() person: Person): Date | null {
    return person.row?.updatedAt ?? null;
  }
}
