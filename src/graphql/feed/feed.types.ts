import { Field, Int, ObjectType } from 'type-graphql';
import { Person } from '../person/person.types';

@ObjectType({ description: 'One person in a page of the change feed (an element of `list` in `hentEndringer`).' })
export class ChangeEntry {
  @Field(() => Int, { description: 'The number of the person\u2019s latest change when the page was read. Pages are ordered by it.' })
  changeNumber!: number;

  /** Null only when the operation does not select it (then nobody is loaded or recorded: `ChangeFeedResolver`). */
  @Field(() => Person, { description: 'The person in their current state, with the same fields and scope rules as `persons`.' })
  person!: Person | null;
}

@ObjectType({
  simpleResolvers: true,
  description:
    'A page of the change feed. Page on with `after: lastChangeNumber` until `lastChangeNumber` equals `latestChangeNumber` or the page is empty; keep `lastChangeNumber` as your position for the next sync.',
})
export class ChangePage {
  @Field(() => [ChangeEntry], { description: 'People whose latest change is after `fromChangeNumber`, oldest change first, at most `first`.' })
  entries!: ChangeEntry[];

  @Field(() => Int, { description: 'The `after` asked for. (The register\u2019s `fraEndringsId` counts inclusively: it is `after + 1`.)' })
  fromChangeNumber!: number;

  @Field(() => Int, { nullable: true, description: 'The change number of the first entry; null when the page is empty.' })
  firstChangeNumber!: number | null;

  @Field(() => Int, { nullable: true, description: '`tilEndringsId`: the change number of the last entry; null when the page is empty.' })
  lastChangeNumber!: number | null;

  @Field(() => Int, { description: '`sisteEndringsId`: the newest change number in the register, read in the same snapshot as the page (0 when there is none).' })
  latestChangeNumber!: number;
}
