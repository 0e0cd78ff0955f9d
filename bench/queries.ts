/** The operations the benchmark sends: the full selection of `LookUpPeople` (test/operations/lookup.graphql). */

const PERSON_FIELDS = `
    id
    status
    reservation { reserved reservedAt updatedAt }
    notificationStatus
    contactInfo {
      email { address updatedAt lastVerifiedAt lastValidatedAt duplicated usableForNotification }
      mobile { number updatedAt lastVerifiedAt lastValidatedAt duplicated usableForNotification }
    }
    digitalMailbox { address providerOrgNumber }
    certificate
    language
    languageUpdatedAt
    updatedAt`;

export const LOOKUP_PEOPLE = `query LookUpPeople($ids: [String!]!) {
  persons(ids: $ids) {${PERSON_FIELDS}
  }
}`;

export const LOOKUP_PERSON = `query LookUpPerson($id: String!) {
  person(id: $id) {${PERSON_FIELDS}
  }
}`;

export const CHANGES = `query Changes($after: Int!, $first: Int) {
  changes(after: $after, first: $first) {
    lastChangeNumber
    latestChangeNumber
    entries {
      changeNumber
      person {${PERSON_FIELDS}
      }
    }
  }
}`;

export const UPDATE_CONTACT_INFO = `mutation UpdateContactInfo($input: UpdateContactInfoInput!) {
  updateContactInfo(input: $input) {
    id
    status
    contactInfo { mobile { number updatedAt lastVerifiedAt } }
  }
}`;

export const lookupBody = (ids: readonly string[]) => JSON.stringify({ query: LOOKUP_PEOPLE, variables: { ids } });
export const personBody = (id: string) => JSON.stringify({ query: LOOKUP_PERSON, variables: { id } });
export const changesBody = (after: number, first = 1000) => JSON.stringify({ query: CHANGES, variables: { after, first } });
export const updateMobileBody = (mobile: string) => JSON.stringify({ query: UPDATE_CONTACT_INFO, variables: { input: { mobile } } });
