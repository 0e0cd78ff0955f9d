import { Directive, Field, ObjectType, registerEnumType } from 'type-graphql';
import type { PersonEntry } from '../../loaders';
import type { DigitalPostRow, PersonRow } from '../../store/types';
import { PERSON_FIELD_RULES } from '../../auth/scopes';
import { duplicateFlagForOwner, isChannelUsable, notificationStatus } from '../../domain/contact-rules';
import type { ContactPointWithDuplicate } from '../../store/types';
import { guardFields } from '../field-rules';
import type { Context } from '../context';

export enum PersonStatus {
  ACTIVE = 'ACTIVE',
  DELETED = 'DELETED',
  NOT_REGISTERED = 'NOT_REGISTERED',
}
registerEnumType(PersonStatus, {
  name: 'PersonStatus',
  description: 'Registration status (`status`).',
  valuesConfig: {
    ACTIVE: { description: '`AKTIV`: registered and active.' },
    DELETED: { description: '`SLETTET`: deleted from the register. Contact information, mailbox and certificate are never returned.' },
    NOT_REGISTERED: { description: '`IKKE_REGISTRERT`: never registered. Nothing is known.' },
  },
});

export enum NotificationStatus {
  CAN_BE_NOTIFIED = 'CAN_BE_NOTIFIED',
  CANNOT_BE_NOTIFIED = 'CANNOT_BE_NOTIFIED',
}
registerEnumType(NotificationStatus, {
  name: 'NotificationStatus',
  description: '`varslingsstatus`: whether the person may be notified that an important letter has been sent digitally.',
  valuesConfig: {
    CAN_BE_NOTIFIED: { description: '`KAN_VARSLES`: active, not reserved, and at least one channel usable under the 18-month rule.' },
    CANNOT_BE_NOTIFIED: { description: '`KAN_IKKE_VARSLES`: send on paper. A person with no usable contact information is in practice reserved.' },
  },
});

export enum Language {
  NB = 'nb',
  NN = 'nn',
  EN = 'en',
  SE = 'se',
}
registerEnumType(Language, {
  name: 'Language',
  description: '`spraak`: the language the person prefers.',
  valuesConfig: {
    NB: { description: '`nb`: Norwegian Bokmål.' },
    NN: { description: '`nn`: Norwegian Nynorsk.' },
    EN: { description: '`en`: English.' },
    SE: { description: '`se`: Northern Sami.' },
  },
});

@ObjectType({ simpleResolvers: true, description: 'Reservation against digital communication of important letters (`reservasjon`).' })
export class Reservation {
  @Field({ description: '`reservasjon` (`JA`/`NEI`): the person has reserved; important letters go on paper.' })
  reserved!: boolean;

  @Field(() => Date, { nullable: true, description: '`reservasjonstidspunkt`: when the current reservation was made.' })
  reservedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: '`reservasjon_oppdatert`: when the reservation was last set either way.' })
  updatedAt!: Date | null;
}

/** Fields both channels share. Not emitted as a type of its own: no resolver returns it. */
@ObjectType({ simpleResolvers: true })
abstract class ContactChannel {
  @Field(() => Date, { description: '`_oppdatert`: when the citizen last changed it.' })
  updatedAt!: Date;

  @Field(() => Date, { nullable: true, description: '`_sist_verifisert`: when the citizen last confirmed it is still right.' })
  lastVerifiedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: '`_sist_validert`: when it was last proven with a one-time code.' })
  lastValidatedAt!: Date | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      '`_duplisert` (`JA`/`NEI`): another active person has the same address. Always given to agencies. On your own record (`me`, your mutations) null until the address is proven with a code (`lastValidatedAt`): the flag would otherwise tell anyone who types in an address whether someone else uses it.',
  })
  duplicated!: boolean | null;

  @Field({
    description:
      'The 18-month rule: updated or confirmed within the last 18 months. Stale addresses are still returned (for service messages) but must not be used for notification.',
  })
  usableForNotification!: boolean;
}

@ObjectType({ simpleResolvers: true, description: 'Email address (`kontaktinformasjon.epostadresse`).' })
export class EmailContact extends ContactChannel {
  @Field({ description: '`epostadresse`, as the citizen gave it.' })
  address!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Mobile number (`kontaktinformasjon.mobiltelefonnummer`).' })
export class MobileContact extends ContactChannel {
  @Field({ description: '`mobiltelefonnummer`, in E.164 (`+4799999999`).' })
  number!: string;
}

@ObjectType({ simpleResolvers: true, description: 'Contact information (`kontaktinformasjon`).' })
export class ContactInfo {
  @Field(() => EmailContact, { nullable: true })
  email!: EmailContact | null;

  @Field(() => MobileContact, { nullable: true })
  mobile!: MobileContact | null;
}

@ObjectType({ simpleResolvers: true, description: 'Digital mailbox for secure digital post (`digital_post`).' })
export class DigitalMailbox {
  @Field({ description: '`postkasseadresse`, e.g. `ola.nordmann#9YDT`.' })
  address!: string;

  @Field({ description: '`postkasseleverandoeradresse`: the mailbox provider\u2019s 9-digit organisation number.' })
  providerOrgNumber!: string;
}

type MaybePromise<T> = T | Promise<T>;

function channel<T extends EmailContact | MobileContact>(
  point: ContactPointWithDuplicate | undefined,
  now: Date,
  addressField: 'address' | 'number',
  ownRecord: boolean,
): T | null {
  if (!point) return null;
  const duplicated = ownRecord ? duplicateFlagForOwner(point) : point.duplicated;
  const usableForNotification = isChannelUsable(point, now);
  const { updatedAt, lastVerifiedAt, lastValidatedAt } = point;
  // Two literals, not one with a computed key: V8 gives those a fixed shape (thousands a lookup).
  return (
    addressField === 'address'
      ? { address: point.address, updatedAt, lastVerifiedAt, lastValidatedAt, duplicated, usableForNotification }
      : { number: point.address, updatedAt, lastVerifiedAt, lastValidatedAt, duplicated, usableForNotification }
  ) as unknown as T;
}

/**
 * A person as the API shows it, for one request. Its fields are plain getters run by
 * GraphQL's default resolver (`simple`: no type-graphql middleware, no promise per field):
 * a lookup of 1000 people resolves some 25 000 fields, and this keeps each one a property
 * read. The field-level rules:
 *
 * - scope: declared once in `PERSON_FIELD_RULES` (src/auth/scopes.ts), which `guardFields`
 *   turns into a check at the top of each guarded getter: FORBIDDEN without the scope (the
 *   rest of the answer stays), and an agency's answer recorded as released for this person
 *   (the lookup audit log). A getter here never checks a scope itself;
 * - status: only an active person shows contact info, mailbox, certificate and language,
 *   decided in each getter.
 *
 * Data loaded up front (see `loadPeople`) is used as is; anything else is read through the
 * request's DataLoaders, so every path still batches.
 */
@guardFields(PERSON_FIELD_RULES)
@Directive('@key(fields: "id")')
@ObjectType({
  description:
    'A person in the register. Identifier, status and reservation are always visible; contact fields need `krr:global/kontaktinformasjon.read`, mailbox and certificate `krr:global/digitalpost.read`.',
})
export class Person {
  @Field({ simple: true, description: '`personidentifikator`: 11-digit national identity number.' })
  readonly id: string;

  /** The stored row; `null` when the person is not registered. Not a GraphQL field. */
  readonly row: PersonRow | null;

  constructor(
    id: string,
    private readonly data: PersonEntry,
    /** Read by the guards of `guardFields` too. */
    private readonly ctx: Context,
  ) {
    this.id = id;
    this.row = data.row;
  }

  private get active(): boolean {
    return this.row?.status === 'ACTIVE';
  }

  private contactPoints(): MaybePromise<ContactPointWithDuplicate[]> {
    return this.data.contactPoints ?? this.ctx.loaders.contactPoints.load(this.id);
  }

  private digitalPostRow(): MaybePromise<DigitalPostRow | null> {
    return this.data.digitalPost !== undefined ? this.data.digitalPost : this.ctx.loaders.digitalPost.load(this.id);
  }

  @Field(() => PersonStatus, { simple: true, description: '`status`: `AKTIV`, `SLETTET` or `IKKE_REGISTRERT`.' })
  get status(): PersonStatus {
    return (this.row?.status as PersonStatus | undefined) ?? PersonStatus.NOT_REGISTERED;
  }

  @Field(() => Reservation, {
    simple: true,
    nullable: true,
    description: 'Reservation, whatever the scope; also for a deleted person (as last recorded). Null when not registered.',
  })
  get reservation(): Reservation | null {
    const row = this.row;
    return row ? { reserved: row.reserved, reservedAt: row.reservedAt, updatedAt: row.reservationUpdatedAt } : null;
  }

  @Field(() => NotificationStatus, { simple: true, nullable: true, description: '`varslingsstatus`. Needs `krr:global/kontaktinformasjon.read`.' })
  get notificationStatus(): MaybePromise<NotificationStatus> {
    const row = this.row;
    if (!row || row.status !== 'ACTIVE') return NotificationStatus.CANNOT_BE_NOTIFIED;
    const status = (channels: ContactPointWithDuplicate[]) =>
      notificationStatus({ status: 'ACTIVE', reserved: row.reserved, channels }, this.ctx.now) as NotificationStatus;
    const points = this.contactPoints();
    return Array.isArray(points) ? status(points) : points.then(status);
  }

  @Field(() => ContactInfo, {
    simple: true,
    nullable: true,
    description: '`kontaktinformasjon`; null unless the person is active. Needs `krr:global/kontaktinformasjon.read`.',
  })
  get contactInfo(): MaybePromise<ContactInfo | null> {
    if (!this.active) return null;
    const now = this.ctx.now;
    // A citizen reaches only their own record (see authChecker).
    const own = this.ctx.viewer.kind === 'citizen';
    const build = (points: ContactPointWithDuplicate[]): ContactInfo => ({
      email: channel<EmailContact>(points.find((p) => p.channel === 'EMAIL'), now, 'address', own),
      mobile: channel<MobileContact>(points.find((p) => p.channel === 'MOBILE'), now, 'number', own),
    });
    const points = this.contactPoints();
    return Array.isArray(points) ? build(points) : points.then(build);
  }

  @Field(() => DigitalMailbox, {
    simple: true,
    nullable: true,
    description: '`digital_post`; null unless the person is active and has one. Needs `krr:global/digitalpost.read`.',
  })
  get digitalMailbox(): MaybePromise<DigitalMailbox | null> {
    if (!this.active) return null;
    const build = (post: DigitalPostRow | null) => (post ? { address: post.mailboxAddress, providerOrgNumber: post.providerOrgNumber } : null);
    const post = this.digitalPostRow();
    return post instanceof Promise ? post.then(build) : build(post);
  }

  @Field(() => String, {
    simple: true,
    nullable: true,
    description: '`sertifikat`: base64 X.509 certificate; null unless the person is active and has one. Needs `krr:global/digitalpost.read`.',
  })
  get certificate(): MaybePromise<string | null> {
    if (!this.active) return null;
    const post = this.digitalPostRow();
    return post instanceof Promise ? post.then((p) => p?.certificate ?? null) : (post?.certificate ?? null);
  }

  @Field(() => Language, {
    simple: true,
    nullable: true,
    description: '`spraak`; null unless the person is active and has chosen one. Needs `krr:global/kontaktinformasjon.read`.',
  })
  get language(): Language | null {
    return this.active ? ((this.row?.language as Language | null) ?? null) : null;
  }

  @Field(() => Date, { simple: true, nullable: true, description: '`spraak_oppdatert`. Needs `krr:global/kontaktinformasjon.read`.' })
  get languageUpdatedAt(): Date | null {
    return this.active ? (this.row?.languageUpdatedAt ?? null) : null;
  }

  @Field(() => Date, {
    simple: true,
    nullable: true,
    description: 'When anything about the person last changed; null when not registered. Needs `krr:global/kontaktinformasjon.read`: it tells when contact details changed.',
  })
  get updatedAt(): Date | null {
    return this.row?.updatedAt ?? null;
  }
}
