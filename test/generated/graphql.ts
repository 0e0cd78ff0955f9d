/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
/** `spraak`: the language the person prefers. */
export type Language =
  /** `en`: English. */
  | 'EN'
  /** `nb`: Norwegian Bokmål. */
  | 'NB'
  /** `nn`: Norwegian Nynorsk. */
  | 'NN'
  /** `se`: Northern Sami. */
  | 'SE';

/** `varslingsstatus`: whether the person may be notified that an important letter has been sent digitally. */
export type NotificationStatus =
  /** `KAN_IKKE_VARSLES`: send on paper. A person with no usable contact information is in practice reserved. */
  | 'CANNOT_BE_NOTIFIED'
  /** `KAN_VARSLES`: active, not reserved, and at least one channel usable under the 18-month rule. */
  | 'CAN_BE_NOTIFIED';

/** Registration status (`status`). */
export type PersonStatus =
  /** `AKTIV`: registered and active. */
  | 'ACTIVE'
  /** `SLETTET`: deleted from the register. Contact information, mailbox and certificate are never returned. */
  | 'DELETED'
  /** `IKKE_REGISTRERT`: never registered. Nothing is known. */
  | 'NOT_REGISTERED';

export type LookUpPeopleQueryVariables = Exact<{
  ids: Array<string> | string;
}>;


export type LookUpPeopleQuery = { persons: Array<{ id: string, status: PersonStatus, notificationStatus: NotificationStatus | null, certificate: string | null, language: Language | null, languageUpdatedAt: string | null, updatedAt: string | null, reservation: { reserved: boolean, reservedAt: string | null, updatedAt: string | null } | null, contactInfo: { email: { address: string, updatedAt: string, lastVerifiedAt: string | null, lastValidatedAt: string | null, duplicated: boolean, usableForNotification: boolean } | null, mobile: { number: string, updatedAt: string, lastVerifiedAt: string | null, lastValidatedAt: string | null, duplicated: boolean, usableForNotification: boolean } | null } | null, digitalMailbox: { address: string, providerOrgNumber: string } | null }> };

export type LookUpPersonQueryVariables = Exact<{
  id: string;
}>;


export type LookUpPersonQuery = { person: { id: string, status: PersonStatus, notificationStatus: NotificationStatus | null, reservation: { reserved: boolean } | null, contactInfo: { email: { address: string, usableForNotification: boolean } | null, mobile: { number: string, usableForNotification: boolean } | null } | null } | null };

export type ReservationOnlyQueryVariables = Exact<{
  ids: Array<string> | string;
}>;


export type ReservationOnlyQuery = { persons: Array<{ id: string, status: PersonStatus, reservation: { reserved: boolean } | null }> };


export const LookUpPeopleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"LookUpPeople"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"ids"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"persons"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"ids"},"value":{"kind":"Variable","name":{"kind":"Name","value":"ids"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reservation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reserved"}},{"kind":"Field","name":{"kind":"Name","value":"reservedAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"notificationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"contactInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"email"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"address"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastVerifiedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastValidatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"duplicated"}},{"kind":"Field","name":{"kind":"Name","value":"usableForNotification"}}]}},{"kind":"Field","name":{"kind":"Name","value":"mobile"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"number"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastVerifiedAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastValidatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"duplicated"}},{"kind":"Field","name":{"kind":"Name","value":"usableForNotification"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"digitalMailbox"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"address"}},{"kind":"Field","name":{"kind":"Name","value":"providerOrgNumber"}}]}},{"kind":"Field","name":{"kind":"Name","value":"certificate"}},{"kind":"Field","name":{"kind":"Name","value":"language"}},{"kind":"Field","name":{"kind":"Name","value":"languageUpdatedAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}}]} as unknown as DocumentNode<LookUpPeopleQuery, LookUpPeopleQueryVariables>;
export const LookUpPersonDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"LookUpPerson"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"person"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reservation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reserved"}}]}},{"kind":"Field","name":{"kind":"Name","value":"notificationStatus"}},{"kind":"Field","name":{"kind":"Name","value":"contactInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"email"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"address"}},{"kind":"Field","name":{"kind":"Name","value":"usableForNotification"}}]}},{"kind":"Field","name":{"kind":"Name","value":"mobile"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"number"}},{"kind":"Field","name":{"kind":"Name","value":"usableForNotification"}}]}}]}}]}}]}}]} as unknown as DocumentNode<LookUpPersonQuery, LookUpPersonQueryVariables>;
export const ReservationOnlyDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ReservationOnly"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"ids"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"persons"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"ids"},"value":{"kind":"Variable","name":{"kind":"Name","value":"ids"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"reservation"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reserved"}}]}}]}}]}}]} as unknown as DocumentNode<ReservationOnlyQuery, ReservationOnlyQueryVariables>;