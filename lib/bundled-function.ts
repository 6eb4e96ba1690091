import { Validations } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, SourceMapMode, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (lib/ is one level below it). */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

const BANNER = "import { createRequire as __sluiceCreateRequire } from 'node:module'; const require = __sluiceCreateRequire(import.meta.url);";

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
   * Modules built as files of their own next to `index.mjs` (output name → entry, relative
   * to the project root), for code loaded with `import()` only when used: esbuild would
   * otherwise inline it into the handler's bundle. Each is made known to the bundle as the
   * compile-time constant `define` names (the importing module falls back to its source path).
   */
  readonly lazyModules?: readonly { outfile: string; entry: string; define: string }[];
  /**
   * Shell commands run after bundling, given the asset directory (the gateway adds the
   * console beside its bundle there: built apart, never imported into the handler's init).
   */
  readonly afterBundling?: (outputDir: string) => string[];
}

/**
 * A Sluice Lambda function: Node 24 on arm64, JSON logs, and its entry module bundled
 * with everything it imports into one minified ESM file with a source map.
 */
export class BundledFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, { afterBundling, lazyModules, ...props }: BundledFunctionProps) {
    super(scope, id, {
      ...props,
      entry: resolve(PROJECT_ROOT, props.entry),
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
        banner: BANNER,
        ...(lazyModules?.length ? { define: Object.fromEntries(lazyModules.map((m) => [m.define, JSON.stringify(`./${m.outfile}`)])) } : {}),
        ...(lazyModules?.length || afterBundling
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (inputDir: string, outputDir: string) => [
                  ...(lazyModules ?? []).map((m) =>
                    [`${inputDir}/node_modules/.bin/esbuild`, '--bundle', `${inputDir}/${m.entry}`, '--platform=node', '--format=esm', '--target=node24', '--minify', '--main-fields=module,main', '--log-level=warning', `--outfile=${outputDir}/${m.outfile}`, `"--banner:js=${BANNER}"`].join(' '),
                  ),
                  ...(afterBundling?.(outputDir) ?? []),
                ],
              },
            }
          : {}),
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
