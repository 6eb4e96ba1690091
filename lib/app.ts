import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext } from './config.js';
import { SluiceStack } from './sluice-stack.js';

/**
 * Adds the Sluice stack to `app` from its context (cdk.json / `-c`), with the cdk-nag
 * AwsSolutions checks registered as a synth-time validation plugin (cdk-nag 3).
 */
export function addSluiceStack(app: App): SluiceStack {
  const config = configFromContext((key) => app.node.tryGetContext(key));
  const stack = new SluiceStack(app, config.stackName, {
    ...config.stackProps,
    description: 'Sluice: governed OpenAI-compatible LLM gateway (Lambda Function URL, streaming)',
  });
  if (config.nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
