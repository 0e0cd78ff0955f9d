/** Who is asking: decided once per request from the verified token, never from arguments. */
export type Viewer =
  | { kind: 'anonymous' }
  | {
      kind: 'agency';
      /** The organisation number from `consumer.ID` (`0192:<orgnr>`). */
      orgNumber: string;
      scopes: ReadonlySet<string>;
    }
  | {
      kind: 'citizen';
      /** The citizen's own identity number, from the ID-porten `pid` claim. */
      pid: string;
    };

export type AgencyViewer = Extract<Viewer, { kind: 'agency' }>;
export type CitizenViewer = Extract<Viewer, { kind: 'citizen' }>;

export const ANONYMOUS: Viewer = Object.freeze({ kind: 'anonymous' });
