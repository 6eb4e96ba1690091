import { Validations } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REQUIRE_BANNER } from './split-bundle.js';

/** Repository root (lib/ is one level below it). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What every Sluice function sets the same way, so callers cannot. */
type FixedProps = 'entry' | 'handler' | 'projectRoot' | 'depsLockFilePath' | 'runtime' | 'architecture' | 'loggingFormat' | 'bundling';

export interface BundledFunctionProps extends Omit<NodejsFunctionProps, FixedProps> {
  /** The handler module: relative to the project root (`functions/…/handler.ts`), or absolute. */
  readonly entry: string;
  /**
   * The export of that module Lambda invokes.
   * @default 'handler'
   */
  readonly handler?: string;
  /**
   * Shell commands run after bundling, given the asset directory (the gateway adds the
   * console beside its bundle there: built apart, never imported into the handler's init).
   */
  readonly afterBundling?: (outputDir: string) => string[];
  /**
   * Bundle with esbuild code splitting (lib/split-bundle.ts): what the entry loads through
   * dynamic `import()` goes to chunks beside `index.mjs`, evaluated on first use only.
   * @default false (one file)
   */
  readonly splitting?: boolean;
}

/**
 * A Sluice Lambda function: Node 24 on arm64, JSON logs, and its entry module bundled
 * with everything it imports into minified ESM with source maps: one file, or index.mjs and
 * chunks with `splitting`.
 */
export class BundledFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, { afterBundling, splitting, ...props }: BundledFunctionProps) {
    const entry = resolve(PROJECT_ROOT, props.entry);
    // NodejsFunction writes one --outfile, which esbuild cannot split: the split build replaces it first.
    const split = (outputDir: string) => (splitting ? [`cd "${PROJECT_ROOT}" && node --import tsx lib/split-bundle.ts "${entry}" "${outputDir}"`] : []);
    const hooks = afterBundling || splitting ? (outputDir: string) => [...split(outputDir), ...(afterBundling?.(outputDir) ?? [])] : undefined;
    super(scope, id, {
      ...props,
      entry,
      handler: props.handler ?? 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      loggingFormat: LoggingFormat.JSON,
      // Stack traces point into functions/… instead of the minified bundle.
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node24',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        // Bundle the SDK v3 clients rather than take the runtime's copy: the version we
        // test is the version we ship (the runtime's lags and changes under us), and
        // tree-shaken clients are small. The cost is a larger asset, measured in the synth test.
        bundleAwsSDK: true,
        externalModules: [],
        // Bundled CommonJS dependencies call require(); give the ESM bundle one.
        banner: REQUIRE_BANNER,
        ...(hooks ? { commandHooks: { beforeBundling: () => [], beforeInstall: () => [], afterBundling: (_inputDir: string, outputDir: string) => hooks(outputDir) } } : {}),
      },
    });
  }

  /** cdk-nag: the role's AWS-managed basic execution policy is deliberate. */
  acknowledgeBasicExecutionPolicy(): void {
    if (!this.role) return;
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWS-managed basic execution policy: log writing only (CreateLogGroup/CreateLogStream/PutLogEvents).',
    });
  }
}
