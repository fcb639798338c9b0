import { defineConfig } from 'drizzle-kit';

// Generation only reads the schema; migrations are applied in code (src/db/migrate.ts), because
// drizzle-kit's own PGlite migrate fails silently when an extension is needed.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
