import { InvalidArgumentError } from '@parley/errors';

/**
 * The variables a canned response may name, as `{{customer.name}}`, with a
 * fallback for when the value is not known: `{{customer.first_name | "there"}}`.
 */
export const TEMPLATE_VARIABLES = ['customer.name', 'customer.first_name', 'customer.email', 'customer.tier', 'agent.id', 'order.id', 'order.status'] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Partial<Record<TemplateVariable, string>>;

const PLACEHOLDER = /\{\{\s*([a-z_]+\.[a-z_]+)\s*(?:\|\s*"([^"{}]{0,100})"\s*)?\}\}/g;
const KNOWN = new Set<string>(TEMPLATE_VARIABLES);

/** The variables a text names that Parley does not know, e.g. a misspelt `customer.nmae`. */
export function unknownVariables(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!).filter((name) => !KNOWN.has(name));
}

/** Refuses a text naming an unknown variable, or a `{{` that is not a variable: an agent would send it as it is. */
export function checkTemplate(text: string, field = 'text'): void {
  const unknown = unknownVariables(text);
  if (unknown.length > 0)
    throw new InvalidArgumentError('invalid canned response', [
      { field, description: `unknown variable ${unknown.map((u) => `{{${u}}}`).join(', ')}; known: ${TEMPLATE_VARIABLES.join(', ')}` },
    ]);
  if (text.replace(PLACEHOLDER, '').includes('{{'))
    throw new InvalidArgumentError('invalid canned response', [
      { field, description: 'write variables as {{customer.name}} or {{customer.name | "fallback"}}' },
    ]);
}

/** The text with each variable filled in: its value, else its fallback, else nothing. */
export function render(text: string, values: TemplateValues): string {
  return text.replace(PLACEHOLDER, (_all, name: string, fallback: string | undefined) => {
    const value = values[name as TemplateVariable];
    return value !== undefined && value !== '' ? value : (fallback ?? '');
  });
}

/** The first word of a name, for a greeting. */
export const firstNameOf = (name: string | undefined) => name?.trim().split(/\s+/)[0];
