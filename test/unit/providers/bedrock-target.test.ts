import { describe, expect, it } from 'vitest';
import { buildProxy } from '../../../bin/commands/proxies.js';
import { bedrockTarget, regionalBaseUrl } from '../../../functions/providers/bedrock/transport.js';

const at = new Date('2026-01-01T00:00:00Z');

describe('Bedrock Region per proxy', () => {
  it('the Region comes from the endpoint host (regional, FIPS, VPC endpoint), else the function’s', () => {
    expect(bedrockTarget('https://bedrock-runtime.eu-west-3.amazonaws.com', 'us-east-1')).toEqual({ region: 'eu-west-3', endpoint: undefined });
    expect(bedrockTarget('https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com', 'us-east-1')).toEqual({ region: 'us-gov-west-1', endpoint: 'https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com' });
    expect(bedrockTarget('https://vpce-0abc-xyz.bedrock-runtime.ap-southeast-2.vpce.amazonaws.com', 'us-east-1').region).toBe('ap-southeast-2');
    expect(bedrockTarget('http://127.0.0.1:9000/', 'eu-central-1')).toEqual({ region: 'eu-central-1', endpoint: 'http://127.0.0.1:9000' });
  });

  it('the Region-less host stands for the function’s Region', () => {
    expect(regionalBaseUrl('https://bedrock-runtime.amazonaws.com', 'sa-east-1')).toBe('https://bedrock-runtime.sa-east-1.amazonaws.com');
    expect(regionalBaseUrl('https://bedrock-runtime.eu-west-1.amazonaws.com', 'sa-east-1')).toBe('https://bedrock-runtime.eu-west-1.amazonaws.com');
  });

  it('sluice proxies create --provider bedrock [--bedrock-region r]', () => {
    expect(buildProxy('b1', { provider: 'bedrock', 'bedrock-region': 'eu-west-1' }, at).baseUrl).toBe('https://bedrock-runtime.eu-west-1.amazonaws.com');
    expect(buildProxy('b2', { provider: 'bedrock' }, at).baseUrl).toBe('https://bedrock-runtime.amazonaws.com');
    expect(() => buildProxy('b3', { provider: 'openai', 'bedrock-region': 'eu-west-1' }, at)).toThrow(/--bedrock-region/);
    expect(() => buildProxy('b4', { provider: 'bedrock', 'bedrock-region': 'moon' }, at)).toThrow(/invalid --bedrock-region/);
  });
});
