/** Who is asking: decided once per request from the verified token, never from arguments. */
export type Viewer =
  | { kind: 'anonymous' }
  | {
      kind: 'agency';
      /** The organisation number from `consumer.ID` (`0192:<orgnr>`). */
      orgNumber: string;
      /**
       * Delegation: the vendor calling on the agency's behalf (`supplier.ID`), or absent.
       * The agency stays the party looked up for: rate limits and the audit key are its.
       */
      supplierOrgNumber?: string;
      scopes: ReadonlySet<string>;
    }
  | {
      kind: 'citizen';
      /** The citizen's own identity number, from the ID-porten `pid` claim. */
      pid: string;
      /**
       * The token's `krr:user/...` scopes, or null when it has none: then the citizen may
       * read and change all of their own entry (the register's own self-service login).
       */
      userScopes: ReadonlySet<string> | null;
    };

export type AgencyViewer = Extract<Viewer, { kind: 'agency' }>;
export type CitizenViewer = Extract<Viewer, { kind: 'citizen' }>;

export const ANONYMOUS: Viewer = Object.freeze({ kind: 'anonymous' });
