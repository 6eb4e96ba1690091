import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addSluiceStack } from '../../lib/app.js';
import type { SluiceStack } from '../../lib/sluice-stack.js';

/** The context of cdk.json, so the tests synthesize what `cdk synth` would. */
export const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
}).context;

export interface Synthesized {
  stack: SluiceStack;
  template: Template;
  /** cdk-nag error/warning text; empty when validation passed. */
  validationError: string | undefined;
}

/**
 * Builds the app as bin/app.ts does, with bundling skipped (no esbuild run) so each
 * synthesis takes a second, and runs the validation plugins (cdk-nag) by synthesizing.
 */
export function synthesizeApp(context: Record<string, unknown> = {}): Synthesized {
  const build = (extra: Record<string, unknown>) => {
    const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context, ...extra } });
    return { app, stack: addSluiceStack(app) };
  };
  const { app, stack } = build({});
  try {
    const assembly = app.synth();
    return { stack, template: Template.fromJSON(assembly.getStackByName(stack.stackName).template), validationError: undefined };
  } catch (err) {
    // A failed validation leaves no template: take it from the same app without cdk-nag.
    const unchecked = build({ 'sluice:nag': false });
    return { stack: unchecked.stack, template: Template.fromStack(unchecked.stack), validationError: (err as Error).message };
  }
}

/**
 * Renders a CloudFormation value as text so IAM resources compare as strings:
 * `{Ref: X}` → `${X}`, `{Fn::GetAtt: [X, Y]}` → `${X.Y}`, `Fn::Join` concatenated.
 */
export function renderCfn(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renderCfn);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  if ('Ref' in o) return `\${${String(o.Ref)}}`;
  if ('Fn::GetAtt' in o) return `\${${(o['Fn::GetAtt'] as string[]).join('.')}}`;
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(renderCfn(p))).join(sep);
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, renderCfn(v)]));
}

/** Resources of one type, as `[logicalId, properties]`. */
export function resourcesOfType(template: Template, type: string): [string, Record<string, unknown>][] {
  const resources = (template.toJSON() as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> })
    .Resources;
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}
