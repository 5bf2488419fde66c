// PostgreSQL outputs on the command line: a postgresql:// URL (from --into or a saved query), or a
// connection name the editor's settings define, looked up here in ZDX_DATABASE_URL_<NAME>. The
// password never comes from argv: PGPASSWORD, else ~/.pgpass (read by the driver).
import { isPostgresUrl, postgresUrlProblem } from '../engine/query';
import type { PostgresResolver } from '../engine/tables';
import type { Env } from './io';
import { UsageError } from './exitCodes';

/** `warehouse-eu` → ZDX_DATABASE_URL_WAREHOUSE_EU */
export function databaseEnvName(name: string): string {
  return `ZDX_DATABASE_URL_${name.trim().toUpperCase().replace(/[^A-Z0-9]+/g, '_')}`;
}

export function cliPostgresResolver(env: Env): PostgresResolver {
  return async (connection) => {
    let url = connection;
    if (!isPostgresUrl(connection)) {
      const variable = databaseEnvName(connection);
      const value = env[variable]?.trim();
      if (!value) throw new UsageError(`The database connection "${connection}" is defined in the editor's settings; on the command line set ${variable} to its postgresql:// URL (without the password), or pass --into postgres:URL.`);
      url = value;
    }
    const problem = postgresUrlProblem(url);
    if (problem) throw new UsageError(`The PostgreSQL URL ${problem}.`);
    const password = env.PGPASSWORD;
    return password ? { url, password } : { url };
  };
}
