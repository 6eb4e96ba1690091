/**
 * Which Bedrock models the gateway may invoke, and the exact IAM resource ARNs that
 * follow from them. Pure: no constructs, so the ARN rules are tested on their own.
 */

/** A system-defined (cross-Region) inference profile and the Regions it routes to. */
export interface InferenceProfileAccess {
  /** Profile id, e.g. `us.anthropic.claude-sonnet-4-5-20250929-v1:0` (geo prefix + model id). */
  readonly id: string;
  /**
   * Every Region the profile can route a request to. Bedrock checks the caller's
   * permission on the foundation model in the destination Region, so each one is granted.
   */
  readonly regions: string[];
}

export interface BedrockModelAccess {
  /** Foundation model ids invoked directly in the stack's Region, e.g. `amazon.nova-lite-v1:0`. */
  readonly foundationModelIds?: string[];
  /** Cross-Region inference profiles (`us.`, `eu.`, `apac.`, `global.` …). */
  readonly inferenceProfiles?: InferenceProfileAccess[];
  /**
   * Full ARNs of application inference profiles. The model (or system profile) such a
   * profile copies must be listed too, since Bedrock also authorizes the call on it.
   */
  readonly applicationInferenceProfileArns?: string[];
}

/** Where the ARNs are built: the stack's partition, Region and account (tokens are fine). */
export interface ArnScope {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** The geo prefixes of system-defined inference profiles (`global` routes to any commercial Region). */
const PROFILE_GEO_PREFIXES = ['us-gov', 'global', 'apac', 'us', 'eu', 'ca', 'jp', 'au'] as const;

/** `us.anthropic.claude-…` → `anthropic.claude-…`; throws when the id has no geo prefix. */
export function modelIdOfInferenceProfile(profileId: string): { geo: string; modelId: string } {
  for (const geo of PROFILE_GEO_PREFIXES) {
    if (profileId.startsWith(`${geo}.`)) return { geo, modelId: profileId.slice(geo.length + 1) };
  }
  throw new Error(`inference profile id "${profileId}" has no geo prefix (${PROFILE_GEO_PREFIXES.join(', ')})`);
}

const APPLICATION_PROFILE_ARN = /^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:application-inference-profile\/[a-z0-9]+$/;

/**
 * The resource list of the `bedrock:InvokeModel*` statement, deduplicated and in a stable
 * order. Empty when no model is configured: the function then gets no Bedrock permission.
 */
export function bedrockInvokeResourceArns(access: BedrockModelAccess, scope: ArnScope): string[] {
  const arns: string[] = [];
  const foundationModel = (region: string, modelId: string) =>
    `arn:${scope.partition}:bedrock:${region}::foundation-model/${modelId}`;

  for (const modelId of access.foundationModelIds ?? []) arns.push(foundationModel(scope.region, modelId));

  for (const profile of access.inferenceProfiles ?? []) {
    const { geo, modelId } = modelIdOfInferenceProfile(profile.id);
    if (profile.regions.length === 0) throw new Error(`inference profile "${profile.id}" lists no routing Regions`);
    arns.push(`arn:${scope.partition}:bedrock:${scope.region}:${scope.account}:inference-profile/${profile.id}`);
    for (const region of profile.regions) arns.push(foundationModel(region, modelId));
    // Global profiles are also authorized against the Region-less foundation-model ARN.
    if (geo === 'global') arns.push(foundationModel('', modelId));
  }

  for (const arn of access.applicationInferenceProfileArns ?? []) {
    if (!APPLICATION_PROFILE_ARN.test(arn)) throw new Error(`not an application inference profile ARN: ${arn}`);
    arns.push(arn);
  }
  return [...new Set(arns)];
}
