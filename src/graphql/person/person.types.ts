import { Directive, Field, ObjectType, registerEnumType } from 'type-graphql';
import type { PersonRow } from '../../../db/schema';

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

  @Field({ description: '`_duplisert` (`JA`/`NEI`): another person has the same address.' })
  duplicated!: boolean;

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

/**
 * A person as the API shows it. Only the id and the stored row travel between resolvers;
 * every other field is resolved (and authorised) on its own in `PersonResolver`.
 */
@Directive('@key(fields: "id")')
@ObjectType({
  description:
    'A person in the register. Identifier, status and reservation are always visible; contact fields need `krr:global/kontaktinformasjon.read`, mailbox and certificate `krr:global/digitalpost.read`.',
})
export class Person {
  @Field({ description: '`personidentifikator`: 11-digit national identity number.' })
  id!: string;

  /** The stored row; `null` when the person is not registered. Not a GraphQL field. */
  row!: PersonRow | null;
}
