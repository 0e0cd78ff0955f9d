import { Field, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

export enum ContactChannel {
  EMAIL = 'EMAIL',
  MOBILE = 'MOBILE',
}
registerEnumType(ContactChannel, { name: 'ContactChannel', description: 'A contact channel: email address or mobile number.' });

@InputType({ description: 'Set or change one or both channels. A channel left out (or null) is not changed.' })
export class UpdateContactInfoInput {
  @Field(() => String, { nullable: true, description: 'Email address (at most 254 characters). Stored as given; a code is sent to it.' })
  email?: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'Norwegian mobile number: 8 digits starting with 4 or 9, optionally prefixed +47 or 0047. Stored in E.164; a code is sent to it.',
  })
  mobile?: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'One agency lookup of the person: the citizen\u2019s right of access to who has looked them up.' })
export class Lookup {
  @Field({ description: 'The organisation number of the agency that looked the person up.' })
  agencyOrgNumber!: string;

  @Field(() => String, {
    nullable: true,
    description: 'Delegation: the organisation number of the vendor (supplier) that made the lookup on the agency\u2019s behalf; null when the agency asked itself.',
  })
  supplierOrgNumber!: string | null;

  @Field(() => Date)
  lookedUpAt!: Date;

  @Field(() => [String], { description: 'The scopes the lookup used: which kinds of information the agency saw.' })
  scopes!: string[];
}

@ObjectType({ simpleResolvers: true })
export class LookupEdge {
  @Field()
  cursor!: string;

  @Field(() => Lookup)
  node!: Lookup;
}

@ObjectType({ simpleResolvers: true })
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType({ simpleResolvers: true, description: 'Lookups, newest first.' })
export class LookupConnection {
  @Field(() => [LookupEdge])
  edges!: LookupEdge[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;

  @Field(() => Int)
  totalCount!: number;
}
