import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A small subgraph of the kind an agency runs beside the register: its own letters, each
 * pointing at a `Person` of the register by id. It knows nothing else about people.
 */
export const LETTERS_SDL = readFileSync(path.join(__dirname, 'letters.graphql'), 'utf8');

export interface RunningSubgraph {
  url: string;
  /** Authorization headers the subgraph received, newest last. */
  authorizations: (string | undefined)[];
  /** From now on `letters` answers only once `release` is called (a source that hangs). */
  hold(): { release(): void };
  stop(): Promise<void>;
}

/** `port`: 0 picks a free one; a given one starts the source again where it was. */
export async function startLettersSubgraph(recipients: readonly string[], port = 0): Promise<RunningSubgraph> {
  const letters = recipients.map((id, i) => ({ id: String(i + 1), title: `Decision ${i + 1}`, recipient: { __typename: 'Person', id } }));
  const authorizations: (string | undefined)[] = [];
  let held: Promise<void> | null = null;
  const server = new ApolloServer<{ authorization?: string }>({
    plugins: [ApolloServerPluginInlineTraceDisabled()],
    schema: buildSubgraphSchema({
      typeDefs: parse(LETTERS_SDL),
      resolvers: {
        Query: {
          letters: async () => {
            await held;
            return letters;
          },
        },
      },
    }),
  });
  const { url } = await startStandaloneServer(server, {
    listen: { port, host: '127.0.0.1' },
    context: async ({ req }) => {
      authorizations.push(req.headers.authorization);
      return { authorization: req.headers.authorization };
    },
  });
  const hold = () => {
    let release!: () => void;
    held = new Promise<void>((resolve) => (release = resolve));
    return {
      release: () => {
        held = null;
        release();
      },
    };
  };
  return { url, authorizations, hold, stop: () => server.stop() };
}
