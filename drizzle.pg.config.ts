import { defineConfig } from 'drizzle-kit';

/**
 * The PostgreSQL store (KRR_DATABASE_URL=postgres://...). The SQLite store keeps
 * `drizzle.config.ts`; both histories are committed side by side. After a change to
 * `db/schema.pg.ts`: `npx drizzle-kit generate --config drizzle.pg.config.ts`.
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema.pg.ts',
  out: './db/migrations-pg',
});
