/**
 * The AWS SDK pieces the gateway uses, imported by name so the bundler keeps only these
 * (a namespace import of the client package would keep every command). Loaded on demand
 * by transport.ts: only proxies that use Bedrock evaluate it.
 */
export {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
