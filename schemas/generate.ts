// Writes schemas/zdquery.schema.json from the catalogue: node --import tsx schemas/generate.ts
import * as path from 'node:path';
import { writeQuerySchema } from '../src/engine/querySchema';

writeQuerySchema(path.resolve(__dirname, '..'));
