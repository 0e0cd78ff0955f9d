import { unauthenticated } from '../errors';
import { TokenError, type TokenVerifier } from './tokens';
import { ANONYMOUS, type Viewer } from './viewer';

/**
 * The viewer for a request's `Authorization` header. No header: anonymous (introspection
 * and GraphiQL work; every data field then answers UNAUTHENTICATED). A header that is
 * not a valid bearer token refuses the whole request with UNAUTHENTICATED (HTTP 401).
 */
export async function authenticate(header: string | undefined, verifier: TokenVerifier): Promise<Viewer> {
  if (header === undefined || header.trim() === '') return ANONYMOUS;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw unauthenticated('The Authorization header must be "Bearer <token>"');
  try {
    return await verifier.verify(match[1]);
  } catch (error) {
    if (error instanceof TokenError) throw unauthenticated(`Invalid token: ${error.message}`);
    throw error;
  }
}
