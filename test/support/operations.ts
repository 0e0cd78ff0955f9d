/**
 * Sending the typed documents of test/operations/*.graphql (generated into
 * test/generated/graphql.ts) over HTTP, as a client would: the document printed as the
 * request's `query`, its variables beside it.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';

type AnyDocument = TypedDocumentNode<any, any>;

const printed = new WeakMap<AnyDocument, string>();

/** The text of a typed document, as a client sends it in `query` (printed once). */
export function documentText(document: AnyDocument): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

/** A GraphQL request body (before JSON): the typed document's text and its variables. */
export function requestBody<TData, TVars>(document: TypedDocumentNode<TData, TVars>, variables?: TVars): { query: string; variables?: TVars } {
  return variables === undefined ? { query: documentText(document) } : { query: documentText(document), variables };
}
