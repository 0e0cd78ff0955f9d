import path from 'node:path';

/** A throwaway answer-signing key (ES256 JWK) for production configurations in tests. */
export const TEST_SIGNING_KEY_FILE = path.join(__dirname, '..', 'fixtures', 'keys', 'answer-signing.jwk.json');
