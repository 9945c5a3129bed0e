/**
 * The registry as Markdown: docs/techniques.md holds these between markers, and a test
 * (tests/unit/shared/engine/techniques/docs.test.ts) fails, printing what to paste, when they differ.
 */
import { knobCli } from './cli';
import { CIDL_BUDGET, everyKnob, type KnobSpec } from './knobs';
import { TECHNIQUE_RULES } from './validate';

function kindText(spec: KnobSpec): string {
  switch (spec.kind) {
    case 'int':
      return `integer ${spec.min}..${spec.max}`;
    case 'number':
      return `number ≥ ${spec.min}`;
    case 'enum':
      return Object.keys(spec.values)
        .map((v) => `\`${v}\``)
        .join(' \\| ');
    case 'boolean':
      return 'true \\| false';
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The knobs table: one row per knob (wire field, kind and bounds, default, CLI, what it does). */
export function techniquesTable(): string {
  const rows: string[][] = [];
  const add = (field: string, spec: KnobSpec, cli: string): void => {
    const origin = spec.origin === undefined ? '' : ` (${spec.origin})`;
    rows.push([
      `\`${field}\``,
      kindText(spec),
      `\`${String(spec.default)}\`${cell(origin)}`,
      `\`${cli}\``,
      cell(spec.help),
    ]);
  };
  let budgetShown = false;
  for (const entry of everyKnob()) {
    if (entry.technique === 'cidl' && !budgetShown) {
      budgetShown = true;
      rows.push([
        '`cidl.budget`',
        cell(CIDL_BUDGET.grammar),
        `\`${CIDL_BUDGET.defaultText}\``,
        `\`${CIDL_BUDGET.cli}\``,
        cell(CIDL_BUDGET.help),
      ]);
    }
    add(entry.path, entry.spec, knobCli(entry));
  }
  const head = ['field', 'kind', 'default', 'CLI', 'what it does'];
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

/** The cross-field rules as a Markdown list. */
export function techniqueRulesList(): string {
  return TECHNIQUE_RULES.map((r) => `- \`${r.field}\`: ${r.rule}`).join('\n');
}
