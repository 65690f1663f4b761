// Writes schema/*.schema.json (for editors) and src/recipe/validators.generated.ts (the
// precompiled validators) from src/recipe/schema.ts, via the compiled dist/.
import { writeFileSync } from 'node:fs';
import { recipeSchema, projectSchema } from '../dist/recipe/schema.js';
import { generateValidatorsSource } from '../dist/recipe/generate-validators.js';

writeFileSync(new URL('../schema/recipe.schema.json', import.meta.url), JSON.stringify(recipeSchema, null, 2) + '\n');
writeFileSync(new URL('../schema/project.schema.json', import.meta.url), JSON.stringify(projectSchema, null, 2) + '\n');
writeFileSync(new URL('../src/recipe/validators.generated.ts', import.meta.url), generateValidatorsSource());
